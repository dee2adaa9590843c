"""The recorder: the crawl's side of archiving. It hands every fetch to the WARC writer
process (`crawler.capture.writer`), which writes the records and commits their rows.

The reactor thread only pickles a `Fetch` into the writer's pipe (`submit`; it blocks
when the writer is a pipe's worth, 1 MB, behind). The writer process builds, compresses
and appends the records and, every `batch_records` fetches or `batch_seconds`, fsyncs
the WARC file and commits the batch's capture rows and their ledger entries in one
transaction (`crawler.capture.rows`): a capture row exists only when its bytes are on disk.
This process describes the database to it (`database_plan`: the connection, and every
statement the writer runs, compiled with SQLAlchemy from the models' tables); a thread
here only waits for the writer's events (files opened and closed, the end, an error).
Nothing here imports Scrapy; its settings come in a `WriterConfig` (the ARCHIVE_* ones,
read by `crawler.capture.middleware`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Dialect, Engine, MetaData, Table, bindparam, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

import crawler
from crawler.capture import pipe
from crawler.capture.rows import DRIVERS, DatabasePlan, DatabaseWriteError, TablePlan
from crawler.capture.writer import WriterConfig, WriterSetup, WriterStats
from crawler.errors import ArchiveError, DatabaseError
from crawler.store.canonical import LEDGER_LOCK
from crawler.store.db import (
    compile_insert,
    compile_statement,
    compile_update,
    safe_url,
    sqlite_pragmas,
)
from crawler.store.ledger import table_shape
from crawler.store.models import Base, Capture, CrawlRun, LedgerEntry, Outlet, WarcFile
from crawler.warc.records import Fetch

log = logging.getLogger(__name__)
#: the writer process's command (not `-m crawler.capture.writer`: its classes must unpickle
#: here as crawler.capture.writer's, not __main__'s)
WRITER_MAIN = "import sys; from crawler.capture.writer import main; sys.exit(main())"
#: the writer's SQLite page cache (KiB): it appends, and reads back only new ids
#: (50,000 fetches: 0.5 MB less of its memory than 512 KiB, commits as fast)
WRITER_SQLITE_CACHE_KIB = 128


@dataclass
class RecorderStats(WriterStats):
    """The writer process's counts, and what the crawl process adds to them."""

    submit_seconds: float = 0.0  # the reactor's time handing fetches over (a full pipe too)
    submit_cpu_seconds: float = 0.0  # of which on the CPU (the rest: waiting for the writer)
    collector_cpu_seconds: float = 0.0  # the thread that reads the writer's events


def writer_connection(engine: Engine, *, sqlite_cache_kib: int = WRITER_SQLITE_CACHE_KIB
                      ) -> tuple[str, tuple[Any, ...], dict[str, Any], tuple[str, ...]]:
    """How the writer process connects to `engine`'s database without SQLAlchemy: the
    DB-API module, its connect arguments as SQLAlchemy's own dialect makes them, and
    what to run once connected. Raises DatabaseError for a database it cannot write."""
    dialect = engine.dialect
    where = safe_url(str(engine.url))
    args, kwargs = dialect.create_connect_args(engine.url)
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        if not args or args[0] in ("", ":memory:") or engine.url.query.get("mode") == "memory":
            raise DatabaseError(f"database {where}: an in-memory SQLite database cannot hold "
                                "a crawl's records (the WARC writer process commits them)")
        kwargs = {k: v for k, v in kwargs.items() if k != "check_same_thread"}
        kwargs.update(timeout=30, isolation_level=None)  # it begins its own transactions
        return "sqlite3", tuple(args), kwargs, tuple(sqlite_pragmas(sqlite_cache_kib))
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        kwargs = {k: v for k, v in kwargs.items() if k != "context"}  # SQLAlchemy's adapters
        return "psycopg", tuple(args), kwargs, ()
    raise DatabaseError(
        f"database {where}: a crawl commits its rows through {' or '.join(DRIVERS)} "
        f"(sqlite:///FILE or postgresql://...), not {dialect.name}+{dialect.driver}")


