"""The recorder: one writer thread that turns fetches into WARC records and rows.

The reactor thread only queues `Fetch` values (`submit`). The writer thread builds
and compresses the records, appends them, and every `batch_records` fetches or
`batch_seconds` (whichever first) flushes and fsyncs the WARC file and only then
commits the batch's capture rows and their ledger entries in one transaction: a
capture row exists only when its bytes are on disk. Nothing here imports Scrapy.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, sessionmaker

from crawler import ledger
from crawler.errors import ArchiveError
from crawler.fetch_records import Fetch, build_records
from crawler.models import Capture, CrawlRun, LedgerEntry, Outlet, WarcFile
from crawler.warc_write import ClosedFile, RotatingWarcWriter

log = logging.getLogger(__name__)
_STOP = object()
#: the mapped columns of a capture row, as `ledger.canonical` serialises them
_CAPTURE_KEYS = tuple(attr.key for attr in Capture.__mapper__.column_attrs)
_CAPTURES = cast(Table, Capture.__table__)
_LEDGER = cast(Table, LedgerEntry.__table__)


@dataclass(frozen=True)
class RecorderConfig:
    archive_dir: Path
    prefix: str
    max_file_size: int
    gzip_level: int
    batch_records: int
    batch_seconds: float
    queue_size: int
    software: str


@dataclass
class _Pending:
    """A capture row written to the WARC file, waiting for fsync and commit."""

    key: str
    row: dict[str, Any]
    origin: str | None  # key of the redirect this fetch followed
    redirect: bool


@dataclass
class RecorderStats:
    fetches: int = 0
    failures: int = 0
    payload_bytes: int = 0
    records: int = 0
    warc_bytes: int = 0
    commits: int = 0


class Recorder:
    """Writes fetches of one crawl run; `close()` finishes files and returns the stats."""

    def __init__(
        self,
        config: RecorderConfig,
        *,
        sessions: sessionmaker[Session],
        run: CrawlRun,
        warcinfo: dict[str, str],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.run_id = run.id
        self.run_uuid = run.uuid
        self.clock = clock
        self.stats = RecorderStats()
        self.error: BaseException | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.queue_size)
        self._session = sessions()
        self._pending: list[_Pending] = []
        self._redirect_records: dict[str, str] = {}  # key of a redirect -> its record id
        self._redirect_ids: dict[str, int] = {}  # key of a committed redirect -> capture id
        self._outlets: dict[str, int] = {}
        self._files: dict[str, WarcFile] = {}
        self.writer = RotatingWarcWriter(
            config.archive_dir, prefix=config.prefix, max_size=config.max_file_size,
            gzip_level=config.gzip_level, warcinfo=warcinfo,
            on_open=self._file_opened, on_close=self._file_closed, clock=clock,
        )
        self._thread = threading.Thread(target=self._loop, name="warc-writer", daemon=True)
        self._thread.start()

    # -- reactor side -------------------------------------------------------------
    def submit(self, fetch: Fetch) -> None:
        """Queue a fetch (blocks when the writer is `queue_size` behind)."""
        if self.error is not None:
            raise ArchiveError(f"the WARC writer stopped: {self.error}") from self.error
        self._queue.put(fetch)

    def close(self) -> RecorderStats:
        """Write what is queued, close the current file, and stop the thread."""
        self._queue.put(_STOP)
        self._thread.join()
        self._session.close()
        if self.error is not None:
            raise ArchiveError(f"the WARC writer failed: {self.error}") from self.error
        return self.stats

    # -- writer thread ------------------------------------------------------------
    def _loop(self) -> None:
        item: object = None
        try:
            deadline = time.monotonic() + self.config.batch_seconds
            while True:
                timeout = max(0.0, deadline - time.monotonic())
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    self._flush()
                    self.writer.close_current()
                    self._session.commit()
                    return
                if item is not None:
                    self._write(item)  # type: ignore[arg-type]
                due = time.monotonic() >= deadline
                if self._pending and (due or len(self._pending) >= self.config.batch_records):
                    self._flush()
                if due or not self._pending:
                    deadline = time.monotonic() + self.config.batch_seconds
                if self.writer.needs_rotation():
                    self._flush()
                    self.writer.close_current()
                    self._session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported to the reactor via submit/close
            log.exception("WARC writer failed")
            self.error = exc
            self._session.rollback()
            # keep draining so the reactor never blocks on a full queue, until the STOP
            # of close() (which may be the very item that failed: then stop at once)
            while item is not _STOP:
                item = self._queue.get()

    def _write(self, fetch: Fetch) -> None:
        origin = fetch.redirect_from_key
        origin_record = self._redirect_records.pop(origin, None) if origin else None
        built = build_records(
            self.writer.builder, fetch, run_uuid=self.run_uuid, software=self.config.software,
            redirect_from_record=origin_record,
        )
        locations = [self.writer.append(record) for record in built.records]
        meta = locations[-1]
        # a plain row, inserted in bulk by _flush: no ORM unit of work per capture
        row: dict[str, Any] = {
            "run_id": self.run_id, "seed_id": fetch.seed_id,
            "outlet_id": self._outlet_id(fetch.outlet),
            "requested_url": fetch.requested_url or fetch.url, "url": fetch.url,
            "redirect_location": fetch.redirect_location, "redirect_from_id": None,
            "role": fetch.role, "hops": fetch.hops, "via_url": fetch.via_url,
            "fetched_at": fetch.fetched_at, "status": fetch.status, "protocol": fetch.protocol,
            "ip_address": fetch.ip_address, "error": fetch.error,
            "warc_file_id": self._files[meta.filename].id,
            "metadata_record_id": meta.record_id, "metadata_offset": meta.offset,
            "metadata_length": meta.length,
            "content_type": None, "content_encoding": None, "payload_length": None,
            "payload_sha256": None, "warc_payload_digest": None, "warc_block_digest": None,
            "warc_record_id": None, "response_offset": None, "response_length": None,
            "request_record_id": None, "request_offset": None, "request_length": None,
        }
        if not fetch.failed:
            response = built.records[0]
            for name, value in fetch.response_headers:  # the last of repeated headers wins
                lower = name.lower()
                if lower == "content-type":
                    row["content_type"] = value
                elif lower == "content-encoding":
                    row["content_encoding"] = value
            row["payload_length"] = len(fetch.body)
            row["payload_sha256"] = built.payload_sha256
            row["warc_payload_digest"] = response.rec_headers.get_header("WARC-Payload-Digest")
            row["warc_block_digest"] = response.rec_headers.get_header("WARC-Block-Digest")
            row["warc_record_id"] = locations[0].record_id
            row["response_offset"] = locations[0].offset
            row["response_length"] = locations[0].length
            row["request_record_id"] = locations[1].record_id
            row["request_offset"], row["request_length"] = locations[1].offset, locations[1].length
            self.stats.payload_bytes += len(fetch.body)
        else:
            self.stats.failures += 1
        redirect = bool(fetch.status is not None and 300 <= fetch.status < 400
                        and fetch.redirect_location)
        if redirect:
            self._redirect_records[fetch.key] = locations[0].record_id
        self.stats.fetches += 1
        self.stats.records += len(locations)
        self._pending.append(_Pending(fetch.key, row, origin if origin_record else None, redirect))

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

    def _flush(self) -> None:
        """fsync the WARC file, then commit the rows that point into it."""
        if not self._pending:
            return
        self.writer.sync()
        rows: list[dict[str, Any]] = []
        chunk: list[_Pending] = []
        for item in self._pending:
            if item.origin is not None:
                if item.origin not in self._redirect_ids:  # its origin is in this chunk
                    rows += self._insert(chunk)
                    chunk = []
                item.row["redirect_from_id"] = self._redirect_ids.pop(item.origin, None)
            chunk.append(item)
        rows += self._insert(chunk)
        self._ledger(rows)
        self._session.commit()
        self.stats.commits += 1
        self._pending = []

    def _insert(self, chunk: list[_Pending]) -> list[dict[str, Any]]:
        """One multi-row INSERT ... RETURNING (SQLAlchemy Core: no ORM object per capture).

        Rows are matched to their ids by metadata record id (unique per capture), not by
        the order RETURNING gives them in, which SQLite does not promise.
        """
        if not chunk:
            return []
        stmt = insert(_CAPTURES).returning(_CAPTURES.c.id, _CAPTURES.c.metadata_record_id)
        ids = dict((rec, cid) for cid, rec in self._session.execute(stmt, [i.row for i in chunk]))
        for item in chunk:
            item.row["id"] = ids[item.row["metadata_record_id"]]
            if item.redirect:
                self._redirect_ids[item.key] = item.row["id"]
        return [item.row for item in chunk]

    def _ledger(self, rows: list[dict[str, Any]]) -> None:
        """Ledger entries of new capture rows, exactly as `ledger.append` makes them for
        loaded Capture objects (tests/test_recorder.py holds the two to each other)."""
        ledger._lock(self._session)
        prev = ledger.head(self._session)
        now = dt.datetime.now(dt.UTC)
        entries = []
        for row in rows:
            payload = json.dumps(
                {"table": "captures", "row": {k: ledger._plain(row[k]) for k in _CAPTURE_KEYS}},
                sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            entry_hash = ledger.chain_hash(prev, payload)
            entries.append({"table_name": "captures", "row_id": str(row["id"]), "action": "insert",
                            "payload": payload, "prev_hash": prev, "entry_hash": entry_hash,
                            "recorded_at": now})
            prev = entry_hash
        self._session.execute(insert(_LEDGER), entries)

    def _file_opened(self, name: str, warcinfo_id: str, opened_at: dt.datetime) -> None:
        row = WarcFile(name=name, run_id=self.run_id, warcinfo_id=warcinfo_id,
                       opened_at=opened_at, gzip_level=self.config.gzip_level)
        self._session.add(row)
        self._session.flush()
        ledger.append(self._session, [row])
        self._files[name] = row

    def _file_closed(self, closed: ClosedFile) -> None:
        row = self._files[closed.name]
        row.size, row.sha256, row.closed_at = closed.size, closed.sha256, closed.closed_at
        self._session.flush()
        ledger.append(self._session, [row], action="update")
        self.stats.warc_bytes += closed.size
