"""The WARC writer process: it builds, compresses and appends the records of the fetches
a crawl sends it, fsyncs them, and reports where each record landed.

A crawl runs its Scrapy reactor on one core; a writer *thread* beside it competes for
the same interpreter lock and, coming back from every zlib, hashlib or write call,
waits for the reactor to give the lock up (BENCHMARKS.md measured 1.5 ms of work taking
6 ms of wall time). In its own process the writer uses the second core instead, and
the crawl process only copies each fetch into a pipe.

This process imports warcio, zlib-ng and the database driver, not SQLAlchemy or Scrapy
(it stays ~22 MB). After each fsync it commits the batch's capture rows and their ledger
entries itself (`crawler.capture.rows`): a capture row exists only when its bytes are on
disk, and the crawl process, whose reactor shares one interpreter lock with anything
else it runs, does no database work per fetch. `crawler.capture.recorder` starts it (`main()`)
with both pipes attached:

  stdin  (from the crawl): frames of `!QQ` (meta length, body length), the pickled
         meta, then the raw body. The first meta is the `WriterSetup`; then one `Fetch`
         per frame, its field values as a pickled list with an empty body and the body
         after it (no copy into the pickle); a meta length of 0 asks to finish: sync,
         close the file, say "done".
  stdout (to the crawl): frames of `!Q` and a pickled event:
         ("opened", name, warcinfo record id, opened at)   a WARC file was started
         ("closed", ClosedFile)                             a file was finished, renamed,
                                                            and its row committed
         ("done", WriterStats)                              all of it, in that order
         ("error", message)                                 then the process exits 1
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import operator
import os
import pickle
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from crawler.capture.rows import DatabasePlan, DatabaseWriteError, ProvenanceWriter
from crawler.warc.records import Fetch, build_records
from crawler.warc.write import ClosedFile, RotatingWarcWriter

log = logging.getLogger(__name__)

FETCH_HEADER = struct.Struct("!QQ")
EVENT_HEADER = struct.Struct("!Q")
READ_SIZE = 1 << 18  # bytes asked of the pipe per read (a larger frame: all of it at once)
PIPE_SIZE = 1 << 20  # asked of the kernel for the pipe into this process (Linux)


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
class Written:
    """One fetch written to the WARC file: its capture row, without the database ids
    (`warc_file` and `outlet` are names here; `crawler.capture.rows` resolves them)."""

    key: str
    row: dict[str, Any]
    origin: str | None  # key of the redirect this fetch followed, if that was written
    redirect: bool


@dataclass
class WriterStats:
    fetches: int = 0
    failures: int = 0
    payload_bytes: int = 0
    records: int = 0
    sync_seconds: float = 0.0  # spent waiting for fsync (the disk), in this process
    commits: int = 0  # database transactions of capture rows (one per fsynced batch)
    commit_seconds: float = 0.0  # spent committing them (the database's fsync included)


@dataclass
class FrameReader:
    """Reads length-prefixed frames from a pipe, with a deadline, without a thread."""

    fd: int
    _buf: bytearray = field(default_factory=bytearray)
    _pos: int = 0

    def _fill(self, size: int, deadline: float | None) -> bool:
        """Buffer at least `size` unread bytes; False if the deadline passed first."""
        while len(self._buf) - self._pos < size:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return False
            if self._pos and self._pos >= len(self._buf) // 2:
                del self._buf[:self._pos]
                self._pos = 0
            chunk = os.read(self.fd, max(READ_SIZE, size - (len(self._buf) - self._pos)))
            if not chunk:
                raise EOFError("the pipe was closed")
            self._buf += chunk
        return True

    def take(self, size: int) -> bytes:
        """`size` bytes, which must be buffered (`_fill`)."""
        data = bytes(self._buf[self._pos:self._pos + size])
        self._pos += size
        return data

    def frame(self, header: struct.Struct, deadline: float | None = None
              ) -> tuple[int, ...] | None:
        """The next frame header's fields, with all its bytes buffered; None on timeout."""
        if not self._fill(header.size, deadline):
            return None
        fields = header.unpack_from(self._buf, self._pos)
        if not self._fill(header.size + sum(fields), deadline):
            return None
        self._pos += header.size
        return fields


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte is taken (a pipe takes at most its free space)."""
    with memoryview(data) as view:
        while view:
            view = view[os.write(fd, view):]


#: a Fetch travels as the list of its field values (pickling the dataclass itself costs
#: several times more on the reactor thread), its body apart and uncopied
_FIELDS = tuple(f.name for f in fields(Fetch))
_BODY = _FIELDS.index("body")
_values = operator.attrgetter(*_FIELDS)


def send_fetch(fd: int, fetch: Fetch) -> None:
    """One fetch into the writer's pipe: its other fields pickled, then its body, in one
    system call when the pipe has room."""
    values = list(_values(fetch))
    body = values[_BODY]
    values[_BODY] = b""
    meta = pickle.dumps(values, pickle.HIGHEST_PROTOCOL)
    head = FETCH_HEADER.pack(len(meta), len(body)) + meta
    sent = os.writev(fd, [head, body])
    if sent < len(head):
        write_all(fd, memoryview(head)[sent:])
        sent = len(head)
    if sent - len(head) < len(body):
        write_all(fd, memoryview(body)[sent - len(head):])


def fetch_from(meta: bytes, body: bytes) -> Fetch:
    values = pickle.loads(meta)
    values[_BODY] = body
    return Fetch(*values)


def send_setup(fd: int, setup: WriterSetup) -> None:
    meta = pickle.dumps(setup, pickle.HIGHEST_PROTOCOL)
    write_all(fd, FETCH_HEADER.pack(len(meta), 0) + meta)


def send_stop(fd: int) -> None:
    write_all(fd, FETCH_HEADER.pack(0, 0))


def send_event(fd: int, event: tuple[Any, ...]) -> None:
    data = pickle.dumps(event, pickle.HIGHEST_PROTOCOL)
    write_all(fd, EVENT_HEADER.pack(len(data)) + data)


def read_event(reader: FrameReader) -> tuple[Any, ...]:
    """The writer process's next event (EOFError when it has closed its end)."""
    fields = reader.frame(EVENT_HEADER)
    assert fields is not None  # no deadline
    return tuple(pickle.loads(reader.take(fields[0])))


