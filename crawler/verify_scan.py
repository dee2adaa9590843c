"""Walking a whole WARC file once, in order: file hash, gzip members, records, digests.

`scan_file(path)` reads the file sequentially in 1 MiB blocks and never holds more
than one block of compressed input and a few MiB of inflated output: it hashes the
file as it reads (SHA-256 and size), inflates one gzip member after another
(noting each member's offset and length, and whether it is whole — `warcio check`
accepts a truncated file), parses the WARC record inside each member and
recomputes its block and payload digests as the bytes go by. It trusts nothing it
does not recompute: the result is what the bytes say, for `crawler.verify` to
compare with headers and database. A corrupt member is reported and scanning
resumes at the next gzip header. Plain (uncompressed) WARC files are not accepted
here: the crawler writes one gzip member per record.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from warcio.statusandheaders import StatusAndHeaders

READ_BLOCK = 1 << 20
MAX_OUTPUT = 4 << 20
MAX_HEAD = 1 << 20  # WARC or HTTP header block larger than this is refused
KEEP_BODY = 1 << 20  # metadata/warcinfo bodies up to this size are kept for parsing
GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass(frozen=True)
class ScannedRecord:
    """One gzip member and the WARC record in it, with digests recomputed from bytes."""

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
        return self.warc_headers.get_header(name) if self.warc_headers else None

    @property
    def record_id(self) -> str | None:
        return self.header("WARC-Record-ID")

    @property
    def record_type(self) -> str | None:
        return self.header("WARC-Type")


@dataclass
class FileScan:
    """What a whole-file walk found; `sha256`/`size` are final once the walk ends."""

    path: Path
    sha256: str = ""
    size: int = 0
    truncated_at: int | None = None
    corrupt: list[tuple[int, str]] = field(default_factory=list)


def _label(algorithm: str, digest: Any) -> str:
    return f"{algorithm}:{base64.b32encode(digest.digest()).decode('ascii')}"


def _algorithm(header: str | None) -> str:
    name = (header or "sha1:").partition(":")[0].lower().replace("-", "")
    return name if name in hashlib.algorithms_available else "sha1"


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_head(head: bytes) -> StatusAndHeaders:
    """A WARC or HTTP header block (ending CRLF CRLF) as warcio's StatusAndHeaders.

    The first token of the first line is the protocol (`WARC/1.1`, `HTTP/1.1`, or a
    request's method, as warcio has it); folded lines continue the header before.
    A lean stand-in for warcio's parser, which dominated the time per record.
    """
    lines = head.split(b"\r\n")
    first = _text(lines[0]).strip()
    protocol, _, status = first.partition(" ")
    headers: list[tuple[str, str]] = []
    for raw in lines[1:]:
        if not raw:
            continue
        if raw[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + _text(raw).strip())
            continue
        name, sep, value = _text(raw).partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return StatusAndHeaders(status, headers, protocol=protocol)


class _HashingReader:
    """Sequential reads that hash every byte of the file exactly once, in order."""

    def __init__(self, fh: BinaryIO, on_bytes: Callable[[int], None] | None) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.pos = 0
        self.hashed = 0
        self.on_bytes = on_bytes

    def read(self, n: int = READ_BLOCK) -> bytes:
        data = self.fh.read(n)
        end = self.pos + len(data)
        if end > self.hashed:
            self.sha.update(data[self.hashed - self.pos:])
            if self.on_bytes:
                self.on_bytes(end - self.hashed)
            self.hashed = end
        self.pos = end
        return data

    def seek(self, offset: int) -> None:
        self.fh.seek(offset)
        self.pos = offset

    def finish(self) -> tuple[str, int]:
        self.seek(self.hashed)
        while self.read():
            pass
        return self.sha.hexdigest(), self.hashed


class _RecordParser:
    """Push parser of one WARC record: head, block (hashed as it arrives), CRLFCRLF."""

    def __init__(self) -> None:
        self.buf = bytearray()
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
        self.tail = bytearray()
        self.tail_bytes = 0
        self.errors: list[str] = []

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self.state == "head":
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    raise ValueError("no end of WARC header block within 1 MiB")
                return
            head, rest = bytes(self.buf[: end + 4]), bytes(self.buf[end + 4:])
            self.buf = bytearray()
            self._start_block(head)
            data = rest
        if self.state == "block" and data:
            take = data[: self.remaining]
            self._block(take)
            self.remaining -= len(take)
            data = data[len(take):]
            if self.remaining == 0:
                self.state = "tail"
        if self.state == "tail" and data:
            self.tail_bytes += len(data)
            self.tail += data[: max(0, 16 - len(self.tail))]

    def _start_block(self, head: bytes) -> None:
        self.warc = parse_head(head)
        if not self.warc.protocol.startswith("WARC/"):
            raise ValueError(f"not a WARC record: first line {self.warc.protocol!r}")
        length = self.warc.get_header("Content-Length")
        if length is None or not length.strip().isdigit():
            raise ValueError(f"WARC header Content-Length is {length!r}")
        self.remaining = int(length)
        self.block_hash = hashlib.new(_algorithm(self.warc.get_header("WARC-Block-Digest")))
        ctype = (self.warc.get_header("Content-Type") or "").lower()
        rtype = (self.warc.get_header("WARC-Type") or "").lower()
        self.expects_http = (rtype in ("response", "request", "revisit")
                             and "application/http" in ctype)
        # the payload of a non-HTTP record is its whole block (as warcio digests it)
        self.payload_hash = hashlib.new(_algorithm(self.warc.get_header("WARC-Payload-Digest")))
        self.payload_sha256 = hashlib.sha256()
        if rtype in ("warcinfo", "metadata") and self.remaining <= KEEP_BODY:
            self.body = bytearray()
        self.state = "block" if self.remaining else "tail"

    def _block(self, data: bytes) -> None:
        self.block_hash.update(data)
        self.block_length += len(data)
        if self.body is not None:
            self.body += data
        if self.expects_http and self.http is None:
            self.http_head += data
            end = self.http_head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.http_head) > MAX_HEAD:
                    raise ValueError("no end of HTTP header block within 1 MiB")
                return
            head = bytes(self.http_head[: end + 4])
            data = bytes(self.http_head[end + 4:])
            self.http_head = bytearray()
            self.http = parse_head(head)
        self.payload_hash.update(data)
        self.payload_sha256.update(data)
        self.payload_length += len(data)

    def finish(self, offset: int, length: int) -> ScannedRecord:
        errors = list(self.errors)
        if self.state == "head":
            errors.append("no complete WARC header block in this gzip member")
        elif self.remaining:
            errors.append(f"block ends {self.remaining} bytes short of its Content-Length")
        elif self.tail_bytes != 4 or bytes(self.tail) != b"\r\n\r\n":
            errors.append(f"record is followed by {self.tail_bytes} bytes starting "
                          f"{bytes(self.tail)!r}, not by exactly CRLF CRLF")
        if self.expects_http and self.http is None and self.state != "head":
            errors.append("no complete HTTP header block in the record")
        have_payload = self.state != "head" and (not self.expects_http or self.http is not None)
        return ScannedRecord(
            offset=offset, length=length, warc_headers=self.warc, http_headers=self.http,
            block_length=self.block_length,
            block_digest=_label(self.block_hash.name, self.block_hash) if self.block_hash else None,
            payload_digest=(_label(self.payload_hash.name, self.payload_hash)
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


def scan_file(
    path: Path, result: FileScan, *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[ScannedRecord]:
    """Yield every record of a gzip-per-record WARC file; fills `result` as it goes."""
    with path.open("rb") as fh:
        reader = _HashingReader(fh, on_bytes)
        pending = b""
        while True:
            start = reader.pos - len(pending)
            if not pending:
                pending = reader.read()
                if not pending:
                    break
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            parser = _RecordParser()
            data, pending = pending, b""
            try:
                while True:
                    out = inflater.decompress(data, MAX_OUTPUT)
                    parser.feed(out)
                    while inflater.unconsumed_tail and not inflater.eof:
                        parser.feed(inflater.decompress(inflater.unconsumed_tail, MAX_OUTPUT))
                    if inflater.eof:
                        pending = inflater.unused_data
                        break
                    data = reader.read()
                    if not data:
                        result.truncated_at = start
                        break
            except (zlib.error, ValueError) as exc:
                result.corrupt.append((start, str(exc)))
                found = _find_magic(reader, start + 1)
                if found is None:
                    break
                _resume, pending = found
                continue
            if result.truncated_at is not None:
                break
            yield parser.finish(start, reader.pos - len(pending) - start)
        result.sha256, result.size = reader.finish()
