"""The recorder: the crawl's side of archiving. It hands every fetch to the WARC writer
process (`crawler.capture.writer`), which writes the records and commits their rows.

The reactor thread only pickles a `Fetch` into the writer's pipe (`submit`; it blocks
when the writer is a pipe's worth, 1 MB, behind). The writer process builds, compresses
and appends the records and, every `batch_records` fetches or `batch_seconds`, fsyncs
the WARC file and commits the batch's capture rows and their ledger entries in one
transaction (`crawler.capture.rows`): a capture row exists only when its bytes are on disk.
This process describes the database to it (`database_plan`, with SQLAlchemy); a thread
here only waits for the writer's events (files opened and closed, the end, an error).
Nothing here imports Scrapy.
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

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

import crawler
from crawler.capture.rows import DRIVERS, DatabasePlan, DatabaseWriteError
from crawler.capture.writer import (
    FrameReader,
    WriterConfig,
    WriterSetup,
    WriterStats,
    grow_pipe,
    read_event,
    send_fetch,
    send_setup,
    send_stop,
)
from crawler.errors import ArchiveError, DatabaseError
from crawler.store.db import safe_url, sqlite_pragmas
from crawler.store.models import Capture, CrawlRun, LedgerEntry, Outlet, WarcFile
from crawler.warc.records import Fetch
from crawler.warc.write import ClosedFile

log = logging.getLogger(__name__)
#: the writer process's command (not `-m crawler.capture.writer`: its classes must unpickle
#: here as crawler.capture.writer's, not __main__'s)
WRITER_MAIN = "import sys; from crawler.capture.writer import main; sys.exit(main())"
#: the writer's SQLite page cache (KiB): it appends, and reads back only new ids
#: (50,000 fetches: 0.5 MB less of its memory than 512 KiB, commits as fast)
WRITER_SQLITE_CACHE_KIB = 128


#: how the archive is written: the writer process's own configuration
RecorderConfig = WriterConfig


@dataclass
class RecorderStats(WriterStats):
    """The writer process's counts, and what the crawl process adds to them."""

    warc_bytes: int = 0
    submit_seconds: float = 0.0  # the reactor's time handing fetches over (a full pipe too)
    submit_cpu_seconds: float = 0.0  # of which on the CPU (the rest: waiting for the writer)
    collector_cpu_seconds: float = 0.0  # the thread that reads the writer's events


def _columns(model: type[Any]) -> tuple[str, ...]:
    """A table's mapped columns, which must be named as their attributes (the writer
    process writes them by name, and the ledger's text holds them by attribute)."""
    attrs = inspect(model).column_attrs
    renamed = [attr.key for attr in attrs if attr.columns[0].name != attr.key]
    if renamed:
        raise ArchiveError(f"{model.__tablename__}: columns named unlike their attributes: "
                           f"{renamed} (crawler/capture/rows.py writes columns by name)")
    return tuple(attr.key for attr in attrs)


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


def database_plan(sessions: sessionmaker[Session], run_id: int) -> DatabasePlan:
    """What the writer process needs to write the run's rows (crawler.capture.rows)."""
    try:
        driver, args, kwargs, on_connect = writer_connection(sessions.kw["bind"])
    except DatabaseError as exc:
        raise ArchiveError(str(exc)) from None
    with sessions() as session:
        outlets = {name: oid for oid, name in session.execute(select(Outlet.id, Outlet.name))}
    plan = DatabasePlan(
        driver=driver, connect_args=args, connect_kwargs=kwargs, on_connect=on_connect,
        run_id=run_id, outlets=outlets, capture_columns=_columns(Capture),
        ledger_table=LedgerEntry.__tablename__,
        table_columns={"outlets": _columns(Outlet), "warc_files": _columns(WarcFile),
                       LedgerEntry.__tablename__: _columns(LedgerEntry)})
    try:
        plan.check()
    except DatabaseWriteError as exc:
        raise ArchiveError(str(exc)) from None
    return plan


class Recorder:
    """Writes fetches of one crawl run; `close()` finishes files and returns the stats."""

    def __init__(
        self,
        config: RecorderConfig,
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
        grow_pipe(self._pipe)
        send_setup(self._pipe, WriterSetup(
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
            send_fetch(self._pipe, fetch)
            self.stats.submit_seconds += time.perf_counter() - began
            self.stats.submit_cpu_seconds += time.thread_time() - cpu
        except OSError as exc:  # BrokenPipeError: the writer process is gone
            self._thread.join(timeout=5)  # the collector reads why, if it said
            raise ArchiveError(f"the WARC writer stopped: {self._why_stopped()}") from exc

    def close(self) -> RecorderStats:
        """Let the writer finish what was sent, wait for its last commit, and stop it."""
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # gone already: the collector saw why
            send_stop(self._pipe)
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
            self._collect_events(FrameReader(self._process.stdout.fileno()))
        finally:
            self.stats.collector_cpu_seconds = time.thread_time()

    def _collect_events(self, reader: FrameReader) -> None:
        while True:
            try:
                event = read_event(reader)
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

    def _apply(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "opened":
            log.info("opened WARC file %s", event[1])
        elif kind == "closed":
            closed: ClosedFile = event[1]
            self.stats.warc_bytes += closed.size
            log.info("closed WARC file %s (%d bytes, sha256 %s)", closed.name, closed.size,
                     closed.sha256)
        elif kind == "done":
            for name, value in vars(event[1]).items():  # WriterStats' counts
                setattr(self.stats, name, value)
            self._done = True
        elif kind == "error":
            self.error = ArchiveError(event[1])
        else:
            raise ArchiveError(f"unknown event from the WARC writer process: {kind!r}")