def _named_as_attributes(*models: type[Base]) -> None:
    """The writer process's tables must name their columns as their attributes: it writes
    columns by name, and the ledger's text holds them by attribute."""
    for model in models:
        attrs = inspect(model).column_attrs
        renamed = [attr.key for attr in attrs if attr.columns[0].name != attr.key]
        if renamed:
            raise ArchiveError(f"{model.__tablename__}: columns named unlike their attributes: "
                               f"{renamed} (crawler/capture/rows.py writes columns by name)")


def _table_plan(table: Table, dialect: Dialect, *, by_name: bool = False,
                update: bool = False) -> TablePlan:
    """A table's statements as the writer process runs them: its INSERT of every column
    but the autoincrementing key, and where asked the UPDATE of a row and the SELECT of
    the id of the row of a name."""
    key = table.autoincrement_column
    assert key is not None, table.name
    return TablePlan(
        name=str(table.name), shape=table_shape(table),
        insert=compile_insert(table, [c.key for c in table.columns if c is not key], dialect),
        update=compile_update(table, dialect) if update else None,
        id_by_name=compile_statement(select(key).where(table.c.name == bindparam("name")),
                                     dialect) if by_name else None)


def database_plan(sessions: sessionmaker[Session], run_id: int, *,
                  metadata: MetaData = Base.metadata) -> DatabasePlan:
    """What the writer process needs to write the run's rows (crawler.capture.rows), compiled
    from `metadata`'s tables (the models'). Raises ArchiveError for a database, a column
    or a column type the writer cannot write."""
    _named_as_attributes(Outlet, WarcFile, Capture, LedgerEntry)
    engine = sessions.kw["bind"]
    try:
        driver, args, kwargs, on_connect = writer_connection(engine)
    except DatabaseError as exc:
        raise ArchiveError(str(exc)) from None
    with sessions() as session:
        outlets = {name: oid for oid, name in session.execute(select(Outlet.id, Outlet.name))}
    dialect = engine.dialect
    tables = metadata.tables
    captures = tables[Capture.__tablename__]
    ledger = tables[LedgerEntry.__tablename__]
    seq = ledger.autoincrement_column
    try:
        plan = DatabasePlan(
            driver=driver, connect_args=args, connect_kwargs=kwargs, on_connect=on_connect,
            begin="BEGIN IMMEDIATE" if driver == "sqlite3" else LEDGER_LOCK,
            run_id=run_id, outlets=outlets,
            outlet_table=_table_plan(tables[Outlet.__tablename__], dialect, by_name=True),
            warc_files=_table_plan(tables[WarcFile.__tablename__], dialect, by_name=True,
                                   update=True),
            captures=_table_plan(captures, dialect),
            ledger=compile_insert(ledger, [c.key for c in ledger.columns if c is not seq],
                                  dialect),
            ledger_head=compile_statement(
                select(ledger.c.entry_hash).where(
                    ledger.c.seq == select(func.max(ledger.c.seq)).scalar_subquery()),
                dialect),
            new_captures=compile_statement(
                select(captures.c.id, captures.c.metadata_record_id).where(
                    captures.c.run_id == bindparam("run_id"),
                    captures.c.id > bindparam("after")),
                dialect))
        plan.check()
    except (DatabaseError, DatabaseWriteError) as exc:
        raise ArchiveError(str(exc)) from None
    return plan


