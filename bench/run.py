"""The archiving benchmark: plain Scrapy against `crawler crawl`, alternating, same run.

    python bench/run.py                 # N=2000, 5 repeats; also N=20000, 3 repeats
    python bench/run.py --quick         # N=300, 3 repeats, no large run (a check)
    python bench/run.py --pages 5000 --repeats 5 --large-pages 0

Generates the fixture site (bench/site.py) in a temp dir, serves it on 127.0.0.1
(nginx if installed, else a threaded Python server), then per repeat, alternating
which goes first:
  plain    `python -m scrapy crawl seeds -s ARCHIVE_ENABLED=False ...` with the archive
           middleware out of DOWNLOADER_MIDDLEWARES (plain Scrapy, same spider and settings)
  archive  `python -m scrapy crawl seeds ...` (WARC + DB; `--via crawler`: `crawler crawl`)
and over each archive run's WARC files, alternating: `crawler verify` against
`zcat FILE | sha256sum`. Pages/s = seed pages fetched / crawl phase (bench/stats.py:
spider open to spider close, start-up excluded). Peak RSS is the peak of the summed RSS
of the child and its descendants (the WARC writer process), sampled every 0.1 s. Each
crawl also records the host's steal time while it ran (/proc/stat: CPU time the
hypervisor gave other guests), and the table gives the ratio within each alternated
pair, so a noisy host shows as such. Prints a table; a full run (no --quick) writes it
into BENCHMARKS.md between the `bench:results` markers.

The parts: bench/arms.py (the arms' commands, one crawl, the verify runs),
bench/measure.py (timing a child, its memory, the host), bench/table.py (medians and
the table); this module holds the options and the alternation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import arms as bench_arms  # noqa: E402
from bench.arms import ArmRun, Arms, Round, VerifyRun  # noqa: E402
from bench.measure import load_average, machine  # noqa: E402
from bench.serve import start_server  # noqa: E402
from bench.site import write_site  # noqa: E402
from bench.table import Context, Summary, render, write_benchmarks  # noqa: E402
from crawler.capture.crawl import parse_overrides  # noqa: E402
from crawler.errors import BadInput  # noqa: E402


def say_crawl(label: str, run: ArmRun) -> None:
    print(f"{label} {run.arm:8s} {run.pages} pages in {run.seconds:6.2f} s = "
          f"{run.pps:6.1f} pages/s, cpu {run.stats.get('bench/crawl_cpu_seconds', 0):6.1f} s, "
          f"peak RSS {run.rss_mb:6.1f} MB, host steal {run.steal:5.1f} s", flush=True)
    if not run.ok and run.collection:
        tail = (run.collection / "output.log").read_text(errors="replace")[-2000:]
        print(f"  !! {run.arm} {run.collection.name}: {run.pages}/{run.wanted} pages, "
              f"exit {run.returncode}\n{tail}", flush=True)


def say_verify(label: str, v: VerifyRun) -> None:
    print(f"{label} {v.tool:8s} {v.megabytes:.0f} MB in {v.seconds:6.2f} s = "
          f"{v.mbps:6.1f} MB/s (exit {v.returncode})", flush=True)
    if v.tool == "verify" and v.returncode != 0 and v.output:
        print(f"  !! crawler verify exit {v.returncode}:\n"
              f"{v.output.read_text(errors='replace')[-1500:]}", flush=True)


def alternate(arms: Arms, *, repeats: int, pages: int, work: Path, base_url: str,
              label: str, verify_order: Callable[[int], Sequence[str]], keep: bool,
              loads: list[float]) -> Round:
    """`repeats` crawls of each arm, back to back, which arm goes first alternating.
    After repeat r, the archive run of it is verified once per tool named in
    `verify_order(r)` (the one `crawler verify` or `zcat` that goes first). A run's
    collection is removed after use unless `keep`; `loads` gets the load average after
    each crawl."""
    runs: list[ArmRun] = []
    verifies: list[VerifyRun] = []
    for r in range(repeats):
        order = bench_arms.ARMS if r % 2 == 0 else bench_arms.ARMS[::-1]
        pair: dict[str, ArmRun] = {}
        for arm in order:
            run = bench_arms.crawl(arm, work=work, name=f"{arm}-{pages}-{r}",
                                   base_url=base_url, pages=pages, arms=arms)
            runs.append(run)
            pair[arm] = run
            loads.append(load_average())
            say_crawl(f"{label} {r + 1}", run)
        for first in verify_order(r):
            for v in bench_arms.verify_runs(pair["archive"], first=first):
                verifies.append(v)
                say_verify(f"{label} {r + 1}", v)
        for run in pair.values():
            if not keep and run.collection:
                shutil.rmtree(run.collection, ignore_errors=True)
    return Round(pages=pages, repeats=repeats, runs=tuple(runs), verifies=tuple(verifies))


def _overrides(pairs: list[str]) -> dict[str, str]:
    try:
        return parse_overrides(pairs)
    except BadInput as error:
        raise SystemExit(str(error)) from None


#: the defaults of the options that --quick changes: (with --quick, without)
DEFAULTS = {"pages": (300, 2000), "repeats": (3, 5), "verify_repeats": (1, 3),
            "large_pages": (0, 20000)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=None, help="article pages (default 2000)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="repeats of each arm (default 5; --quick: 3)")
    ap.add_argument("--verify-repeats", type=int, default=None,
                    help="alternated verify / zcat pairs per repeat (default 3; --quick: 1)")
    ap.add_argument("--quick", action="store_true", help="N=300, no large run, no BENCHMARKS.md")
    ap.add_argument("--large-repeats", type=int, default=3,
                    help="repeats of each arm at --large-pages (default 3)")
    ap.add_argument("--large-pages", type=int, default=None,
                    help="N of the peak-RSS run of each arm (default 20000; 0 = skip)")
    ap.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    ap.add_argument("--via", choices=("scrapy", "crawler"), default="scrapy",
                    help="archive arm: `scrapy crawl seeds` with archiving on (default), or "
                         "`crawler crawl --no-compare` (adds preflight, summary and index "
                         "around the same crawl phase: minutes more at N=20000)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="an extra setting for both arms")
    ap.add_argument("--archive-set", action="append", default=[], metavar="NAME=VALUE",
                    help="an extra setting for the archive arm only (experiments)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--out", type=Path,
                    help="write results here (default BENCHMARKS.md unless --quick)")
    args = ap.parse_args(argv)
    for name, (quick, full) in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on kill
    out = args.out or (None if args.quick else REPO / "BENCHMARKS.md")
    arms = Arms(extra=_overrides(args.set), archive_only=_overrides(args.archive_set),
                via=args.via)
    work = args.work or Path(tempfile.mkdtemp(prefix="crawler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        t0 = time.monotonic()
        total = max(args.pages, args.large_pages)
        write_site(work / "site", total)
        gen = time.monotonic() - t0
        print(f"site: {total} articles in {work / 'site'} ({gen:.1f} s)", flush=True)
        server = start_server(work / "site", work / "server", prefer=args.server)
        print(f"server: {server.kind} at {server.base_url}", flush=True)
        startup = bench_arms.startup_seconds()
        loads = [load_average()]
        size = functools.partial(alternate, arms, work=work, base_url=server.base_url,
                                 keep=args.keep, loads=loads)
        small = size(repeats=args.repeats, pages=args.pages, label="repeat",
                     verify_order=lambda r: [("verify", "zcat")[(r + k) % 2]
                                             for k in range(args.verify_repeats)])
        large = None
        if args.large_pages and args.large_repeats:
            # the large archive of the last repeat, twice: start-up weighs less in 10x the bytes
            large = size(repeats=args.large_repeats, pages=args.large_pages, label="large",
                         verify_order=lambda r: ("verify", "zcat")
                         if r + 1 == args.large_repeats else ())
        ctx = Context(when=dt.datetime.now(dt.UTC), server=server.kind, machine=machine(),
                      settings=bench_arms.describe_settings(arms, bench_arms.archive_settings()),
                      commands=bench_arms.example_commands(arms), startup=startup,
                      gen_seconds=gen, loads=loads)
        text = render(Summary.of(small), Summary.of(large) if large else None, ctx)
        print()
        print(text)
        if out:
            write_benchmarks(out, text)
            print(f"\nwritten to {out}")
        return 0 if all(r.ok for r in small.runs + (large.runs if large else ())) else 1
    finally:
        if server:
            server.stop()
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
