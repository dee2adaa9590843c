"""Walking a whole WARC file once, in order: file hash, gzip members, records, digests.

`scan_file(path)` reads the file sequentially in 1 MiB blocks and never holds more
than one block of compressed input and a few MiB of inflated output: it hashes the
file as it reads (SHA-256 and size), inflates one gzip member after another
(noting each member's offset and length, and whether it is whole — `warcio check`
accepts a truncated file), parses the WARC record inside each member and
recomputes its block and payload digests as the bytes go by. It trusts nothing it
does not recompute: the result is what the bytes say, for `crawler.audit.verify` to
compare with headers and database. A corrupt member is reported and scanning
resumes at the next gzip header. Plain (uncompressed) WARC files are not accepted
here: the crawler writes one gzip member per record.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, cast

from warcio.statusandheaders import StatusAndHeaders

from crawler.digests import label
from crawler.warc.heads import parse_head

try:  # the same gzip members, inflated 1.5-3x faster (as crawler.warc.write writes them)
    from zlib_ng import zlib_ng as inflate
except ImportError:  # pragma: no cover - zlib-ng is a dependency; zlib still works
    import zlib as inflate  # type: ignore[no-redef]

INFLATE_ERROR = cast("type[Exception]", inflate.error)  # zlib-ng's stub: an instance

READ_BLOCK = 1 << 20
WARC_START = b"WARC/"  # what every record's inflated member begins with
MAX_OUTPUT = 4 << 20
FIRST_WINDOW = 16 << 10  # compressed bytes offered to a new member's inflater at first
MAX_HEAD = 1 << 20  # WARC or HTTP header block larger than this is refused
KEEP_BODY = 1 << 20  # metadata/warcinfo bodies up to this size are kept for parsing
GZIP_MAGIC = b"\x1f\x8b\x08"


class ScannedRecord(NamedTuple):
    """One gzip member and the WARC record in it, with digests recomputed from bytes.
    A NamedTuple: one is made per record, and a frozen dataclass's __init__ cost ~4 %
    of a verify worker's time."""

    offset: int
    length: int
    warc_headers: StatusAndHeaders | None
    http_headers: StatusAndHeaders | None = None
    block_length: int = 0
    block_digest: str | None = None  # algorithm of the WARC-Block-Digest header, or sha1
    payload_digest: str | None = None  # likewise for WARC-Payload-Digest
    payload_sha256: str | None = None
    payload_length: int | None = None
    body: bytes | None = None  # warcinfo and metadata bodies (small)
    errors: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        return self.warc_headers.get_header(name) if self.warc_headers is not None else None

    @property
    def record_id(self) -> str | None:
        return self.header("WARC-Record-ID")

    @property
    def record_type(self) -> str | None:
        return self.header("WARC-Type")


@dataclass
class FileScan:
    """What a walk over a file, or over one part of it (`scan_file`'s start and stop),
    found. `sha256`/`size` are the whole file's, set once a walk from offset 0 ends;
    `began`/`ended` are where the walk's first gzip member started and where the member
    after its last one starts (the file's size at its end): parts of a file join up
    when each part began where the one before it ended."""

    path: Path
    sha256: str = ""
    size: int = 0
    truncated_at: int | None = None
    corrupt: list[tuple[int, str]] = field(default_factory=list)
    began: int = 0
    ended: int = 0


_NEW_HASH: dict[str, Callable[[], Any]] = {"sha1": hashlib.sha1, "sha256": hashlib.sha256,
                                           "md5": hashlib.md5, "sha512": hashlib.sha512}


def _new_hash(header: str | None) -> Any:
    """A hash object for the algorithm a digest header names (sha1 when it names none
    or one hashlib does not have)."""
    name = (header or "sha1:").partition(":")[0].lower().replace("-", "")
    new = _NEW_HASH.get(name)
    if new is not None:
        return new()
    return hashlib.new(name if name in hashlib.algorithms_available else "sha1")


