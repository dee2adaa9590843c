"""Writing WARC 1.1 files with warcio: one gzip member per record, warcinfo first,
written as `*.warc.gz.open` and renamed when closed, rotated at a size limit.

Records are built by crawler.warc.records (warcio's record objects; uuid4 record ids
and digests from one hashlib call over the body, crawler.digests) and serialised
uncompressed; this module compresses each at a chosen gzip level (warcio always uses
level 9, the slowest) and appends it, hashing the file as it goes so a
closed file's SHA-256 costs no second read. Nothing here imports Scrapy.

Compression uses zlib-ng when it is installed (the same gzip format, 3-5x faster at
the same level and ratio) and the standard zlib otherwise; warcinfo names which. A
response whose payload does not compress (a 4 KB probe from its middle saves under
3 % at level 1: JPEG, PNG, WOFF2, content-encoded bodies) is stored in its member at
level 0 instead of being deflated again for nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

try:  # the same gzip members, several times faster
    from zlib_ng import zlib_ng as deflate

    DEFLATE_LIBRARY = f"zlib-ng {deflate.ZLIBNG_VERSION}"
except ImportError:  # pragma: no cover - depends on the install
    import zlib as deflate  # type: ignore[no-redef]

    DEFLATE_LIBRARY = f"zlib {deflate.ZLIB_RUNTIME_VERSION}"

log = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


@dataclass(frozen=True)
class RecordLocation:
    """Where one record lies: file (final name), offset and length of its gzip member."""

    filename: str
    offset: int
    length: int
    record_id: str


@dataclass(frozen=True)
class ClosedFile:
    name: str
    size: int
    sha256: str
    closed_at: dt.datetime


class _Serializer(WARCWriter):
    """warcio's writer, uncompressed, into a reusable buffer."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        super().__init__(self._buf, gzip=False, warc_version=WARC_VERSION)

    def to_bytes(self, record: ArcWarcRecord) -> bytes:
        self._buf.seek(0)
        self._buf.truncate()
        self.write_record(record)
        return self._buf.getvalue()


PROBE = 4096
WRITE_BUFFER = 1 << 18


def incompressible(payload: bytes) -> bool:
    """True when deflating `payload` would gain under 3 % (judged on 4 KB from its middle)."""
    if len(payload) < 2 * PROBE:
        return False
    middle = len(payload) // 2
    probe = payload[middle:middle + PROBE]
    return len(deflate.compress(probe, 1)) > 0.97 * len(probe)


def sealed_bytes(record: ArcWarcRecord) -> bytes | None:
    """The serialised record, when its headers are final (`crawler.warc.records.sealed_record`:
    digests, Content-Type and Content-Length set, HTTP head serialised): one join
    instead of warcio's chunked copy. None for any other record (warcio writes it)."""
    rec_headers = record.rec_headers
    length = rec_headers.get_header("Content-Length")
    if (length is None or not rec_headers.get_header("WARC-Block-Digest")
            or not isinstance(record.raw_stream, io.BytesIO)):
        return None
    http = record.http_headers
    head = b"" if http is None else http.headers_buff
    if head is None:
        return None
    body = record.raw_stream.getvalue()
    if int(length) != len(head) + len(body):
        raise ValueError(f"record {rec_headers.get_header('WARC-Record-ID')}: Content-Length "
                         f"{length} is not its {len(head) + len(body)} bytes")
    return b"".join((rec_headers.to_bytes(encoding="utf-8"), head, body, b"\r\n\r\n"))


def warc_filename(*, prefix: str, when: dt.datetime, serial: int, hostname: str, pid: int) -> str:
    """`<prefix>-<UTC timestamp, 17 digits>-<serial>-<hostname>-<pid>.warc.gz` (Heritrix style)."""
    stamp = when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S%f")[:17]
    safe_host = "".join(c if c.isalnum() or c in ".-" else "_" for c in hostname)
    return f"{prefix}-{stamp}-{serial:05d}-{safe_host}-{pid}.warc.gz"


