"""crawler.capture.session: a crawl run's archive opened, fed and closed without Scrapy,
against a real SQLite database and the real WARC writer process."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from crawler import SOFTWARE_NAME, __version__
from crawler.capture.config import ArchiveConfig
from crawler.capture.session import open_session
from crawler.capture.signals import RunSeeds
from crawler.capture.writer import WriterConfig
from crawler.errors import BadInput
from crawler.manifest import Seed
from crawler.store.db import open_database
from crawler.store.models import Capture, CrawlRun, LedgerEntry
from crawler.store.models import Seed as SeedRow
from crawler.store.signing import check_head_signature, load_public_key, write_keypair
from crawler.warc.records import Fetch
from helpers import BASE, WHEN, http_fetch

SEED = Seed(id="001", url=BASE + "/a", outlet="Outlet")


def _config(root: Path, *, signing_key: Path | None = None) -> ArchiveConfig:
    return ArchiveConfig(
        collection_dir=root,
        db_url=f"sqlite:///{root / 'provenance.db'}",
        writer=WriterConfig(archive_dir=root / "archive", prefix="T", max_file_size=10**9,
                            gzip_level=6, batch_records=200, batch_seconds=60.0,
                            software="provenance-crawler/test"),
        operator="Tester",
        user_agent="test-agent/1",
        robots_obey=True,
        signing_key=signing_key,
        recorded_settings={"ROBOTSTXT_OBEY": True, "ARCHIVE_GZIP_LEVEL": 6},
    )


def _ok(key: str, path: str, *, status: int = 200, origin: str | None = None,
        location: str | None = None) -> Fetch:
    headers = [("Content-Type", "text/html")] + ([("Location", location)] if location else [])
    return http_fetch(key, BASE + path, status=status, request_headers=(("Accept", "*/*"),),
                      response_headers=tuple(headers), body=b"<p>hello</p>",
                      ip_address="127.0.0.1", seed_id="001", outlet="Outlet",
                      requested_url=BASE + "/a", redirect_from_key=origin,
                      redirect_location=BASE + location if location else None)


FETCHES = (
    _ok("k1", "/a", status=301, location="/b"),
    _ok("k2", "/b", origin="k1"),
    Fetch(key="k3", url=BASE + "/style.css", fetched_at=WHEN, seed_id="001", outlet="Outlet",
          requested_url=BASE + "/style.css", role="requisite", hops=1, via_url=BASE + "/b",
          error="ConnectionRefusedError: refused"),
)


def _warcinfo(root: Path) -> dict[str, str]:
    (path,) = (root / "archive").glob("*.warc.gz")
    with path.open("rb") as fh:
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "warcinfo"
        text = record.content_stream().read().decode("utf-8")
    return dict(line.split(": ", 1) for line in text.splitlines() if line)


def test_a_run_opened_fed_and_closed(tmp_path: Path) -> None:
    key, public = write_keypair(tmp_path / "keys" / "head.key")
    config = _config(tmp_path, signing_key=key)
    session = open_session(config, seeds=RunSeeds(seeds=(SEED,), collection="Test collection"),
                           now=WHEN)
    for fetch in FETCHES:
        session.submit(fetch)
    closed = session.close("finished")

    assert closed.run_id == session.run_id
    stats = closed.stat_values()
    assert stats["archive/ledger_head"] == closed.ledger_head
    assert stats["archive/commits"] == closed.commits >= 1
    assert 0 <= stats["archive/submit_seconds"] < 60  # type: ignore[operator]

    sessions = open_database(config.db_url, upgrade_schema=False)
    with sessions() as db:
        run = db.get_one(CrawlRun, session.run_id)
        assert (run.uuid, run.collection, run.status) == (session.run_uuid, "Test collection",
                                                          "finished")
        assert (run.operator, run.user_agent, run.robots_policy) == ("Tester", "test-agent/1",
                                                                    "obey")
        assert run.started_at.replace(tzinfo=dt.UTC) == WHEN and run.ended_at is not None
        assert run.settings_json == '{"ARCHIVE_GZIP_LEVEL": 6, "ROBOTSTXT_OBEY": true}'
        assert (run.captures, run.failures, run.pages) == (3, 1, 2)  # the hops of a page
        assert db.get_one(SeedRow, "001").url == SEED.url

        caps = {c.url.removeprefix(BASE): c for c in db.scalars(select(Capture))}
        assert set(caps) == {"/a", "/b", "/style.css"}
        assert {c.run_id for c in caps.values()} == {run.id}
        assert caps["/b"].redirect_from_id == caps["/a"].id
        assert caps["/a"].redirect_location == BASE + "/b"
        assert caps["/style.css"].error and caps["/style.css"].warc_record_id is None
        assert (caps["/style.css"].role, caps["/style.css"].hops) == ("requisite", 1)

        entries = db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
        ledgered = {(e.table_name, e.row_id) for e in entries}
        assert {("captures", str(c.id)) for c in caps.values()} <= ledgered
        assert ("seeds", "001") in ledgered
        # the head covers the run's closing entry; one more entry records the head itself
        assert entries[-2].entry_hash == run.ledger_head == closed.ledger_head
        assert entries[-1].table_name == "crawl_runs" and entries[-1].row_id == str(run.id)
        assert run.head_signature is not None
        assert check_head_signature(load_public_key(public), run.head_signature,
                                    run_uuid=run.uuid, head=run.ledger_head) is None

    info = _warcinfo(tmp_path)
    assert info["software"] == f"{SOFTWARE_NAME}/{__version__} (Scrapy-based)"
    assert info["format"] == "WARC File Format 1.1"
    assert info["conformsTo"].startswith("https://iipc.github.io/warc-specifications/")
    assert info["isPartOf"] == "Test collection"
    assert (info["operator"], info["http-header-user-agent"]) == ("Tester", "test-agent/1")
    assert (info["robots"], info["crawl-run"]) == ("obey", session.run_uuid)
    assert info["crawl-run-id"] == str(session.run_id)
    assert info["crawl-run-started"] == "2026-11-22T10:30:15.123456+00:00"
    assert info["crawl-settings"] == run.settings_json
    # the words every file has carried since the first crawl: pinned, not read from the code
    assert info["description"] == (
        "HTTP status lines and headers are re-serialised from Scrapy's parsed responses "
        "(Scrapy keeps no raw HTTP bytes); payloads are stored as received, de-chunked, "
        "content-encoding kept; Transfer-Encoding headers are dropped and the drop noted in "
        "each capture's metadata record")
    assert list(info) == [  # in this order, as the files before have them
        "software", "format", "conformsTo", "isPartOf", "operator", "hostname",
        "http-header-user-agent", "robots", "crawl-run", "crawl-run-id", "crawl-run-started",
        "crawl-settings", "description", "gzip-level", "gzip-library", "gzip-stored"]


def test_a_stopped_crawl_is_recorded_as_stopped_and_unsigned(tmp_path: Path) -> None:
    config = _config(tmp_path)
    session = open_session(config)  # a spider that names no seeds: the folder names the run
    session.submit(replace(FETCHES[0], seed_id=None))
    closed = session.close("shutdown")
    sessions = open_database(config.db_url, upgrade_schema=False)
    with sessions() as db:
        run = db.get_one(CrawlRun, closed.run_id)
        assert (run.status, run.collection, run.captures) == ("stopped: shutdown",
                                                              tmp_path.name, 1)
        assert run.head_signature is None and run.ledger_head == closed.ledger_head


def test_a_bad_signing_key_opens_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("not a key")
    with pytest.raises(BadInput, match="signing key"):
        open_session(_config(tmp_path, signing_key=tmp_path / "bad.key"))
    assert not (tmp_path / "provenance.db").exists()
    assert not (tmp_path / "archive").exists()