class _HashingReader:
    """Sequential reads that hash every byte of the file exactly once, in order, when
    hashing (a walk from offset 0); `on_bytes` is told of the bytes first read within
    [start, stop), so that the parts of one file add up to its size."""

    def __init__(self, fh: BinaryIO, on_bytes: Callable[[int], None] | None, *,
                 hashing: bool = True, start: int = 0, stop: int | None = None) -> None:
        self.fh = fh
        self.sha = hashlib.sha256() if hashing else None
        self.pos = 0
        self.hashed = 0
        self.on_bytes = on_bytes
        self.reported, self.stop = start, stop

    def read(self, n: int = READ_BLOCK) -> bytes:
        data = self.fh.read(n)
        end = self.pos + len(data)
        if self.sha is not None and end > self.hashed:
            if self.pos == self.hashed:
                self.sha.update(data)
            else:
                self.sha.update(memoryview(data)[self.hashed - self.pos:])
            self.hashed = end
        if self.on_bytes is not None:
            upto = end if self.stop is None else min(end, self.stop)
            if upto > self.reported:
                self.on_bytes(upto - self.reported)
                self.reported = upto
        self.pos = end
        return data

    def seek(self, offset: int) -> None:
        self.fh.seek(offset)
        self.pos = offset

    def finish(self) -> tuple[str, int]:
        """The whole file's SHA-256 and size: reads on from the last byte hashed."""
        assert self.sha is not None
        self.seek(self.hashed)
        self.on_bytes = None  # what lies beyond this walk's stop is another part's
        while self.read():
            pass
        return self.sha.hexdigest(), self.hashed


