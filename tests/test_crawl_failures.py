"""Failures: every failed fetch is recorded with its reason, the crawl carries on, and
the exit code tells a scheduler what happened; bad input changes nothing."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.store.db import open_database
from crawler.store.models import Capture, CrawlRun
from helpers import FAST, REPO, crawl_collection, make_collection, run_cli

DARPAN = "/www.darpanmagazine.com/news/international/isis-inspiring-pakistani-militants/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def failing(site_server: str, tmp_path_factory: pytest.TempPathFactory):
    refused = f"http://127.0.0.1:{_free_port()}/gone"
    manifest = f"""[collection]
name = "failures"
[[seed]]
id = "ok"
url = "{site_server}{DARPAN}?page=13"
outlet = "Darpan Magazine"
[[seed]]
id = "missing"
url = "{site_server}/test/404"
[[seed]]
id = "refused"
url = "{refused}"
[[seed]]
id = "slow"
url = "{site_server}/test/slow"
[[seed]]
id = "robots"
url = "{site_server}/private/page.html"
[[seed]]
id = "error"
url = "{site_server}/test/500"
"""
    root = make_collection(tmp_path_factory.mktemp("failing"), manifest, copies=False)
    result = crawl_collection(root, "-s", "DOWNLOAD_TIMEOUT=1", "-s", "RETRY_TIMES=1")
    sessions = open_database(result.db_url, upgrade_schema=False)
    with sessions() as session:
        captures = list(session.scalars(select(Capture).order_by(Capture.id)))
        run = session.scalars(select(CrawlRun)).one()
    return result, captures, run


def test_exit_code_1_and_the_crawl_carried_on(failing) -> None:
    result, captures, run = failing
    assert result.returncode == 1, result.stdout + result.stderr
    ok = [c for c in captures if c.seed_id == "ok" and c.role == "page"]
    assert ok and ok[-1].status == 200
    assert run.status == "finished"


@pytest.mark.parametrize(("seed", "expected"), [
    ("refused", "ConnectionRefused"),
    ("slow", "Timeout"),
    ("robots", "robots.txt"),
])
def test_failures_without_response_are_recorded_with_reason(failing, seed: str,
                                                            expected: str) -> None:
    result, captures, _ = failing
    rows = [c for c in captures if c.seed_id == seed]
    assert rows, f"no capture row for seed {seed}"
    final = rows[-1]
    assert final.status is None and final.warc_record_id is None
    assert expected.lower() in (final.error or "").lower(), final.error
    assert final.metadata_record_id  # the failure is in the WARC too
    assert seed in result.stdout


@pytest.mark.parametrize(("seed", "status", "attempts"), [("missing", 404, 1), ("error", 500, 2)])
def test_http_errors_are_archived_responses(failing, seed: str, status: int,
                                            attempts: int) -> None:
    _, captures, _ = failing
    rows = [c for c in captures if c.seed_id == seed]
    assert [c.status for c in rows] == [status] * attempts  # 5xx retried, each try archived
    assert all(c.warc_record_id and c.payload_sha256 for c in rows)


def test_summary_names_every_failure(failing) -> None:
    result, _, _ = failing
    for seed in ("missing", "refused", "slow", "robots", "error"):
        assert f"│ {seed}" in result.stdout
    assert "failed: " in result.stdout


def test_malformed_manifest_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    root = make_collection(tmp_path / "c", '[[seed]]\nid = "x"\nurl = "ftp://nope"\n',
                           copies=False)
    proc = run_cli("crawl", "--collection", str(root), *FAST,
                   db_url=f"sqlite:///{root / 'provenance.db'}")
    assert proc.returncode == 2
    assert "manifest.toml, seed x: url 'ftp://nope' is not http or https" in proc.stderr
    assert not (root / "provenance.db").exists()
    assert not list((root / "archive").iterdir())


def test_unknown_seed_and_missing_collection_exit_2(tmp_path: Path) -> None:
    root = make_collection(tmp_path / "c", '[[seed]]\nid = "x"\nurl = "http://127.0.0.1:9/"\n',
                           copies=False)
    proc = run_cli("crawl", "--seed", "nope", "--collection", str(root))
    assert proc.returncode == 2 and "no seed with id 'nope'" in proc.stderr
    proc = run_cli("--collection", str(tmp_path / "absent"), "crawl")
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_changed_seed_copy_is_refused(site_server: str, tmp_path: Path) -> None:
    copy = REPO / "seeds" / "002_175540b7c80d02ab.txt"
    manifest = f"""[[seed]]
