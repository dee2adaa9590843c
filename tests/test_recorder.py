"""The recorder: rows committed in bulk after fsync, redirect links, ledger entries that
match `ledger.canonical` of the rows as loaded back, and WARC records with digests."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from crawler.capture.recorder import Recorder
from crawler.capture.writer import WriterConfig
from crawler.store import ledger
from crawler.store.db import open_database
from crawler.store.models import Capture, LedgerEntry, WarcFile
from crawler.store.runs import start_run
from crawler.warc.records import Fetch
from helpers import BASE, WHEN, http_fetch


def _ok(key: str, path: str, *, status: int = 200, origin: str | None = None,
        location: str | None = None, body: bytes = b"<p>hello</p>" * 100) -> Fetch:
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "identity")]
    if location:
        headers.append(("Location", location))
    return http_fetch(key, BASE + path, status=status, request_headers=(("Accept", "*/*"),),
                      response_headers=tuple(headers), body=body, ip_address="127.0.0.1",
                      outlet="Outlet", requested_url=BASE + path, redirect_from_key=origin,
                      redirect_location=BASE + location if location else None)


def _fetches() -> list[Fetch]:
    return [
        _ok("a", "/a"),
        _ok("r1", "/r1", status=301, location="/r2"),
        _ok("r2", "/r2", status=302, origin="r1", location="/final"),  # origin in the same batch
        _ok("f", "/final", origin="r2"),
        Fetch(key="x", url=BASE + "/refused", fetched_at=WHEN, error="ConnectionRefused: no",
              outlet="Outlet", role="requisite", hops=1, via_url=BASE + "/a"),
        _ok("b", "/b", body=b""),
    ]


@pytest.mark.parametrize("batch", [1, 2, 200])
def test_rows_ledger_and_records(tmp_path: Path, batch: int) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(sessions, collection="c", seeds=(), operator="o", user_agent="ua",
                    robots_obey=True, settings={})
    config = WriterConfig(archive_dir=tmp_path / "archive", prefix="T", max_file_size=10**9,
                            gzip_level=6, batch_records=batch, batch_seconds=60.0,
                            software="test/1")
    recorder = Recorder(config, sessions=sessions, run=run, warcinfo={"software": "test"})
    for fetch in _fetches():
        recorder.submit(fetch)
    stats = recorder.close()
    assert stats.fetches == 6 and stats.failures == 1
    # one commit (and one fsync) per batch of `batch` fetches, each timed
    assert stats.commits == -(-6 // batch)
    assert 0 < stats.sync_seconds < 60 and 0 < stats.submit_seconds < 60
    assert 0 < stats.submit_cpu_seconds <= stats.submit_seconds + 0.01
    # the collector thread's own CPU, not the process's (which ran imports and a server)
    assert 0 < stats.collector_cpu_seconds < time.process_time()

    with sessions() as session:
        caps = {c.url.removeprefix(BASE): c for c in session.scalars(select(Capture))}
        assert caps["/r2"].redirect_from_id == caps["/r1"].id
        assert caps["/final"].redirect_from_id == caps["/r2"].id
        assert caps["/a"].redirect_from_id is None
        assert caps["/a"].content_type == "text/html"
        assert caps["/a"].content_encoding == "identity"
        assert caps["/a"].payload_length == 1200
        assert caps["/refused"].error and caps["/refused"].warc_record_id is None
        assert caps["/refused"].metadata_record_id
        # every capture's newest ledger entry is the canonical JSON of the row as loaded
        for cap in caps.values():
            payload = session.scalar(
                select(LedgerEntry.payload).where(LedgerEntry.table_name == "captures",
                                                  LedgerEntry.row_id == str(cap.id)))
            assert payload == ledger.canonical(cap)
        assert not list(ledger.check_rows(session))
        walk = ledger.walk_chain(session)
        assert not walk.issues

        # the records the rows point at, read back with digest checks
        files = list((tmp_path / "archive").glob("*.warc.gz"))
        assert len(files) == 1 and not list((tmp_path / "archive").glob("*.open"))
        data = files[0].read_bytes()
        by_id = {}
        with files[0].open("rb") as fh:
            for record in ArchiveIterator(fh, check_digests="raise"):
                record.content_stream().read()
                by_id[record.rec_headers.get_header("WARC-Record-ID")] = record
        for cap in caps.values():
            meta = by_id[cap.metadata_record_id]
            assert meta.rec_type == "metadata"
            if cap.error:
                continue
            response = by_id[cap.warc_record_id]
            assert response.rec_headers.get_header("WARC-Payload-Digest") == cap.warc_payload_digest
            assert response.rec_headers.get_header("WARC-Block-Digest") == cap.warc_block_digest
            assert by_id[cap.request_record_id].rec_type == "request"
            assert data[cap.response_offset:cap.response_offset + 2] == b"\x1f\x8b"
        # redirect-from-record in the metadata of the hop that followed a redirect
        with files[0].open("rb") as fh:
            bodies = {r.rec_headers.get_header("WARC-Record-ID"): r.content_stream().read()
                      for r in ArchiveIterator(fh)}
        meta_final = bodies[caps["/final"].metadata_record_id].decode()
        assert f"redirect-from-record: {caps['/r2'].warc_record_id}" in meta_final


def _recorder(tmp_path: Path, *, archive_dir: Path | None = None) -> tuple[Recorder, Any]:
    sessions = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(sessions, collection="c", seeds=(), operator="o", user_agent="ua",
                    robots_obey=True, settings={})
    config = WriterConfig(archive_dir=archive_dir or tmp_path / "archive", prefix="T",
                            max_file_size=10**9, gzip_level=6, batch_records=1000,
                            batch_seconds=60.0, software="test/1")
    return Recorder(config, sessions=sessions, run=run, warcinfo={"software": "test"}), sessions


def test_writer_process_killed_is_reported_and_nothing_unsynced_committed(
        tmp_path: Path) -> None:
    """The writer process dies before fsyncing its batch: close() says so (no hang), and
    no capture row exists for the bytes it never synced."""
    from crawler.errors import ArchiveError

    recorder, sessions = _recorder(tmp_path)
    recorder.submit(_ok("a", "/a"))
    recorder._process.kill()
    recorder._process.wait()
    with pytest.raises(ArchiveError, match="exited with code -9"):
        for fetch in _fetches():  # a write into the dead pipe may already fail
            recorder.submit(fetch)
        recorder.close()
    with sessions() as session:
        assert not list(session.scalars(select(Capture)))


def test_writer_error_reaches_the_crawl(tmp_path: Path) -> None:
    """An error inside the writer process (here: its archive folder is a file) is raised
    in the crawl process with the writer's own message."""
    from crawler.errors import ArchiveError

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the archive folder should be")
    recorder, sessions = _recorder(tmp_path, archive_dir=blocker)
    with pytest.raises(ArchiveError, match="FileExistsError|NotADirectoryError"):
        recorder.submit(_ok("a", "/a"))
        recorder.close()
    with sessions() as session:
        assert not list(session.scalars(select(Capture)))
    assert blocker.read_text().startswith("a file")