class _RecordParser:
    """Push parser of one WARC record: head, block (hashed as it arrives), CRLFCRLF.

    Fed the inflated bytes of one gzip member in pieces (usually the whole record at
    once); it hashes slices of what it is given through memoryviews, so a record's
    bytes are not copied on their way to the hashes. One per record: slots.
    """

    __slots__ = ("head", "state", "warc", "http", "remaining", "block_length", "block_hash",
                 "payload_hash", "payload_sha256", "payload_length", "http_head",
                 "expects_http", "body", "tail", "tail_bytes", "errors")

    def __init__(self) -> None:
        self.head = b""
        self.state = "head"
        self.warc: StatusAndHeaders | None = None
        self.http: StatusAndHeaders | None = None
        self.remaining = 0
        self.block_length = 0
        self.block_hash: Any = None
        self.payload_hash: Any = None
        self.payload_sha256: Any = None
        self.payload_length = 0
        self.http_head = bytearray()
        self.expects_http = False
        self.body: bytearray | None = None
        self.tail = b""
        self.tail_bytes = 0
        self.errors: list[str] = []

    def feed(self, data: bytes) -> None:
        if not data:
            return
        pos = 0
        if self.state == "head":
            if self.head:
                data = self.head + data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > MAX_HEAD:
                    raise ValueError("no end of WARC header block within 1 MiB")
                self.head = data
                return
            self.head = b""
            self._start_block(data[: end + 4])
            pos = end + 4
        if self.state == "block" and pos < len(data):
            stop = min(len(data), pos + self.remaining)
            self._block(data, pos, stop)
            self.remaining -= stop - pos
            pos = stop
            if self.remaining == 0:
                self.state = "tail"
        if self.state == "tail" and pos < len(data):
            self.tail_bytes += len(data) - pos
            if len(self.tail) < 16:
                self.tail += data[pos: pos + 16 - len(self.tail)]

    def _start_block(self, head: bytes) -> None:
        self.warc = parse_head(head)
        if not self.warc.protocol.startswith("WARC/"):
            raise ValueError(f"not a WARC record: first line {self.warc.protocol!r}")
        length = self.warc.get_header("Content-Length")
        if length is None or not length.strip().isdigit():
            raise ValueError(f"WARC header Content-Length is {length!r}")
        self.remaining = int(length)
        self.block_hash = _new_hash(self.warc.get_header("WARC-Block-Digest"))
        ctype = (self.warc.get_header("Content-Type") or "").lower()
        rtype = (self.warc.get_header("WARC-Type") or "").lower()
        self.expects_http = (rtype in ("response", "request", "revisit")
                             and "application/http" in ctype)
        # the payload of a non-HTTP record is its whole block (as warcio digests it)
        self.payload_hash = _new_hash(self.warc.get_header("WARC-Payload-Digest"))
        self.payload_sha256 = hashlib.sha256()
        if rtype in ("warcinfo", "metadata") and self.remaining <= KEEP_BODY:
            self.body = bytearray()
        self.state = "block" if self.remaining else "tail"

    def _block(self, data: bytes, start: int, stop: int) -> None:
        """data[start:stop] is the next piece of the block."""
        view = memoryview(data)[start:stop]
        self.block_hash.update(view)
        self.block_length += stop - start
        if self.body is not None:
            self.body += view
        if self.expects_http and self.http is None:
            start = self._http_head(data, start, stop)
            if start < 0:
                return
            view = memoryview(data)[start:stop]
        self.payload_hash.update(view)
        self.payload_sha256.update(view)
        self.payload_length += stop - start

    def _http_head(self, data: bytes, start: int, stop: int) -> int:
        """Collect the HTTP header block; where the payload starts in data, or -1."""
        if not self.http_head:  # usually the whole head is in the first piece
            end = data.find(b"\r\n\r\n", start, stop)
            if end >= 0:
                self.http = parse_head(data[start: end + 4])
                return end + 4
        self.http_head += memoryview(data)[start:stop]
        end = self.http_head.find(b"\r\n\r\n")
        if end < 0:
            if len(self.http_head) > MAX_HEAD:
                raise ValueError("no end of HTTP header block within 1 MiB")
            return -1
        self.http = parse_head(bytes(self.http_head[: end + 4]))
        rest = len(self.http_head) - (end + 4)  # the payload bytes among those collected
        self.http_head = bytearray()
        return stop - rest

    def finish(self, offset: int, length: int) -> ScannedRecord:
        errors = list(self.errors)
        if self.state == "head":
            errors.append("no complete WARC header block in this gzip member")
        elif self.remaining:
            errors.append(f"block ends {self.remaining} bytes short of its Content-Length")
        elif self.tail_bytes != 4 or self.tail != b"\r\n\r\n":
            errors.append(f"record is followed by {self.tail_bytes} bytes starting "
                          f"{self.tail!r}, not by exactly CRLF CRLF")
        if self.expects_http and self.http is None and self.state != "head":
            errors.append("no complete HTTP header block in the record")
        have_payload = self.state != "head" and (not self.expects_http or self.http is not None)
        return ScannedRecord(
            offset=offset, length=length, warc_headers=self.warc, http_headers=self.http,
            block_length=self.block_length,
            block_digest=label(self.block_hash) if self.block_hash else None,
            payload_digest=(label(self.payload_hash)
                            if have_payload else None),
            payload_sha256=self.payload_sha256.hexdigest() if have_payload else None,
            payload_length=self.payload_length if have_payload else None,
            body=bytes(self.body) if self.body is not None else None,
            errors=tuple(errors),
        )


def _find_magic(reader: _HashingReader, start: int) -> tuple[int, bytes] | None:
    """The next gzip header at or after `start`, and the bytes read from it on."""
    reader.seek(start)
    carry = b""
    base = start
    while True:
        data = reader.read()
        if not data:
            return None
        window = carry + data
        at = window.find(GZIP_MAGIC)
        if at >= 0:
            return base + at, window[at:]
        carry = window[-(len(GZIP_MAGIC) - 1):]
        base += len(window) - len(carry)


def _opens_a_record(data: bytes) -> bool:
    """Whether the gzip member that starts at data[0] can begin a WARC record: its first
    inflated bytes are "WARC/" (False: not a member at all, or a gzip magic that is
    only bytes inside another member). True too when data ends before that is known."""
    inflater = inflate.decompressobj(inflate.MAX_WBITS | 16)
    try:
        head = inflater.decompress(data[:FIRST_WINDOW], len(WARC_START))
    except INFLATE_ERROR:
        return False
    return head == WARC_START[: len(head)] and (len(head) == len(WARC_START)
                                                 or len(data) <= FIRST_WINDOW)