id = "002"
url = "{site_server}{DARPAN}?page=52"
copy = "{copy.name}"
"""
    root = make_collection(tmp_path / "c", manifest)
    first = crawl_collection(root)
    assert first.returncode == 0, first.stderr
    (root / "seeds" / copy.name).write_bytes(copy.read_bytes() + b"edited\n")
    second = crawl_collection(root, db_url=first.db_url)
    assert second.returncode == 2
    assert "seed 002: differs from the seed on record" in second.stderr


def test_init_collection_and_options_in_either_place(site_server: str, tmp_path: Path) -> None:
    root = tmp_path / "new"
    proc = run_cli("init", str(root))
    assert proc.returncode == 0, proc.stderr
    assert (root / "seeds" / "manifest.toml").is_file() and (root / "archive").is_dir()
    assert (root / "provenance.db").is_file()
    again = run_cli("init", str(root))
    assert again.returncode == 2 and "not overwriting" in again.stderr
    with (root / "seeds" / "manifest.toml").open("a") as fh:
        fh.write(f'[[seed]]\nid = "p"\nurl = "{site_server}/test/nonenglish"\n')
    db = f"sqlite:///{root / 'provenance.db'}"
    before = run_cli("--collection", str(root), "crawl", *FAST, db_url=db)
    after = run_cli("crawl", *FAST, "--no-compare", "--collection", str(root), db_url=db)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert "flags" in before.stdout and "flags" not in after.stdout
    listed = run_cli("captures", "--pages", "--collection", str(root), db_url=db)
    assert "2 captures" in listed.stdout  # one per run


def test_scrapy_crawl_seeds_does_the_same_crawl(site_server: str, tmp_path: Path) -> None:
    manifest = f'[[seed]]\nid = "p"\nurl = "{site_server}/test/nonenglish"\n'
    root = make_collection(tmp_path / "c", manifest, copies=False)
    shutil.copy2(REPO / "scrapy.cfg", root / "scrapy.cfg")
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "seeds", "-s", "AUTOTHROTTLE_ENABLED=False"],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert list((root / "archive").glob("*.warc.gz"))
    listed = run_cli("captures", "--pages", "--collection", str(root))
    assert "/test/nonenglish" in listed.stdout


def test_adhoc_url(site_server: str, tmp_path: Path) -> None:
    root = make_collection(tmp_path / "c", "", copies=False)
    result = crawl_collection(root, "--url", f"{site_server}/test/xss")
    assert result.returncode == 0, result.stderr
    assert "(ad hoc)" in result.stdout


def test_failed_seeds_are_flagged_even_without_a_copy(failing) -> None:
    result, _, _ = failing
    proc = run_cli("compare", "--json", "--collection", str(result.root), db_url=result.db_url)
    assert proc.returncode == 1, proc.stderr
    entries = json.loads(proc.stdout)
    kinds = {entry["seed"]: [f["kind"] for f in entry["flags"]] for entry in entries}
    assert kinds["ok"] == []
    assert kinds["missing"] == ["not_found"]
    for seed in ("refused", "slow", "robots", "error"):
        assert kinds[seed] == ["fetch_failed"], seed
    assert "fetch_failed" in result.stdout  # the crawl's summary table shows them too
