"""crawler.store.ledger.check_rows reads column values (canonical_rows), not ORM objects: the
same canonical text and keys as ledger.canonical/row_key of the loaded rows, and the
issues a tampered database must show."""

from __future__ import annotations

from sqlalchemy import inspect, select, text

from crawler.store import ledger
from crawler.store.db import open_database
from helpers import CrawledCollection


def test_canonical_rows_are_ledgers_own(crawled: CrawledCollection) -> None:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    models = ledger._models()
    with sessions() as session:
        for table in ledger.LEDGERED_TABLES:
            model = models[table]
            objects = session.scalars(select(model).order_by(*inspect(model).primary_key))
            expected = [(ledger.row_key(row), ledger.canonical(row)) for row in objects]
            assert list(ledger.canonical_rows(session, table)) == expected, table
            assert expected or table == "flags", f"no {table} rows to compare"


def test_tampering_shows_as_row_issues(crawled_copy: CrawledCollection) -> None:
    sessions = open_database(crawled_copy.db_url, upgrade_schema=False)
    with sessions() as session:
        assert list(ledger.check_rows(session)) == []
        first_capture = session.scalar(text("SELECT MIN(id) FROM captures"))
        first_seed = session.scalar(text("SELECT MIN(id) FROM seeds"))
        last_flag = session.scalar(text("SELECT MAX(id) FROM flags"))
        session.execute(text("UPDATE captures SET payload_sha256 = 'x', fetched_at = "
                             "'2001-01-01 00:00:00' WHERE id = :id"), {"id": first_capture})
        session.execute(text("DELETE FROM flags WHERE id = :id"), {"id": last_flag})
        session.execute(text("INSERT INTO outlets (name) VALUES ('Unledgered Gazette')"))
        session.execute(text("UPDATE seeds SET url = url || '?changed' WHERE id = :id"),
                        {"id": first_seed})
        issues = list(ledger.check_rows(session))
        session.rollback()
    found = {(i.kind, i.table, i.row_id) for i in issues}
    assert ("row-changed", "captures", str(first_capture)) in found
    assert ("row-changed", "seeds", str(first_seed)) in found
    assert ("row-gone", "flags", str(last_flag)) in found
    assert any(k == "row-unledgered" and t == "outlets" for k, t, _ in found)
    assert len(issues) == 4, issues
    changed = next(i for i in issues if i.table == "captures")
    assert "payload_sha256" in changed.message and "fetched_at" in changed.message
