"""The WARC writer process's database side (crawler.capture.rows): the values it binds are
SQLAlchemy's, what it cannot write it refuses before the crawl, an outlet the crawl had
not recorded gets its row and entry, and a failed commit stops the crawl with nothing
half-written."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.dialects import postgresql

from crawler.capture.recorder import Recorder, database_plan, writer_connection
from crawler.capture.rows import DatabaseWriteError
from crawler.capture.writer import WriterConfig
from crawler.errors import ArchiveError, DatabaseError
from crawler.store import ledger
from crawler.store.canonical import Shape
from crawler.store.db import bind_conversion, open_database
from crawler.store.dbapi import BINDS
from crawler.store.models import Capture, LedgerEntry, Outlet, WarcFile
from crawler.store.runs import start_run
from crawler.warc.records import Fetch
from helpers import http_fetch

BASE = "http://127.0.0.1:1"


@pytest.mark.parametrize("when", [
    dt.datetime(2026, 11, 24, 7, 1, 2, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-9))),
])
def test_times_are_bound_as_sqlalchemy_binds_them(when: dt.datetime) -> None:
    column = Capture.__table__.c.fetched_at.type
    sqlite_dialect = create_engine("sqlite://").dialect
    dialects = {"sqlite3": sqlite_dialect, "psycopg": postgresql.dialect()}

    def bind_time(value: dt.datetime, driver: str) -> object:
        """How the writer process binds a fetched_at (crawler.store.dbapi.BINDS)."""
        fetched_at = Capture.__table__.c.fetched_at
        return BINDS[bind_conversion(fetched_at, dialects[driver]) or ""](value)

    for driver, dialect in dialects.items():
        process = column.dialect_impl(dialect).bind_processor(dialect)
        assert bind_time(when, driver) == process(when), driver
    with pytest.raises(ValueError, match="naive"):
        bind_time(dt.datetime(2026, 1, 1), "sqlite3")


def _run(tmp_path: Path, url: str | None = None):
    sessions = open_database(url or f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(sessions, collection="c", seeds=(), operator="o", user_agent="ua",
                    robots_obey=True, settings={})
    return sessions, run


def _fetch(path: str, outlet: str | None) -> Fetch:
    return http_fetch(path, BASE + path, fetched_at=dt.datetime.now(dt.UTC),
                      body=b"<p>hello</p>", ip_address="127.0.0.1", outlet=outlet,
                      requested_url=BASE + path)


def _recorder(tmp_path: Path, sessions, run) -> Recorder:
    config = WriterConfig(archive_dir=tmp_path / "archive", prefix="T", max_file_size=10**9,
                            gzip_level=6, batch_records=1000, batch_seconds=60.0,
                            software="test/1")
    return Recorder(config, sessions=sessions, run=run, warcinfo={"software": "test"})


def test_what_the_writer_cannot_write_is_refused_before_the_crawl(tmp_path: Path) -> None:
    sessions, run = _run(tmp_path)
    plan = database_plan(sessions, run.id)
    assert plan.driver == "sqlite3" and plan.connect_args == (str(tmp_path / "p.db"),)
    assert "PRAGMA synchronous=FULL" in plan.on_connect
    with pytest.raises(DatabaseWriteError, match="'pymysql'.*sqlite3 or psycopg"):
        replace(plan, driver="pymysql").check()
    outlets = plan.outlet_table
    grown = replace(outlets, shape=Shape((*outlets.shape.keys, "homepage"),
                                         outlets.shape.primary, outlets.shape.dates))
    with pytest.raises(DatabaseWriteError, match="table outlets has columns.*homepage"):
        replace(plan, outlet_table=grown).check()
    memory = open_database("sqlite://")
    memory_run = start_run(memory, collection="c", seeds=(), operator="o", user_agent="ua",
                           robots_obey=True, settings={})
    with pytest.raises(ArchiveError, match="in-memory SQLite"):
        database_plan(memory, memory_run.id)
    # a database whose driver the writer does not speak: refused before the crawl (exit 2)
    with pytest.raises(DatabaseError, match=r"mysql\+pymysql://u:\*\*\*@h/db.*sqlite3 or psycopg"):
        writer_connection(create_engine("mysql+pymysql://u:secret@h/db", module=sqlite3))


def test_an_outlet_the_crawl_had_not_recorded(tmp_path: Path) -> None:
    """The writer records a new outlet once, with the entry SQLAlchemy's ledger.append
    would have made, and the files' rows with their insert and update entries."""
    sessions, run = _run(tmp_path)
    with sessions.begin() as session:
        known = Outlet(name="Known")
        session.add(known)
        session.flush()
        ledger.append(session, [known])
    recorder = _recorder(tmp_path, sessions, run)
    for i, outlet in enumerate(["Known", "New Outlet", "New Outlet", None]):
        recorder.submit(_fetch(f"/{i}", outlet))
    stats = recorder.close()
    assert stats.commits == 1 and stats.commit_seconds > 0
    with sessions() as session:
        outlets = {o.name: o for o in session.scalars(select(Outlet))}
        assert sorted(outlets) == ["Known", "New Outlet"]
        caps = {c.url.removeprefix(BASE): c for c in session.scalars(select(Capture))}
        assert caps["/0"].outlet_id == outlets["Known"].id
        assert caps["/1"].outlet_id == caps["/2"].outlet_id == outlets["New Outlet"].id
        assert caps["/3"].outlet_id is None
        entries = list(session.scalars(select(LedgerEntry).where(
            LedgerEntry.table_name == "outlets", LedgerEntry.row_id == str(
                outlets["New Outlet"].id))))
        assert [e.payload for e in entries] == [ledger.canonical(outlets["New Outlet"])]
        warc = session.scalars(select(WarcFile)).one()
        actions = session.scalars(select(LedgerEntry.action).where(
            LedgerEntry.table_name == "warc_files").order_by(LedgerEntry.seq)).all()
        assert actions == ["insert", "update"] and warc.size and warc.sha256
        assert not list(ledger.check_rows(session))
        assert not ledger.walk_chain(session).issues


def test_a_failed_commit_stops_the_crawl_and_writes_no_row(tmp_path: Path) -> None:
    """The database refuses the batch: the crawl hears the writer's reason, and neither
    a capture row nor a ledger entry of the batch is left (one transaction)."""
    sessions, run = _run(tmp_path)
    with sessions() as session:
        entries_before = session.scalar(select(func.count(LedgerEntry.seq)))
    with sqlite3.connect(tmp_path / "p.db") as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON captures "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    recorder = _recorder(tmp_path, sessions, run)
    recorder.submit(_fetch("/a", "New Outlet"))
    with pytest.raises(ArchiveError, match="committing 1 capture rows.*refused by the test"):
        recorder.close()
    with sessions() as session:
        assert session.scalar(select(func.count(Capture.id))) == 0
        assert session.scalar(select(func.count(Outlet.id))) == 0
        assert session.scalar(select(func.count(WarcFile.id))) == 0
        assert session.scalar(select(func.count(LedgerEntry.seq))) == entries_before
    # the bytes were fsynced before the commit failed: reindex can recover them
    assert list((tmp_path / "archive").glob("*.warc.gz"))
