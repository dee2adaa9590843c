"""The archive's writer on its own: feed fetches of the benchmark site through
`crawler.capture.recorder.Recorder` (no Scrapy, no network) and time it — the writer's
capacity in pages/s, the CPU per fetch of the writer process (records and database
commits) and of the crawl's side (submit), the writer process's peak RSS, and with
--profile a cProfile of the writer process.

    python bench/writer.py --pages 1000 [--gzip-level 6] [--profile]
"""

from __future__ import annotations

import argparse
import datetime as dt
import pstats
import resource
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.site import article_html, article_path, image_bytes, image_paths  # noqa: E402
from crawler.capture import recorder as recorder_module  # noqa: E402
from crawler.capture.recorder import Recorder  # noqa: E402
from crawler.capture.writer import WriterConfig  # noqa: E402
from crawler.store.db import open_database  # noqa: E402
from crawler.store.runs import start_run  # noqa: E402
from crawler.warc.records import Fetch  # noqa: E402

REQ = (("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
       ("Accept-Language", "en"), ("User-Agent", "provenance-crawler/0.1.0 (bench)"),
       ("Accept-Encoding", "gzip, deflate, br"))


def fetches(pages: int, base: str = "http://127.0.0.1:8080") -> list[Fetch]:
    out = []
    now = dt.datetime.now(dt.UTC)
    for i in range(1, pages + 1):
        url = base + article_path(i)
        items: list[tuple[str, bytes, str, str, int, str | None]] = [
            (url, article_html(i), "text/html", "page", 0, None)]
        items += [(base + p, image_bytes(p), "image/jpeg", "requisite", 1, url)
                  for p in image_paths(i)]
        for u, body, ctype, role, hops, via in items:
            head = (("Server", "nginx/1.22.1"), ("Date", "Mon, 23 Nov 2026 17:00:00 GMT"),
                    ("Content-Type", ctype), ("Content-Length", str(len(body))),
                    ("Last-Modified", "Mon, 23 Nov 2026 16:57:00 GMT"),
                    ("Connection", "keep-alive"),
                    ("Etag", '"6560a2f8-b0e2"'), ("Accept-Ranges", "bytes"))
            out.append(Fetch(key=uuid.uuid4().hex, url=u, fetched_at=now, request_headers=REQ,
                             protocol="HTTP/1.1", status=200, response_headers=head, body=body,
                             ip_address="127.0.0.1", seed_id=None, outlet="The Bench Gazette",
                             requested_url=u, role=role, hops=hops, via_url=via))
    return out


def watch_peak_rss(pid: int, peak: list[float]) -> threading.Thread:
    """A thread that keeps the process's peak RSS (VmHWM, MB; Linux) until it exits (the
    children's ru_maxrss would count the crawl's memory the writer had before its exec)."""
    def watch() -> None:
        while True:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = int(line.split()[1]) / 1024
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--gzip-level", type=int, default=6)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--profile", action="store_true", help="cProfile of the writer process")
    ap.add_argument("--sort", default="cumulative", help="pstats sort key (with --profile)")
    ap.add_argument("--top", type=int, default=40, help="lines of the profile to print")
    args = ap.parse_args()
    items = fetches(args.pages)
    with tempfile.TemporaryDirectory() as tmp:
        sessions = open_database(f"sqlite:///{tmp}/p.db")
        run = start_run(sessions, collection="bench", seeds=(), operator="bench",
                        user_agent="bench", robots_obey=True, settings={})
        config = WriterConfig(archive_dir=Path(tmp) / "archive", prefix="BENCH",
                                max_file_size=10**10, gzip_level=args.gzip_level,
                                batch_records=args.batch, batch_seconds=1.0,
                                software="bench")
        profile_file = Path(tmp) / "writer.prof"
        if args.profile:  # the writer process runs its main() under cProfile
            recorder_module.WRITER_MAIN = (
                "import cProfile; from crawler.capture.writer import main; "
                f"cProfile.run('main()', {str(profile_file)!r})")
        recorder = Recorder(config, sessions=sessions, run=run, warcinfo={"software": "bench"})
        peak = [0.0]
        watcher = watch_peak_rss(recorder._process.pid, peak)
        t0 = time.perf_counter()
        c0 = time.process_time()
        w0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for f in items:
            recorder.submit(f)
        stats = recorder.close()
        wall = time.perf_counter() - t0
        watcher.join()
        here = time.process_time() - c0  # submitting (the writer commits the rows)
        w1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        there = (w1.ru_utime - w0.ru_utime) + (w1.ru_stime - w0.ru_stime)
        warc_mb = sum(f.stat().st_size for f in (Path(tmp) / "archive").glob("*.warc.gz")) / 1e6
        mb = sum(len(f.body) for f in items) / 1e6
        ms = 1e3 / len(items)
        print(f"{len(items)} fetches ({args.pages} pages, {mb:.1f} MB) in {wall:.2f} s: "
              f"{args.pages / wall:.0f} pages/s, {wall * ms:.2f} ms/fetch, "
              f"gzip level {args.gzip_level}; CPU per fetch: writer process "
              f"{there * ms:.2f} ms (records and commits), this process (submit) "
              f"{here * ms:.2f} ms; "
              f"WARC {warc_mb:.1f} MB; writer process peak RSS {peak[0]:.1f} MB; "
              f"{stats.commits} commits, {stats.commit_seconds * 1e3 / stats.commits:.2f} ms "
              f"each ({stats.commit_seconds * 1e6 / len(items):.0f} us/fetch)")
        if args.profile:
            pstats.Stats(str(profile_file)).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