def grow_pipe(fd: int) -> None:
    """Ask for a 1 MB pipe buffer (Linux; elsewhere, or refused, the default stays)."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    except (ImportError, OSError):
        pass


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
        self.writer = RotatingWarcWriter(
            config.archive_dir, prefix=config.prefix, max_size=config.max_file_size,
            gzip_level=config.gzip_level, warcinfo=setup.warcinfo,
            on_open=self.file_opened, on_close=self.file_closed,
        )

    def file_opened(self, name: str, warcinfo_id: str, opened_at: dt.datetime) -> None:
        self.db.file_opened(name, warcinfo_id, opened_at)
        self.emit(("opened", name, warcinfo_id, opened_at))

    def file_closed(self, closed: ClosedFile) -> None:
        try:
            self.db.file_closed(closed.name, size=closed.size, sha256=closed.sha256,
                                closed_at=closed.closed_at)
        except Exception as exc:
            raise DatabaseWriteError(
                f"recording the closed WARC file {closed.name} in the provenance database: "
                f"{type(exc).__name__}: {exc}") from exc
        self.emit(("closed", closed))

    def emit(self, event: tuple[Any, ...]) -> None:
        send_event(self.events, event)

    def run(self, reader: FrameReader) -> None:
        """Until the stop frame: write fetches, and every `batch_records` fetches or
        `batch_seconds` (whichever first) fsync and commit the batch."""
        deadline = time.monotonic() + self.config.batch_seconds
        while True:
            fields = reader.frame(FETCH_HEADER, deadline)
            if fields is not None:
                meta_size, body_size = fields
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
        self.emit(("done", self.stats))

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
        where = self.pending[-1].row["warc_file"]
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
        row: dict[str, Any] = {
            "seed_id": fetch.seed_id, "outlet": fetch.outlet,
            "requested_url": fetch.requested_url or fetch.url, "url": fetch.url,
            "redirect_location": fetch.redirect_location, "redirect_from_id": None,
            "role": fetch.role, "hops": fetch.hops, "via_url": fetch.via_url,
            "fetched_at": fetch.fetched_at, "status": fetch.status, "protocol": fetch.protocol,
            "ip_address": fetch.ip_address, "error": fetch.error,
            "warc_file": meta.filename,
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
            self.redirect_records[fetch.key] = locations[0].record_id
        self.stats.fetches += 1
        self.stats.records += len(locations)
        self.pending.append(Written(fetch.key, row, origin if origin_record else None, redirect))


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
        fields = reader.frame(FETCH_HEADER)
        assert fields is not None
        setup: WriterSetup = pickle.loads(reader.take(fields[0]))
        logging.basicConfig(level=setup.log_level, stream=sys.stderr,
                            format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")
        process = WarcProcess(setup, events)
        profile_to = os.environ.get("CRAWLER_WRITER_PROFILE")  # bench/writer.py --profile
        if profile_to:
            import cProfile

            cProfile.runctx("process.run(reader)", globals(), locals(), profile_to)
        else:
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
            send_event(events, ("error", f"{type(exc).__name__}: {exc}"))
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
