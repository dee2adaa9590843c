"""Ctrl-C in the middle of a crawl: the crawl and its WARC writer process stop, and what
was fetched is kept whole — closed WARC files, rows only for bytes on disk, a ledger
that verifies — with nothing left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from crawler.fixture_site.manifest import SEEDS, local_url
from crawler.store.db import open_database
from crawler.store.models import Capture, CrawlRun
from helpers import FAST, REPO, db_url_for, make_collection, run_cli


def _manifest(base_url: str) -> str:
    lines = ['[collection]\nname = "interrupted"\n']
    for n in range(12):  # the five pages again and again (distinct URLs), and slow ones
        seed = SEEDS[n % len(SEEDS)]
        lines.append(f'[[seed]]\nid = "p{n}"\nurl = "{local_url(seed.original_url, base_url)}'
                     f'{"&" if "?" in seed.original_url else "?"}n={n}"\n'
                     f'outlet = "{seed.outlet}"\n')
    for n in range(8):
        lines.append(f'[[seed]]\nid = "slow{n}"\nurl = "{base_url}/test/slow?n={n}"\n')
    return "\n".join(lines)


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_keeps_what_was_written(site_server: str, tmp_path: Path) -> None:
    root = make_collection(tmp_path / "c", _manifest(site_server), copies=False)
    db_url = db_url_for(root)
    env = {**os.environ, "CRAWLER_DB_URL": db_url}
    crawl = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--collection", str(root), "--no-compare",
         *FAST, "-s", "CONCURRENT_REQUESTS=4"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        deadline = time.monotonic() + 60
        while not list((root / "archive").glob("*.warc.gz.open")):  # the writer has begun
            assert crawl.poll() is None, crawl.communicate()
            assert time.monotonic() < deadline, "no WARC file was opened within 60 s"
            time.sleep(0.05)
        time.sleep(0.5)  # mid-crawl: the slow seeds take 5 s each
        helpers = _descendants(crawl.pid)
        assert helpers, "the crawl runs a WARC writer process"
        os.killpg(crawl.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, err = crawl.communicate(timeout=120)
    finally:
        if crawl.poll() is None:
            os.killpg(crawl.pid, signal.SIGKILL)
            crawl.wait()
    assert not [pid for pid in helpers if _alive(pid)], "a writer process outlived the crawl"
    assert not list((root / "archive").glob("*.open")), "a WARC file was left open"
    assert list((root / "archive").glob("*.warc.gz"))
    sessions = open_database(db_url, upgrade_schema=False)
    with sessions() as session:
        run = session.scalars(select(CrawlRun)).one()
        captures = list(session.scalars(select(Capture)))
    assert run.status == "stopped: shutdown" and run.ended_at is not None, (run.status, err)
    slow_done = [c for c in captures
                 if c.url.startswith(f"{site_server}/test/slow") and c.status == 200]
    # the slow requests in flight finish (Scrapy's graceful stop) and are kept; the rest
    # of the crawl is not started
    assert captures and len(slow_done) < 8, len(slow_done)
    check = run_cli("verify", "--collection", str(root), db_url=db_url)
    assert check.returncode == 0, check.stdout + check.stderr