class WarcFile:
    """One WARC file being written, by one writer (the WARC writer process); not thread-safe."""

    def __init__(self, directory: Path, name: str, *, gzip_level: int) -> None:
        self.name = name
        self.final_path = directory / name
        self.open_path = directory / (name + ".open")
        if self.final_path.exists() or self.open_path.exists():
            raise FileExistsError(f"WARC file {self.final_path} already exists")
        self._fh = open(self.open_path, "xb", buffering=0)  # noqa: SIM115 - kept open for the run
        self._gzip_level = gzip_level
        self._sha256 = hashlib.sha256()
        # members wait here and go to the file (and the file's SHA-256) in writes of
        # WRITE_BUFFER bytes rather than two calls per record (256 KiB: 1 MiB cost the
        # writer process 1 MB more memory; BENCHMARKS.md, "Stop 11")
        self._buffer = bytearray()
        self.size = 0
        self.serializer = _Serializer()

    def append(self, record: ArcWarcRecord) -> RecordLocation:
        level = self._gzip_level
        if (record.rec_type == "response" and isinstance(record.raw_stream, io.BytesIO)
                and incompressible(record.raw_stream.getvalue())):
            level = 0
        data = sealed_bytes(record) or self.serializer.to_bytes(record)
        compressor = deflate.compressobj(level, deflate.DEFLATED, deflate.MAX_WBITS + 16)
        member = compressor.compress(data) + compressor.flush()
        offset = self.size
        self._buffer += member
        if len(self._buffer) >= WRITE_BUFFER:
            self._drain()
        self.size += len(member)
        record_id = record.rec_headers.get_header("WARC-Record-ID")
        return RecordLocation(self.name, offset, len(member), record_id)

    def _drain(self) -> None:
        self._sha256.update(self._buffer)
        written = 0
        with memoryview(self._buffer) as whole:
            while written < len(whole):  # unbuffered file: write until all of it is taken
                written += self._fh.write(whole[written:]) or 0
        self._buffer.clear()

    def sync(self) -> None:
        """Write and fsync: after this, every appended record is on disk."""
        self._drain()
        os.fsync(self._fh.fileno())

    def close(self) -> ClosedFile:
        self.sync()
        self._fh.close()
        os.replace(self.open_path, self.final_path)
        _fsync_dir(self.final_path.parent)
        return ClosedFile(self.name, self.size, self._sha256.hexdigest(), dt.datetime.now(dt.UTC))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RotatingWarcWriter:
    """Opens WARC files in turn, each beginning with a warcinfo record.

    `on_open(name, warcinfo_id, opened_at)` and `on_close(ClosedFile)` let the caller
    record files in the database.
    """

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str,
        max_size: int,
        gzip_level: int,
        warcinfo: Mapping[str, str],
        on_open: Callable[[str, str, dt.datetime], None] | None = None,
        on_close: Callable[[ClosedFile], None] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        hostname: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.gzip_level = gzip_level
        self.warcinfo = dict(warcinfo)
        self.on_open = on_open
        self.on_close = on_close
        self.clock = clock
        self.hostname = hostname or socket.gethostname()
        self.serial = 0
        self.current: WarcFile | None = None

    def _open(self) -> WarcFile:
        opened_at = self.clock()
        name = warc_filename(
            prefix=self.prefix, when=opened_at, serial=self.serial,
            hostname=self.hostname, pid=os.getpid(),
        )
        self.serial += 1
        warc = WarcFile(self.directory, name, gzip_level=self.gzip_level)
        info = dict(self.warcinfo)
        info["gzip-level"] = str(self.gzip_level)
        info["gzip-library"] = DEFLATE_LIBRARY
        info["gzip-stored"] = "responses whose payload does not compress are stored (level 0)"
        record = warc.serializer.create_warcinfo_record(name, info)
        location = warc.append(record)
        log.info("opened WARC file %s", warc.open_path)
        if self.on_open:
            self.on_open(name, location.record_id, opened_at)
        return warc

    @property
    def file(self) -> WarcFile:
        if self.current is None:
            self.current = self._open()
        return self.current

    def append(self, record: ArcWarcRecord) -> RecordLocation:
        return self.file.append(record)

    @property
    def builder(self) -> WARCWriter:
        """A warcio record builder (WARC/1.1) for records to append."""
        return self.file.serializer

    def needs_rotation(self) -> bool:
        return self.current is not None and self.current.size >= self.max_size

    def sync(self) -> None:
        if self.current is not None:
            self.current.sync()

    def close_current(self) -> ClosedFile | None:
        if self.current is None:
            return None
        closed = self.current.close()
        self.current = None
        log.info("closed WARC file %s (%d bytes, sha256 %s)",
                 closed.name, closed.size, closed.sha256)
        if self.on_close:
            self.on_close(closed)
        return closed
