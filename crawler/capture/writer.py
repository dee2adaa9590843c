"""The WARC writer process: it builds, compresses and appends the records of the fetches
a crawl sends it, fsyncs them, and reports where each record landed.

A crawl runs its Scrapy reactor on one core; a writer *thread* beside it competes for
the same interpreter lock and, coming back from every zlib, hashlib or write call,
waits for the reactor to give the lock up (BENCHMARKS.md measured 1.5 ms of work taking
6 ms of wall time). In its own process the writer uses the second core instead, and
the crawl process only copies each fetch into a pipe.

This process imports warcio, zlib-ng and the database driver, not SQLAlchemy or Scrapy
(about 24 MB idle, 27 MB at 50,000 fetches: bench/writer.py). After each fsync it
commits the batch's capture rows and their ledger entries itself
(`crawler.capture.rows`): a capture row exists only when its bytes are on disk, and the
crawl process, whose reactor shares one interpreter lock with anything else it runs,
does no database work per fetch. `crawler.capture.recorder` starts it
(`main()`) with both pipes attached; what travels on them is `crawler.capture.pipe`'s.
Its settings are the ARCHIVE_* ones the crawl sends in `WriterConfig`.

A capture row holds every column of `captures`: the `RecordValues` of the records
written here, every other column but the database's ids from the Fetch field of the same
name (`crawler.capture.rows.capture_columns`), and the ids `crawler.capture.rows` fills in.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import operator
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from crawler.capture.pipe import (
    FETCH_HEADER,
    Closed,
    Done,
    Event,
    Failed,
    FrameReader,
    Opened,
    fetch_from,
    read_setup,
    send_event,
)
from crawler.capture.rows import (
    DatabasePlan,
    DatabaseWriteError,
    ProvenanceWriter,
    RecordValues,
    Written,
    capture_columns,
)
from crawler.warc.records import Fetch, build_records
from crawler.warc.write import ClosedFile, RotatingWarcWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriterConfig:
    """How the archive is written (the ARCHIVE_* settings; `crawler.capture.middleware`)."""

    archive_dir: Path
    prefix: str
    max_file_size: int
    gzip_level: int
    batch_records: int
    batch_seconds: float
    software: str


@dataclass(frozen=True)
class WriterSetup:
    """What the writer process needs to know, sent as its first frame."""

    config: WriterConfig
    run_uuid: str
    warcinfo: dict[str, str]
    database: DatabasePlan
    log_level: int = logging.WARNING


@dataclass
class WriterStats:
    fetches: int = 0
    failures: int = 0
    payload_bytes: int = 0
    records: int = 0
    sync_seconds: float = 0.0  # spent waiting for fsync (the disk), in this process
    commits: int = 0  # database transactions of capture rows (one per fsynced batch)
    commit_seconds: float = 0.0  # spent committing them (the database's fsync included)


class WarcProcess:
    """The loop of the writer process: fetches in, records out, events back."""

    def __init__(self, setup: WriterSetup, events: int) -> None:
        self.setup = setup
        self.config = config = setup.config
        self.events = events
        self.stats = WriterStats()
        self.pending: list[Written] = []
        self.redirect_records: dict[str, str] = {}  # key of a redirect -> its record id
        self.db = ProvenanceWriter(setup.database, gzip_level=config.gzip_level)
        columns = capture_columns(setup.database.captures.shape.keys)
        self.from_fetch = columns  # the capture columns that are Fetch fields
        take = operator.attrgetter(*columns)
        self._take = take if len(columns) > 1 else lambda fetch: (take(fetch),)
        self.writer = RotatingWarcWriter(
            config.archive_dir, prefix=config.prefix, max_size=config.max_file_size,
            gzip_level=config.gzip_level, warcinfo=setup.warcinfo,
            on_open=self.file_opened, on_close=self.file_closed,
        )

    def file_opened(self, name: str, warcinfo_id: str, opened_at: dt.datetime) -> None:
        self.db.file_opened(name, warcinfo_id, opened_at)
        self.emit(Opened(name, warcinfo_id, opened_at))

    def file_closed(self, closed: ClosedFile) -> None:
        try:
            self.db.file_closed(closed.name, size=closed.size, sha256=closed.sha256,
                                closed_at=closed.closed_at)
        except Exception as exc:
            raise DatabaseWriteError(
                f"recording the closed WARC file {closed.name} in the provenance database: "
                f"{type(exc).__name__}: {exc}") from exc
        self.emit(Closed(closed))

    def emit(self, event: Event) -> None:
        send_event(self.events, event)

    def run(self, reader: FrameReader) -> None:
        """Until the stop frame: write fetches, and every `batch_records` fetches or
        `batch_seconds` (whichever first) fsync and commit the batch."""
        deadline = time.monotonic() + self.config.batch_seconds
        while True:
            sizes = reader.frame(FETCH_HEADER, deadline)
            if sizes is not None:
                meta_size, body_size = sizes
                if meta_size == 0:
                    self.finish()
                    return
                meta = reader.take(meta_size)
                self.write(fetch_from(meta, reader.take(body_size) if body_size else b""))
            due = time.monotonic() >= deadline
            if self.pending and (due or len(self.pending) >= self.config.batch_records):
                self.sync()
            if due or not self.pending:
                deadline = time.monotonic() + self.config.batch_seconds
            if self.writer.needs_rotation():
                self.sync()
                self.writer.close_current()

    def finish(self) -> None:
        self.close()
        self.emit(Done(self.stats))

    def close(self) -> None:
        """Commit what is pending, close (and record) the WARC file, let go of the
        database."""
        self.sync()
        self.writer.close_current()
        self.db.close()

    def sync(self) -> None:
        """fsync the WARC file, then commit the pending rows (crawler.capture.rows)."""
        if not self.pending:
            return
        began = time.perf_counter()
        self.writer.sync()
        synced = time.perf_counter()
        self.stats.sync_seconds += synced - began
        where = self.pending[-1].warc_file
        try:
            self.db.commit(self.pending)
        except Exception as exc:
            raise DatabaseWriteError(
                f"committing {len(self.pending)} capture rows to the provenance database "
                f"(their records are fsynced in {where}): {type(exc).__name__}: {exc}"
            ) from exc
        self.stats.commit_seconds += time.perf_counter() - synced
        self.stats.commits += 1
        self.pending = []

    def write(self, fetch: Fetch) -> None:
        origin = fetch.redirect_from_key
        origin_record = self.redirect_records.pop(origin, None) if origin else None
        built = build_records(
            self.writer.builder, fetch, run_uuid=self.setup.run_uuid,
            software=self.config.software, redirect_from_record=origin_record,
        )
        locations = [self.writer.append(record) for record in built.records]
        meta = locations[-1]
        if fetch.failed:
            values = RecordValues(meta.record_id, meta.offset, meta.length)
            self.stats.failures += 1
        else:
            response, request = locations[0], locations[1]
            content_type = content_encoding = None
            for name, value in fetch.response_headers:  # the last of repeated headers wins
                lower = name.lower()
                if lower == "content-type":
                    content_type = value
                elif lower == "content-encoding":
                    content_encoding = value
            headers = built.records[0].rec_headers
            values = RecordValues(
                meta.record_id, meta.offset, meta.length,
                warc_record_id=response.record_id, response_offset=response.offset,
                response_length=response.length, request_record_id=request.record_id,
                request_offset=request.offset, request_length=request.length,
                content_type=content_type, content_encoding=content_encoding,
                payload_length=len(fetch.body), payload_sha256=built.payload_sha256,
                warc_payload_digest=headers.get_header("WARC-Payload-Digest"),
                warc_block_digest=headers.get_header("WARC-Block-Digest"))
            self.stats.payload_bytes += len(fetch.body)
        row = dict(zip(self.from_fetch, self._take(fetch), strict=True))
        row["requested_url"] = fetch.requested_url or fetch.url
        row.update(values._asdict())
        redirect = bool(fetch.status is not None and 300 <= fetch.status < 400
                        and fetch.redirect_location)
        if redirect:
            self.redirect_records[fetch.key] = locations[0].record_id
        self.stats.fetches += 1
        self.stats.records += len(locations)
        self.pending.append(Written(fetch.key, row, fetch.outlet, meta.filename,
                                    origin if origin_record else None, redirect))


def main() -> int:
    # the crawl decides when to stop (Ctrl-C reaches the whole process group: Scrapy
    # closes gracefully and then sends the stop frame; a SIGINT here would lose records)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    events = os.dup(1)  # events get a private descriptor; stray prints go to stderr
    os.dup2(2, 1)
    reader = FrameReader(0)
    process: WarcProcess | None = None
    try:
        setup: WriterSetup = read_setup(reader)
        logging.basicConfig(level=setup.log_level, stream=sys.stderr,
                            format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
        process = WarcProcess(setup, events)
        process.run(reader)
        return 0
    except EOFError:
        # the crawl went away without the stop frame (killed, out of memory): commit what
        # was written and close the file as a finished crawl would; the run row stays
        # open, without a ledger head (`crawler verify` reports it unfinished)
        log.error("the crawl process closed the pipe without finishing: committing what "
                  "was written and closing the WARC file")
        if process is not None:
            try:
                process.close()
            except Exception:  # noqa: BLE001 - keep the file even so
                log.exception("could not commit the last rows: the WARC file is kept")
                with contextlib.suppress(Exception):
                    _keep_file(process)
        return 1
    except BaseException as exc:  # noqa: BLE001 - reported to the crawl, then exit 1
        log.exception("WARC writer process failed")
        with contextlib.suppress(OSError):  # the crawl may be gone too
            send_event(events, Failed(f"{type(exc).__name__}: {exc}"))
        with contextlib.suppress(Exception):  # as much as can be kept (disk full, ...)
            _keep_file(process)
        return 1


def _keep_file(process: WarcProcess | None) -> None:
    """fsync, close and rename the WARC file being written, without recording it (the
    database failed): its records are whole (each is appended whole), and
    `crawler reindex` can read it."""
    if process is None:
        return
    process.writer.sync()
    process.writer.on_close = None
    process.writer.close_current()
    process.db.close()


if __name__ == "__main__":
    sys.exit(main())