def test_writer_imports_this_checkout_not_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crawl started in a folder that holds another `crawler` package (an older
    checkout, say) still runs this checkout's writer process."""
    (tmp_path / "elsewhere" / "crawler").mkdir(parents=True)
    (tmp_path / "elsewhere" / "crawler" / "__init__.py").write_text(
        "raise ImportError('the crawler package of the working directory was imported')\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    recorder, _ = _recorder(tmp_path)
    recorder.submit(_ok("a", "/a"))
    assert recorder.close().fetches == 1


def test_crawl_gone_the_writer_commits_what_it_wrote(tmp_path: Path) -> None:
    """The crawl process disappears without the stop frame (killed, out of memory): the
    writer commits the rows of what it wrote, closes and records its WARC file, and
    exits 1; the run itself stays open."""
    recorder, sessions = _recorder(tmp_path)  # batches of 1000: nothing committed yet
    for fetch in _fetches():
        recorder.submit(fetch)
    assert recorder._process.stdin is not None
    recorder._process.stdin.close()  # what the crawl's death does to the pipe
    assert recorder._process.wait(timeout=60) == 1
    recorder._thread.join(timeout=10)
    with sessions() as session:
        assert len(list(session.scalars(select(Capture)))) == len(_fetches())
        warc = session.scalars(select(WarcFile)).one()
        assert warc.closed_at is not None and warc.size
        data = (tmp_path / "archive" / warc.name).read_bytes()
        assert warc.sha256 == hashlib.sha256(data).hexdigest()
        assert not list(ledger.check_rows(session))
        assert not ledger.walk_chain(session).issues
