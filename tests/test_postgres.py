"""The same capture code on PostgreSQL, the database several crawl machines share.

Skips when PostgreSQL at 127.0.0.1:5432 cannot be reached; fails instead under
CRAWLER_REQUIRE_SERVICES=1 (as CI runs).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.store.db import current_revision, head_revision, make_engine, open_database
from crawler.store.models import Capture, CrawlRun, Seed, WarcFile
from helpers import (
    PG_DEFAULT,
    crawl_collection,
    fresh_postgres_database,
    make_collection,
    postgres_url_or_skip,
    run_cli,
)


@pytest.fixture(scope="module")
def pg_crawl(site_server: str, tmp_path_factory: pytest.TempPathFactory):
    from crawler.fixture_site import demo_manifest_toml

    server = postgres_url_or_skip(PG_DEFAULT)
    db_url = fresh_postgres_database(server)
    root = make_collection(tmp_path_factory.mktemp("pg"), demo_manifest_toml(site_server))
    result = crawl_collection(root, db_url=db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    yield root, db_url
    engine = make_engine(server)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        from sqlalchemy import text

        conn.execute(text(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}" WITH (FORCE)'))


def test_schema_is_migrated_on_postgres(pg_crawl) -> None:
    _, db_url = pg_crawl
    assert current_revision(make_engine(db_url)) == head_revision()


def test_captures_on_postgres_point_at_their_bytes(pg_crawl) -> None:
    root, db_url = pg_crawl
    sessions = open_database(db_url, upgrade_schema=False)
    with sessions() as session:
        captures = list(session.scalars(select(Capture)))
        files = {w.id: w for w in session.scalars(select(WarcFile))}
        run = session.scalars(select(CrawlRun)).one()
        seeds = list(session.scalars(select(Seed)))
    assert run.status == "finished" and run.pages == 6
    assert len(seeds) == 5
    assert len(captures) > 40
    for cap in captures:
        assert cap.fetched_at.tzinfo is not None and cap.fetched_at.microsecond >= 0
        if cap.warc_record_id is None:
            continue
        data = (root / "archive" / files[cap.warc_file_id].name).read_bytes()
        import gzip

        end = cap.response_offset + cap.response_length
        record = gzip.decompress(data[cap.response_offset:end])
        assert cap.warc_record_id.encode() in record
        payload = record.split(b"\r\n\r\n", 2)[2][: cap.payload_length]
        assert hashlib.sha256(payload).hexdigest() == cap.payload_sha256
    for warc in files.values():
        data = (root / "archive" / warc.name).read_bytes()
        assert warc.sha256 == hashlib.sha256(data).hexdigest()


def test_captures_command_on_postgres(pg_crawl) -> None:
    root, db_url = pg_crawl
    proc = run_cli("captures", "--pages", "--collection", str(root), db_url=db_url)
    assert proc.returncode == 0 and "6 captures" in proc.stdout


def test_unreachable_database_is_bad_input(tmp_path: Path) -> None:
    root = make_collection(tmp_path / "c", '[[seed]]\nid = "x"\nurl = "http://127.0.0.1:9/"\n',
                           copies=False)
    proc = run_cli("crawl", "--collection", str(root),
                   "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert proc.returncode == 2
    assert "postgresql://nobody@127.0.0.1:1/none" in proc.stderr
    proc = run_cli("crawl", "--collection", str(root), "--db", "nosuchdb://x")
    assert proc.returncode == 2 and "nosuchdb" in proc.stderr


def test_verify_passes_on_postgres(pg_crawl) -> None:
    """Capture rows, seeds and their ledger entries are written from column values
    (crawler.store.db.BulkInsert, ledger.append_values): what PostgreSQL hands back must match
    the ledger byte for byte, and every offset the bytes."""
    root, db_url = pg_crawl
    check = run_cli("verify", "--collection", str(root), db_url=db_url)
    assert check.returncode == 0, check.stdout + check.stderr