class Recorder:
    """Writes fetches of one crawl run; `close()` finishes files and returns the stats."""

    def __init__(
        self,
        config: WriterConfig,
        *,
        sessions: sessionmaker[Session],
        run: CrawlRun,
        warcinfo: dict[str, str],
    ) -> None:
        self.stats = RecorderStats()
        self.error: BaseException | None = None
        self._done = False
        plan = database_plan(sessions, run.id)
        # the writer imports from exactly where this process does (-P: not from the
        # working directory, where another checkout may be); -S skips the site module and
        # its .pth files (~1.5 MB of the writer's memory)
        package_root = str(Path(crawler.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([package_root, *filter(None, sys.path)]))
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-P", "-c", WRITER_MAIN],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._pipe = self._process.stdin.fileno()
        pipe.grow_pipe(self._pipe)
        pipe.send_setup(self._pipe, WriterSetup(
            config=replace(config, archive_dir=Path(config.archive_dir).resolve()),
            run_uuid=run.uuid, warcinfo=dict(warcinfo), database=plan,
            log_level=min(logging.getLogger("crawler").getEffectiveLevel(), logging.WARNING),
        ))
        self._thread = threading.Thread(target=self._collect, name="warc-collector",
                                        daemon=True)
        self._thread.start()

    # -- reactor side -------------------------------------------------------------
    def submit(self, fetch: Fetch) -> None:
        """Send a fetch to the writer process (blocks while its pipe is full)."""
        if self.error is not None:
            raise ArchiveError(f"the WARC writer stopped: {self.error}") from self.error
        began, cpu = time.perf_counter(), time.thread_time()
        try:
            pipe.send_fetch(self._pipe, fetch)
            self.stats.submit_seconds += time.perf_counter() - began
            self.stats.submit_cpu_seconds += time.thread_time() - cpu
        except OSError as exc:  # BrokenPipeError: the writer process is gone
            self._thread.join(timeout=5)  # the collector reads why, if it said
            raise ArchiveError(f"the WARC writer stopped: {self._why_stopped()}") from exc

    def close(self) -> RecorderStats:
        """Let the writer finish what was sent, wait for its last commit, and stop it."""
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # gone already: the collector saw why
            pipe.send_stop(self._pipe)
        self._process.stdin.close()
        self._thread.join()
        code = self._process.wait()
        if self.error is not None or not self._done:
            raise ArchiveError(f"the WARC writer failed: {self._why_stopped()}") from self.error
        if code != 0:
            raise ArchiveError(f"the WARC writer process exited with code {code}")
        return self.stats

    def _why_stopped(self) -> str:
        if self.error is not None:
            return str(self.error)
        code = self._process.poll()
        if code is None:
            return "its pipe was closed"
        return f"the WARC writer process exited with code {code} before it finished"

    # -- collector thread ---------------------------------------------------------
    def _collect(self) -> None:
        """Read the writer's events until it closes its end."""
        assert self._process.stdout is not None
        try:
            self._collect_events(pipe.FrameReader(self._process.stdout.fileno()))
        finally:
            self.stats.collector_cpu_seconds = time.thread_time()

    def _collect_events(self, reader: pipe.FrameReader) -> None:
        while True:
            try:
                event = pipe.read_event(reader)
            except EOFError:
                return
            except Exception as exc:  # noqa: BLE001 - a garbled stream: stop the writer
                log.exception("unreadable output from the WARC writer process")
                self.error = exc
                self._process.kill()
                return
            try:
                self._apply(event)
            except BaseException as exc:  # noqa: BLE001 - reported to the reactor
                log.exception("reading the WARC writer's events failed")
                self.error = exc

    def _apply(self, event: pipe.Event) -> None:
        if isinstance(event, pipe.Opened):
            log.info("opened WARC file %s", event.name)
        elif isinstance(event, pipe.Closed):
            closed = event.file
            log.info("closed WARC file %s (%d bytes, sha256 %s)", closed.name, closed.size,
                     closed.sha256)
        elif isinstance(event, pipe.Done):
            for name, value in vars(event.stats).items():  # WriterStats' counts
                setattr(self.stats, name, value)
            self._done = True
        elif isinstance(event, pipe.Failed):
            self.error = ArchiveError(event.message)
        else:
            raise ArchiveError(f"unknown event from the WARC writer process: {event!r}")
