"""crawler.verify_ledger.check_rows reads columns, crawler.ledger.check_rows reads ORM
objects: the same canonical text, keys and issues, on a clean and a tampered database."""

from __future__ import annotations

from conftest import CrawledCollection
from sqlalchemy import inspect, select, text

from crawler import ledger
from crawler.db import open_database
from crawler.verify_ledger import canonical_rows, check_rows


def test_canonical_rows_are_ledgers_own(crawled: CrawledCollection) -> None:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    models = ledger._models()
    with sessions() as session:
        for table in ledger.LEDGERED_TABLES:
            model = models[table]
            objects = session.scalars(select(model).order_by(*inspect(model).primary_key))
            expected = [(ledger.row_key(row), ledger.canonical(row)) for row in objects]
            assert list(canonical_rows(session, table)) == expected, table
            assert expected or table == "flags", f"no {table} rows to compare"


def test_the_same_issues_as_ledger_check_rows(crawled_copy: CrawledCollection) -> None:
    sessions = open_database(crawled_copy.db_url, upgrade_schema=False)
    with sessions() as session:
        assert list(check_rows(session)) == list(ledger.check_rows(session)) == []
        session.execute(text("UPDATE captures SET payload_sha256 = 'x', fetched_at = "
                             "'2001-01-01 00:00:00' WHERE id IN (SELECT MIN(id) FROM captures)"))
        session.execute(text("DELETE FROM flags WHERE id IN (SELECT MAX(id) FROM flags)"))
        session.execute(text("INSERT INTO outlets (name) VALUES ('Unledgered Gazette')"))
        session.execute(text("UPDATE seeds SET url = url || '?changed' "
                             "WHERE id IN (SELECT MIN(id) FROM seeds)"))
        ours, theirs = list(check_rows(session)), list(ledger.check_rows(session))
        session.rollback()
    assert ours == theirs
    kinds = {issue.kind for issue in ours}
    assert {"row-changed", "row-unledgered"} <= kinds
