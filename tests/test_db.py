"""Schema revisions: the head read-only commands check against is Alembic's own."""

from __future__ import annotations

from pathlib import Path

from crawler.store.db import (
    SCHEMA_HEAD,
    alembic_head_revision,
    current_revision,
    make_engine,
    open_database,
)


def test_schema_head_is_alembics_head() -> None:
    """SCHEMA_HEAD spares read-only commands an Alembic import: a new migration must
    move it too, or every command would call the upgraded schema out of date."""
    assert alembic_head_revision() == SCHEMA_HEAD


def test_current_revision_of_new_and_upgraded_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert current_revision(make_engine(url)) is None
    open_database(url)
    assert current_revision(make_engine(url)) == SCHEMA_HEAD


def _schema_differences(url: str) -> list[object]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from crawler.store.models import Base

    with make_engine(url).connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_new_database_from_models_equals_the_migrated_one(tmp_path: Path) -> None:
    """A new database is made with create_all and stamped (no Alembic in the crawl);
    the migrations must build the same schema, and both must match the models."""
    from alembic import command

    from crawler.store.db import alembic_config

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    open_database(fresh)
    assert current_revision(make_engine(fresh)) == SCHEMA_HEAD
    migrated = f"sqlite:///{tmp_path / 'migrated.db'}"
    engine = make_engine(migrated)
    command.upgrade(alembic_config(engine), "head")  # the migrations themselves
    assert current_revision(engine) == SCHEMA_HEAD
    assert _schema_differences(fresh) == []
    assert _schema_differences(migrated) == []
    command.upgrade(alembic_config(make_engine(fresh)), "head")  # nothing left to do
    assert current_revision(make_engine(fresh)) == SCHEMA_HEAD


def test_sqlite_page_cache_is_set_per_engine(tmp_path: Path) -> None:
    """The crawl's engine keeps a small SQLite page cache (crawler.capture.session); every
    other engine keeps SQLite's default, and both keep WAL and foreign keys."""
    from sqlalchemy import text

    from crawler.capture.session import CRAWL_SQLITE_CACHE_KIB

    url = f"sqlite:///{tmp_path / 'p.db'}"
    open_database(url)
    for kib, expected in ((None, -2000), (CRAWL_SQLITE_CACHE_KIB, -CRAWL_SQLITE_CACHE_KIB)):
        sessions = open_database(url, sqlite_cache_kib=kib)
        with sessions() as session:
            assert session.execute(text("PRAGMA cache_size")).scalar() == expected
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_bulk_insert_stores_what_core_stores_in_multi_row_statements(tmp_path: Path) -> None:
    """BulkInsert hands sqlite3 multi-row INSERTs of 128, 64, ... rows (crawler.store.db): every
    row count from 1 to past two full statements stores exactly what SQLAlchemy Core's
    own executemany stores, in order, in the fewest statements the powers of two allow."""
    import datetime as dt

    from sqlalchemy import event, insert, select

    from crawler.store.db import MULTI_ROW_PARAMS, BulkInsert
    from crawler.store.models import LedgerEntry

    table = LedgerEntry.__table__
    keys = ("table_name", "row_id", "action", "payload", "prev_hash", "entry_hash",
            "recorded_at")
    bulk = BulkInsert(table, keys)
    chunk = 1
    while chunk * 2 * len(keys) <= MULTI_ROW_PARAMS:
        chunk *= 2
    assert chunk == 128
    when = dt.datetime(2026, 11, 24, 5, 6, 7, 890123, tzinfo=dt.UTC)
    bulk_db, core_db = open_database(f"sqlite:///{tmp_path / 'b.db'}"), \
        open_database(f"sqlite:///{tmp_path / 'c.db'}")
    statements: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(len(parameters) if executemany else len(parameters) // len(keys))

    event.listen(bulk_db.kw["bind"], "before_cursor_execute", count)
    done = 0
    for n in (1, 2, 3, 7, 127, 128, 129, 255, 300):
        rows = [{"table_name": "t", "row_id": str(done + i), "action": "insert",
                 "payload": f'{{"n":{done + i},"s":"é \\u0000 \'"}}', "prev_hash": "p",
                 "entry_hash": f"{done + i:064x}",
                 "recorded_at": when + dt.timedelta(microseconds=done + i)}
                for i in range(n)]
        statements.clear()
        with bulk_db() as session:
            bulk.execute(session, rows)
            session.commit()
        with core_db() as session:
            session.execute(insert(table), rows)
            session.commit()
        # n in binary: 128-row statements, then one statement per set bit below 128
        expected = [128] * (n // 128) + [size for size in (64, 32, 16, 8, 4, 2, 1)
                                         if n % 128 & size]
        assert statements == expected, n
        done += n
    with bulk_db() as a, core_db() as b:
        stored = a.execute(select(table).order_by(table.c.seq)).all()
        assert stored == b.execute(select(table).order_by(table.c.seq)).all()
    assert len(stored) == done
    assert stored[-1].recorded_at == when + dt.timedelta(microseconds=done - 1)
