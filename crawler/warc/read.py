"""Reading one archived record back from a WARC file, by offset.

Every provenance row points at bytes: `read_record_at(path, offset)` opens the WARC
file (gzip per record or plain), seeks to the record's offset and parses exactly one
record with warcio's `ArchiveIterator`, returning its WARC headers, its HTTP headers
(None for non-HTTP records) and the payload exactly as stored (transfer chunking
already removed by the writer, content encoding kept). `decoded_payload` removes the
content encoding (gzip, deflate, br) so callers get the bytes the server meant.
`parse_warc_fields` reads the body of a metadata or warcinfo record and
`parse_warc_date` a WARC-Date. No settings are read; nothing here imports Scrapy.
Whole files are walked sequentially by `crawler.warc.scan`, not record by record.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from pathlib import Path
from typing import NamedTuple

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_datetime

from crawler.errors import IntegrityError


class ArchivedRecord(NamedTuple):
    """One record read back: headers and payload as stored (unpacks as a 3-tuple+)."""

    warc_headers: StatusAndHeaders
    http_headers: StatusAndHeaders | None
    payload: bytes

    @property
    def record_id(self) -> str | None:
        return self.warc_headers.get_header("WARC-Record-ID")

    @property
    def content_encoding(self) -> str | None:
        if self.http_headers is None:
            return None
        return self.http_headers.get_header("Content-Encoding")

    @property
    def record_type(self) -> str | None:
        return self.warc_headers.get_header("WARC-Type")

    @property
    def target_uri(self) -> str | None:
        return self.warc_headers.get_header("WARC-Target-URI")

    @property
    def date(self) -> dt.datetime | None:
        value = self.warc_headers.get_header("WARC-Date")
        return parse_warc_date(value) if value else None

    @property
    def status(self) -> int | None:
        """The HTTP status code of a response record (None for other records)."""
        if self.http_headers is None or self.record_type not in ("response", "revisit"):
            return None
        code = (self.http_headers.get_statuscode() or "").strip()
        return int(code) if code.isdigit() else None


def parse_warc_date(value: str) -> dt.datetime:
    """A WARC-Date (second to microsecond precision) as an aware UTC datetime.

    ISO 8601 as Python reads it (a tenth of warcio's time: verify parses every
    record's date), else as warcio reads it (it pads a shortened date)."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return iso_date_to_datetime(value).replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_warc_fields(body: bytes) -> list[tuple[str, str]]:
    """`Name: value` lines (CRLF or LF) as pairs, in order; repeated names kept."""
    fields = []
    for line in body.decode("utf-8", errors="replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            fields.append((name.strip(), value.strip()))
    return fields


def read_record_at(path: str | Path, offset: int) -> ArchivedRecord:
    """Parse the one record at `offset` of `path`; IntegrityError names what went wrong."""
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise IntegrityError(f"{path}: cannot open WARC file ({exc.strerror})") from None
    with fh:
        fh.seek(offset)
        try:
            for record in ArchiveIterator(fh):
                if not str(record.format).startswith("warc"):
                    # warcio falls back to ARC, whose head is any line of 3 or 5 fields:
                    # the middle of a gzip member can read as one (seen: ~1 in 25 offsets)
                    raise IntegrityError(f"{path} at offset {offset}: not a WARC record "
                                         f"(the bytes there read only as {record.format!r})")
                return ArchivedRecord(
                    warc_headers=record.rec_headers,
                    http_headers=record.http_headers,
                    payload=record.raw_stream.read(),
                )
        except IntegrityError:
            raise
        except Exception as exc:  # noqa: BLE001 - warcio raises many kinds on bad bytes
            raise IntegrityError(f"{path} at offset {offset}: not a readable WARC record "
                                 f"({type(exc).__name__}: {exc})") from None
    raise IntegrityError(f"{path} at offset {offset}: no WARC record there")


def decode_content(payload: bytes, encoding: str | None) -> bytes:
    """Undo an HTTP Content-Encoding (gzip, x-gzip, deflate, br; several in order)."""
    if not encoding:
        return payload
    data = payload
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding in ("identity", ""):
            continue
        try:
            if coding in ("gzip", "x-gzip"):
                data = zlib.decompress(data, 16 + zlib.MAX_WBITS)
            elif coding == "deflate":
                try:
                    data = zlib.decompress(data)
                except zlib.error:  # raw deflate without the zlib wrapper
                    data = zlib.decompress(data, -zlib.MAX_WBITS)
            elif coding == "br":
                import brotli

                data = brotli.decompress(data)
            else:
                raise IntegrityError(f"content encoding {coding!r} cannot be decoded")
        except (zlib.error, OSError) as exc:
            raise IntegrityError(f"payload does not decode as {coding}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - brotli.error and friends
            if isinstance(exc, IntegrityError):
                raise
            raise IntegrityError(f"payload does not decode as {coding}: {exc}") from None
    return data


def decoded_payload(record: ArchivedRecord) -> bytes:
    """The record's payload with its HTTP content encoding removed."""
    return decode_content(record.payload, record.content_encoding)


def decode_html(payload: bytes, content_type: str | None = None) -> str:
    """Decode page bytes: the HTTP charset, else a <meta> charset, else UTF-8 (lenient)."""
    candidates = []
    m = re.search(r"charset=[\"']?([\w.:-]+)", content_type or "", re.I)
    if m:
        candidates.append(m.group(1))
    meta = re.search(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", payload[:4096], re.I)
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    for name in [*candidates, "utf-8"]:
        try:
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")
