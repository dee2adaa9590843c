"""What the crawl compiles for its writer process from the models' tables
(crawler.capture.recorder.database_plan, crawler.store.db.compile_statement,
crawler.store.dbapi): statements in each driver's paramstyle bound as SQLAlchemy binds,
a new column written without being listed anywhere, and a column the writer has no value
for (or cannot bind) refused before the crawl starts."""

from __future__ import annotations

import datetime as dt
import functools
import json
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Text, TypeDecorator, create_engine
from sqlalchemy.dialects.postgresql import psycopg

from crawler.capture import recorder as recorder_module
from crawler.capture.recorder import Recorder, database_plan
from crawler.capture.writer import WriterConfig
from crawler.errors import ArchiveError, DatabaseError
from crawler.store import ledger
from crawler.store.db import (
    bind_conversion,
    compile_insert,
    compile_update,
    make_engine,
    open_database,
)
from crawler.store.models import Base
from crawler.store.runs import start_run
from crawler.warc.records import Fetch

WHEN = dt.datetime(2026, 11, 24, 7, 1, 2, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
SQLITE = create_engine("sqlite://").dialect
POSTGRES = psycopg.dialect()


class JSONText(TypeDecorator[Any]):
    """A column type whose values SQLAlchemy binds in a way the writer does not know."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: object) -> str:
        return json.dumps(value)


def _grown(table: str, column: Column[Any]) -> MetaData:
    """The models' tables, with one more column in `table`."""
    grown = MetaData()
    for each in Base.metadata.sorted_tables:
        each.to_metadata(grown)
    grown.tables[table].append_column(column)
    return grown


def _run(tmp_path: Path):
    sessions = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    run = start_run(sessions, collection="c", seeds=(), operator="o", user_agent="ua",
                    robots_obey=True, settings={})
    return sessions, run


def _config(tmp_path: Path) -> WriterConfig:
    return WriterConfig(archive_dir=tmp_path / "archive", prefix="T", max_file_size=10**9,
                        gzip_level=6, batch_records=1000, batch_seconds=60.0,
                        software="test/1")


def test_statements_in_each_drivers_paramstyle_bound_as_sqlalchemy_binds() -> None:
    table = Base.metadata.tables["warc_files"]
    keys = [c.key for c in table.columns if c.key != "id"]
    row = {"id": 7, "name": "T.warc.gz", "run_id": 1, "warcinfo_id": "<urn:uuid:1>",
           "opened_at": WHEN, "closed_at": None, "size": None, "sha256": None,
           "gzip_level": 6}
    lite = compile_insert(table, keys, SQLITE)
    assert lite.sql == (f"INSERT INTO warc_files ({', '.join(keys)}) "
                        f"VALUES ({', '.join(['?'] * len(keys))})")
    assert lite.names is None and lite.keys == tuple(keys)
    values = lite.values(row)
    assert values[keys.index("opened_at")] == "2026-11-24 05:01:02.000005"
    assert values[keys.index("name")] == "T.warc.gz"
    pg = compile_insert(table, keys, POSTGRES)
    assert "%(opened_at)s" in pg.sql and pg.names == tuple(keys)
    pg_values = pg.values(row)
    assert isinstance(pg_values, dict)
    assert pg_values["opened_at"] == WHEN and pg_values["opened_at"].tzinfo == dt.UTC
    update = compile_update(table, SQLITE)
    assert update.sql.startswith("UPDATE warc_files SET name=?")
    assert update.sql.endswith("WHERE warc_files.id = ?") and update.keys[-1] == "id"
    assert "id" not in update.keys[:-1] and len(update.keys) == len(keys) + 1
    # a Statement travels to the writer process pickled, without its cached helpers
    clone = pickle.loads(pickle.dumps(lite))
    assert clone == lite and clone.values(row) == values
    with pytest.raises(KeyError, match="gzip_level"):
        lite.values({key: value for key, value in row.items() if key != "gzip_level"})


def test_a_column_type_the_writer_cannot_bind_is_refused() -> None:
    column = Column("evidence", JSONText())
    with pytest.raises(DatabaseError, match="evidence.*does not reproduce"):
        bind_conversion(column, SQLITE)
    assert bind_conversion(Base.metadata.tables["captures"].c.url, SQLITE) is None


def test_a_new_capture_column_named_like_a_fetch_field_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing lists the capture columns: a column named as a Fetch field is written from
    it, and its ledger entry holds it."""
    sessions, run = _run(tmp_path)
    with sqlite3.connect(tmp_path / "p.db") as conn:
        conn.execute("ALTER TABLE captures ADD COLUMN method VARCHAR(10)")
    grown = _grown("captures", Column("method", String(10)))
    monkeypatch.setattr(recorder_module, "database_plan",
                        functools.partial(database_plan, metadata=grown))
    recorder = Recorder(_config(tmp_path), sessions=sessions, run=run,
                        warcinfo={"software": "test"})
    recorder.submit(Fetch(key="a", url="http://127.0.0.1:1/a", fetched_at=WHEN, method="HEAD",
                          protocol="HTTP/1.1", status=200, outlet="Outlet"))
    assert recorder.close().fetches == 1
    with sqlite3.connect(tmp_path / "p.db") as conn:
        assert conn.execute("SELECT method FROM captures").fetchall() == [("HEAD",)]
        (payload,), = conn.execute("SELECT payload FROM ledger WHERE table_name = 'captures'")
    assert json.loads(payload)["row"]["method"] == "HEAD"


@pytest.mark.parametrize(("table", "column", "message"), [
    ("captures", Column("homepage", Text), r"table captures has columns \['homepage'\]"),
    ("warc_files", Column("note", Text), r"table warc_files has columns \['note'\]"),
    ("outlets", Column("homepage", Text), r"table outlets has columns \['homepage'\]"),
    ("ledger", Column("note", Text), r"the ledger has columns \['note'\]"),
    ("captures", Column("extra", JSONText()), "captures.extra.*does not reproduce"),
])
def test_a_column_the_writer_cannot_write_stops_the_crawl_before_it_starts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, column: Column[Any],
        message: str) -> None:
    sessions, run = _run(tmp_path)
    grown = _grown(table, column)
    with pytest.raises(ArchiveError, match=message):
        database_plan(sessions, run.id, metadata=grown)
    monkeypatch.setattr(recorder_module, "database_plan",
                        functools.partial(database_plan, metadata=grown))
    with pytest.raises(ArchiveError, match=message):
        Recorder(_config(tmp_path), sessions=sessions, run=run, warcinfo={"software": "t"})
    assert not (tmp_path / "archive").exists()  # no writer process, no WARC file


def test_the_plan_uses_the_ledgers_own_shapes(tmp_path: Path) -> None:
    """The writer's ledger entries hold what ledger.append's hold for the same models."""
    from crawler.store.models import Capture, Outlet, WarcFile

    sessions, run = _run(tmp_path)
    plan = database_plan(sessions, run.id)
    for table, model in ((plan.captures, Capture), (plan.outlet_table, Outlet),
                         (plan.warc_files, WarcFile)):
        ours, theirs = table.shape, ledger.shape(model)
        assert sorted(ours.keys) == sorted(theirs.keys) and ours.primary == theirs.primary
        assert sorted(ours.dates) == sorted(theirs.dates)
    assert "fetched_at" in plan.captures.shape.dates and "opened_at" in plan.warc_files.shape.dates


def test_the_writer_process_imports_neither_sqlalchemy_nor_scrapy(tmp_path: Path) -> None:
    """The plan is compiled with SQLAlchemy here; the writer reads it with neither
    SQLAlchemy nor Scrapy (its memory: SQLAlchemy alone would cost it ~15 MB)."""
    import os
    import subprocess
    import sys

    import crawler

    sessions, run = _run(tmp_path)
    (tmp_path / "plan.pickle").write_bytes(pickle.dumps(database_plan(sessions, run.id)))
    code = ("import pickle, sys; import crawler.capture.writer; "
            f"plan = pickle.load(open({str(tmp_path / 'plan.pickle')!r}, 'rb')); "
            "print(plan.captures.insert.sql.split()[:3], "
            "sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'scrapy', 'twisted'}))")
    package_root = str(Path(crawler.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, *filter(None, sys.path)])}
    out = subprocess.run([sys.executable, "-S", "-P", "-c", code], env=env, check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "['INSERT', 'INTO', 'captures'] []"


def test_the_writer_on_postgresql_binds_what_sqlalchemy_loads_back(tmp_path: Path) -> None:
    """Named parameters (psycopg), a new outlet, a redirect, a failed fetch and a closed
    file: every row the writer committed matches its newest ledger entry as SQLAlchemy
    loads the row back, and the chain holds."""
    from sqlalchemy import select, text

    from crawler.store.models import Capture, Outlet
    from helpers import PG_DEFAULT, postgres_database

    db_url = postgres_database()
    sessions = open_database(db_url)
    try:
        run = start_run(sessions, collection="c", seeds=(), operator="o", user_agent="ua",
                        robots_obey=True, settings={})
        recorder = Recorder(_config(tmp_path), sessions=sessions, run=run,
                            warcinfo={"software": "test"})
        base = "http://127.0.0.1:1"
        for fetch in (
            Fetch(key="r", url=base + "/r", fetched_at=WHEN, protocol="HTTP/1.1", status=301,
                  response_headers=(("Location", "/a"),), outlet="Ünïcode Outlet",
                  redirect_location=base + "/a"),
            Fetch(key="a", url=base + "/a", fetched_at=WHEN, protocol="HTTP/1.1", status=200,
                  response_headers=(("Content-Type", "text/html"),), body=b"<p>a</p>",
                  outlet="Ünïcode Outlet", redirect_from_key="r", requested_url=base + "/r"),
            Fetch(key="x", url=base + "/x", fetched_at=WHEN, error="refused", role="requisite"),
        ):
            recorder.submit(fetch)
        assert recorder.close().fetches == 3
        with sessions() as session:
            caps = {c.url.removeprefix(base): c for c in session.scalars(select(Capture))}
            assert caps["/a"].redirect_from_id == caps["/r"].id
            assert caps["/a"].fetched_at == WHEN and caps["/a"].requested_url == base + "/r"
            assert session.scalars(select(Outlet.name)).all() == ["Ünïcode Outlet"]
            assert not list(ledger.check_rows(session))
            assert not ledger.walk_chain(session).issues
            assert session.scalar(text("SELECT count(*) FROM ledger")) == 1 + 1 + 1 + 3 + 1
    finally:
        sessions.kw["bind"].dispose()
        server = make_engine(PG_DEFAULT)
        with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        server.dispose()
