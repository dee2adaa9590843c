"""The recorder: one writer thread that turns fetches into WARC records and rows.

The reactor thread only queues `Fetch` values (`submit`). The writer thread builds
and compresses the records, appends them, and every `batch_records` fetches or
`batch_seconds` (whichever first) flushes and fsyncs the WARC file and only then
commits the batch's capture rows and their ledger entries in one transaction: a
capture row exists only when its bytes are on disk. Nothing here imports Scrapy.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from crawler import ledger
from crawler.errors import ArchiveError
from crawler.fetch_records import Fetch, build_records
from crawler.models import Capture, CrawlRun, Outlet, WarcFile
from crawler.warc_write import ClosedFile, RotatingWarcWriter

log = logging.getLogger(__name__)
_STOP = object()


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
        self._pending: list[Capture] = []
        self._redirects: dict[str, Capture] = {}
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
            while True:  # keep draining so the reactor never blocks on a full queue
                if self._queue.get() is _STOP:
                    return

    def _write(self, fetch: Fetch) -> None:
        origin = self._redirects.pop(fetch.redirect_from_key, None) if fetch.redirect_from_key else None
        built = build_records(
            self.writer.builder, fetch, run_uuid=self.run_uuid, software=self.config.software,
            redirect_from_record=origin.warc_record_id if origin else None,
        )
        locations = [self.writer.append(record) for record in built.records]
        warc_file = self._files[self.writer.file.name]
        capture = Capture(
            run_id=self.run_id, seed_id=fetch.seed_id, outlet_id=self._outlet_id(fetch.outlet),
            requested_url=fetch.requested_url or fetch.url, url=fetch.url,
            redirect_location=fetch.redirect_location, redirect_from=origin,
            role=fetch.role, hops=fetch.hops, via_url=fetch.via_url, fetched_at=fetch.fetched_at,
            status=fetch.status, protocol=fetch.protocol, ip_address=fetch.ip_address,
            error=fetch.error, warc_file=warc_file,
        )
        meta = locations[-1]
        capture.metadata_record_id, capture.metadata_offset, capture.metadata_length = (
            meta.record_id, meta.offset, meta.length)
        if not fetch.failed:
            response, request = built.records[0], built.records[1]
            headers = dict((n.lower(), v) for n, v in fetch.response_headers)
            capture.content_type = headers.get("content-type")
            capture.content_encoding = headers.get("content-encoding")
            capture.payload_length = len(fetch.body)
            capture.payload_sha256 = built.payload_sha256
            capture.warc_payload_digest = response.rec_headers.get_header("WARC-Payload-Digest")
            capture.warc_block_digest = response.rec_headers.get_header("WARC-Block-Digest")
            capture.warc_record_id = locations[0].record_id
            capture.response_offset, capture.response_length = locations[0].offset, locations[0].length
            capture.request_record_id = request.rec_headers.get_header("WARC-Record-ID")
            capture.request_offset, capture.request_length = locations[1].offset, locations[1].length
            self.stats.payload_bytes += len(fetch.body)
        else:
            self.stats.failures += 1
        if fetch.status is not None and 300 <= fetch.status < 400 and fetch.redirect_location:
            self._redirects[fetch.key] = capture
        self.stats.fetches += 1
        self.stats.records += len(locations)
        self._pending.append(capture)

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
        self._session.add_all(self._pending)
        self._session.flush()
        ledger.append(self._session, self._pending)
        self._session.commit()
        self.stats.commits += 1
        self._pending = []

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