def _find_record(reader: _HashingReader, start: int) -> tuple[int, bytes] | None:
    """The first gzip member at or after `start` that begins a WARC record (where a part
    of a file starts its walk), and the bytes read from it on.

    A gzip magic is three bytes, and inside a compressed member they turn up by
    chance: in three of six N=2,000 bench crawls, one member of the same article page
    held them just past the file's middle cut. A part that began there joined no part
    before it, and the whole file was read again in one walk. Such a magic does not
    inflate to "WARC/", so the part begins at the next member instead. One that does
    (a WARC record stored inside another) still fails the join, and the file is still
    read in one walk (crawler.audit.files.join_parts)."""
    while True:
        found = _find_magic(reader, start)
        if found is None or _opens_a_record(found[1]):
            return found
        start = found[0] + 1


class _Truncated(Exception):
    """The file ended inside a gzip member."""


def scan_file(
    path: Path, result: FileScan, *, on_bytes: Callable[[int], None] | None = None,
    start: int = 0, stop: int | None = None,
) -> Iterator[ScannedRecord]:
    """Yield every record of a gzip-per-record WARC file; fills `result` as it goes.

    With `start`/`stop`, only one part of the file: the walk begins at the first gzip
    member at or after `start` that inflates to "WARC/" (`_find_record`; offset 0
    itself when start is 0) and ends before the
    first member that starts at or after `stop`; `result.began`/`ended` say where.
    Walks from offset 0 also hash the whole file (reading on past `stop`), so the
    parts of a file can be walked at once by several processes and joined: when each
    part began where the one before it ended, their records are exactly the records
    of one walk over the whole file (the walk's next step depends only on where it is).
    """
    with path.open("rb") as fh:
        reader = _HashingReader(fh, on_bytes, hashing=start == 0, start=start, stop=stop)
        data, at = b"", 0  # bytes read and not yet inflated: data[at:]
        if start:
            found = _find_record(reader, start)
            if found is None:  # no member starts in the rest of the file: it ends here
                result.began = result.ended = fh.seek(0, io.SEEK_END)
                return
            (result.began, data), at = found, 0
        stopped = False
        while True:
            if at == len(data):
                data, at = reader.read(), 0
                if not data:
                    break
            member = reader.pos - len(data) + at
            if stop is not None and member >= stop:
                stopped = True
                break
            parser = _RecordParser()
            try:
                data, at = _inflate_member(reader, data, at, parser)
            except _Truncated:
                result.truncated_at = member
                break
            except (INFLATE_ERROR, ValueError) as exc:
                result.corrupt.append((member, str(exc)))
                found = _find_magic(reader, member + 1)
                if found is None:
                    break
                (_resume, data), at = found, 0
                continue
            yield parser.finish(member, reader.pos - len(data) + at - member)
        result.ended = member if stopped else reader.pos  # reader.pos: the end of the file
        if start == 0:
            result.sha256, result.size = reader.finish()


def _inflate_member(reader: _HashingReader, data: bytes, at: int,
                    parser: _RecordParser) -> tuple[bytes, int]:
    """Inflate the gzip member that starts at data[at] into `parser`, reading on as
    needed; returns the input left over and where the next member starts in it.

    The inflater gets a small window first, and twice as much each time after:
    whatever it does not need of a window comes back copied as `unused_data`, and
    most members are a few KiB. Inflating also checks the member's CRC-32 and length.
    """
    inflater = inflate.decompressobj(inflate.MAX_WBITS | 16)
    step = FIRST_WINDOW
    while True:
        window = memoryview(data)[at: at + step]
        parser.feed(inflater.decompress(window, MAX_OUTPUT))
        while inflater.unconsumed_tail and not inflater.eof:
            parser.feed(inflater.decompress(inflater.unconsumed_tail, MAX_OUTPUT))
        at += len(window) - len(inflater.unused_data)
        if inflater.eof:
            return data, at
        step = min(2 * step, READ_BLOCK)
        if at == len(data):
            data, at = reader.read(), 0
            if not data:
                raise _Truncated
