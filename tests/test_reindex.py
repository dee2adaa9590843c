"""`crawler reindex`: nothing to do on an intact collection; a lost database rebuilt."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from helpers import CrawledCollection, db_url_for, run_cli

FIELDS = ("url, requested_url, role, hops, seed_id, status, payload_sha256, warc_record_id, "
          "response_offset, request_record_id, metadata_record_id, metadata_offset, error, via_url")


def rows(db_url: str, query: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def cli(coll_root: Path, db_url: str, *args: str) -> tuple[int, str]:
    proc = run_cli(*args, "--collection", str(coll_root), db_url=db_url)
    return proc.returncode, proc.stdout + proc.stderr


def test_intact_collection_changes_nothing(crawled_copy: CrawledCollection) -> None:
    before = rows(crawled_copy.db_url, "SELECT max(seq) FROM ledger")
    code, out = cli(crawled_copy.root, crawled_copy.db_url, "reindex")
    assert code == 0 and "nothing to change" in out, out
    assert rows(crawled_copy.db_url, "SELECT max(seq) FROM ledger") == before


def test_lost_database_is_rebuilt_and_verifies(crawled_copy: CrawledCollection,
                                               tmp_path: Path) -> None:
    original = sorted(rows(crawled_copy.db_url, f"SELECT {FIELDS} FROM captures"))
    runs = rows(crawled_copy.db_url, "SELECT id, uuid, operator, robots_policy FROM crawl_runs")
    if crawled_copy.db_url.startswith("sqlite"):
        for path in crawled_copy.root.glob("provenance.db*"):
            path.unlink()
        db_url = crawled_copy.db_url
    else:
        db_url = db_url_for(tmp_path)  # a fresh, empty PostgreSQL database
    code, out = cli(crawled_copy.root, db_url, "reindex")
    assert code == 0 and f"inserted {len(original)} captures" in out, out
    assert sorted(rows(db_url, f"SELECT {FIELDS} FROM captures")) == original
    assert rows(db_url, "SELECT id, uuid, operator, robots_policy FROM crawl_runs") == runs
    code, out = cli(crawled_copy.root, db_url, "verify")
    assert code == 0, out
    code, out = cli(crawled_copy.root, db_url, "reindex")
    assert code == 0 and "nothing to change" in out, out


def test_deleted_row_comes_back_and_edits_are_reported(crawled_copy: CrawledCollection) -> None:
    url = crawled_copy.db_url
    cap_id, rid = rows(url, "SELECT id, warc_record_id FROM captures WHERE role = 'requisite' "
                            "AND warc_record_id IS NOT NULL ORDER BY id DESC LIMIT 1")[0]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM captures WHERE id = :i"), {"i": cap_id})
        conn.execute(text("UPDATE captures SET status = 299 WHERE id = 1"))
    engine.dispose()
    code, out = cli(crawled_copy.root, url, "reindex", "--dry-run")
    assert code == 1 and "would insert 1 captures" in out, out
    assert rows(url, f"SELECT count(*) FROM captures WHERE warc_record_id = '{rid}'") == [(0,)]
    code, out = cli(crawled_copy.root, url, "reindex")
    assert code == 1, out
    assert "inserted 1 captures" in out and "capture 1 " in out and "status" in out, out
    assert rows(url, "SELECT status FROM captures WHERE id = 1") == [(299,)]  # never overwritten
    assert rows(url, f"SELECT count(*) FROM captures WHERE warc_record_id = '{rid}'") == [(1,)]
