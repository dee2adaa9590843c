"""The recorder: the crawl's side of archiving. It hands every fetch to the WARC writer
process (`crawler.warc_process`) and commits what that process reports written.

The reactor thread only pickles a `Fetch` into the writer's pipe (`submit`; it blocks
when the writer is a pipe's worth, 1 MB, behind). The writer process builds, compresses
and appends the records and, every `batch_records` fetches or `batch_seconds`, fsyncs
the WARC file and reports the batch; a collector thread here then inserts the batch's
capture rows and their ledger entries and commits them in one transaction: a capture row
exists only when its bytes are on disk. Nothing here imports Scrapy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

import crawler
from crawler import ledger
from crawler.db import BulkInsert
from crawler.errors import ArchiveError
from crawler.fetch_records import Fetch
from crawler.models import Capture, CrawlRun, Outlet, WarcFile
from crawler.warc_process import (
    FrameReader,
    WriterConfig,
    WriterSetup,
    WriterStats,
    Written,
    grow_pipe,
    read_event,
    send_fetch,
    send_setup,
    send_stop,
)
from crawler.warc_write import ClosedFile

log = logging.getLogger(__name__)
#: the writer process's command (not `-m crawler.warc_process`: its classes must unpickle
#: here as crawler.warc_process's, not __main__'s)
WRITER_MAIN = "import sys; from crawler.warc_process import main; sys.exit(main())"
_CAPTURES = cast(Table, Capture.__table__)
_CAPTURE_INSERT = BulkInsert(_CAPTURES, [c.key for c in _CAPTURES.c if c.key != "id"])


#: how the archive is written: the writer process's own configuration
RecorderConfig = WriterConfig


@dataclass
class RecorderStats(WriterStats):
    """The writer process's counts, and what the crawl process adds to them."""

    warc_bytes: int = 0
    commits: int = 0
    submit_seconds: float = 0.0  # the reactor's time handing fetches over (a full pipe too)
    submit_cpu_seconds: float = 0.0  # of which on the CPU (the rest: waiting for the writer)
    collector_cpu_seconds: float = 0.0  # the collector thread's CPU (its commits, the ledger)


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
        self.config = config
        self.sessions = sessions
        self.run_id = run.id
        self.stats = RecorderStats()
        self.error: BaseException | None = None
        self._done = False
        self._session = sessions()
        self._redirect_ids: dict[str, int] = {}  # key of a committed redirect -> capture id
        self._last_id = 0  # the highest capture id of this run seen so far
        self._outlets: dict[str, int] = {}
        self._files: dict[str, WarcFile] = {}
        # the writer imports from exactly where this process does; -S skips the site
        # module and its .pth files (~1.5 MB of the writer's memory)
        package_root = str(Path(crawler.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([package_root, *filter(None, sys.path)]))
        self._process = subprocess.Popen(
            [sys.executable, "-S", "-c", WRITER_MAIN],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._pipe = self._process.stdin.fileno()
        grow_pipe(self._pipe)
        send_setup(self._pipe, WriterSetup(
            config=replace(config, archive_dir=Path(config.archive_dir).resolve()),
            run_uuid=run.uuid, warcinfo=dict(warcinfo),
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
        self._session.close()
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
        """Apply the writer's events to the database, in the order it sent them."""
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
            if self.error is not None:
                continue  # keep draining so the writer never blocks on a full pipe
            try:
                self._apply(event)
            except BaseException as exc:  # noqa: BLE001 - reported to the reactor
                log.exception("recording the WARC writer's output failed")
                self.error = exc
                self._session.rollback()

    def _apply(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "opened":
            self._file_opened(*event[1:])
        elif kind == "synced":
            self._commit(event[1])
        elif kind == "closed":
            self._file_closed(event[1])
            self._session.commit()
        elif kind == "done":
            for name, value in vars(event[1]).items():  # WriterStats' counts
                setattr(self.stats, name, value)
            self._done = True
        elif kind == "error":
            self.error = ArchiveError(event[1])
        else:
            raise ArchiveError(f"unknown event from the WARC writer process: {kind!r}")

    def _outlet_id(self, name: str | None) -> int | None:
        if not name:
            return None
        if name not in self._outlets:
            outlet = self._session.query(Outlet).filter_by(name=name).one_or_none()
            if outlet is None:
                outlet = Outlet(name=name)
                self._session.add(outlet)
                self._session.flush()
                ledger.append(self._session, [outlet])
            self._outlets[name] = outlet.id
        return self._outlets[name]

    def _commit(self, written: list[Written]) -> None:
        """Insert the rows of a batch the writer has fsynced, with their ledger entries,
        and commit them in one transaction."""
        rows: list[dict[str, Any]] = []
        chunk: list[Written] = []
        for item in written:
            row = item.row
            row["run_id"] = self.run_id
            row["outlet_id"] = self._outlet_id(row.pop("outlet"))
            row["warc_file_id"] = self._files[row.pop("warc_file")].id
            if item.origin is not None:
                if item.origin not in self._redirect_ids:  # its origin is in this chunk
                    rows += self._insert(chunk)
                    chunk = []
                row["redirect_from_id"] = self._redirect_ids.pop(item.origin, None)
            chunk.append(item)
        rows += self._insert(chunk)
        self._ledger(rows)
        self._session.commit()
        self.stats.commits += 1

    def _insert(self, chunk: list[Written]) -> list[dict[str, Any]]:
        """Insert capture rows (`crawler.db.BulkInsert`: a few prepared statements, no ORM
        object per capture), then read back their ids.

        The ids are this run's rows above the highest id seen so far, matched by metadata
        record id (unique per capture): only this recorder inserts this run's captures,
        and ids only grow, in SQLite as in PostgreSQL. (A multi-row INSERT ... RETURNING
        costs more here, and every distinct row count of it is another statement that
        the driver prepares and keeps: sqlite3 keeps 128, which held ~70 MB.)
        """
        if not chunk:
            return []
        _CAPTURE_INSERT.execute(self._session, [item.row for item in chunk])
        new = self._session.execute(
            select(_CAPTURES.c.id, _CAPTURES.c.metadata_record_id)
            .where(_CAPTURES.c.run_id == self.run_id, _CAPTURES.c.id > self._last_id))
        ids = {record: cid for cid, record in new}
        self._last_id = max(ids.values(), default=self._last_id)
        for item in chunk:
            item.row["id"] = ids[item.row["metadata_record_id"]]
            if item.redirect:
                self._redirect_ids[item.key] = item.row["id"]
        return [item.row for item in chunk]

    def _ledger(self, rows: list[dict[str, Any]]) -> None:
        """Ledger entries of new capture rows, exactly as `ledger.append` makes them for
        loaded Capture objects (tests/test_recorder.py holds the two to each other)."""
        ledger.append_values(self._session, Capture, rows)

    def _file_opened(self, name: str, warcinfo_id: str, opened_at: dt.datetime) -> None:
        row = WarcFile(name=name, run_id=self.run_id, warcinfo_id=warcinfo_id,
                       opened_at=opened_at, gzip_level=self.config.gzip_level)
        self._session.add(row)
        self._session.flush()
        ledger.append(self._session, [row])
        self._files[name] = row
        log.info("opened WARC file %s", name)

    def _file_closed(self, closed: ClosedFile) -> None:
        row = self._files[closed.name]
        row.size, row.sha256, row.closed_at = closed.size, closed.sha256, closed.closed_at
        self._session.flush()
        ledger.append(self._session, [row], action="update")
        self.stats.warc_bytes += closed.size
        log.info("closed WARC file %s (%d bytes, sha256 %s)", closed.name, closed.size,
                 closed.sha256)
