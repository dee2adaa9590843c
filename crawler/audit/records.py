"""What one scanned WARC record must say, and what the database says it says.

`record_findings(record)` checks a record against itself: it parsed whole, and its
recomputed block and payload digests equal its WARC headers. `check_record(record,
expected)` checks it against the database row that points at it: record type,
offset and length of its gzip member, target URI, WARC-Date against `fetched_at`,
digests, payload SHA-256 and length, HTTP status, protocol and headers, and the
provenance fields of the metadata record (crawl run, seed, outlet, role, hops, via,
redirect origin, fetch error). Both return `(kind, message)` pairs;
crawler.audit.files adds the coordinates. The rows come as plain values
(`CaptureRow`; `expectations` turns one file's rows into the records they point at).
Pure functions: no I/O, no database, nothing that needs SQLAlchemy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from crawler.warc.read import parse_warc_date, parse_warc_fields
from crawler.warc.scan import ScannedRecord

Finding = tuple[str, str]


class CaptureRow(NamedTuple):
    """What a `captures` row (with its run's uuid, its outlet's name and the record id
    of the capture it was redirected from) says: plain values, so that a worker
    process can check records against it without the database stack. A NamedTuple:
    thousands are made per file and sent to a worker, and a tuple is the cheapest."""

    id: int
    url: str
    requested_url: str
    fetched_at: dt.datetime | None
    role: str
    hops: int
    seed_id: str | None
    via_url: str | None
    redirect_location: str | None
    status: int | None
    protocol: str | None
    content_type: str | None
    content_encoding: str | None
    payload_length: int | None
    payload_sha256: str | None
    warc_payload_digest: str | None
    warc_block_digest: str | None
    warc_record_id: str | None
    response_offset: int | None
    response_length: int | None
    request_record_id: str | None
    request_offset: int | None
    request_length: int | None
    metadata_record_id: str | None
    metadata_offset: int | None
    metadata_length: int | None
    ip_address: str | None
    error: str | None
    run_uuid: str | None = None
    outlet: str | None = None
    redirect_from_record: str | None = None


class Expected(NamedTuple):
    """A record some row points at: which kind, where, and the row's context. A
    NamedTuple: three are made per capture for every file checked."""

    kind: str  # response, request, metadata or warcinfo
    record_id: str
    offset: int | None
    length: int | None
    capture: CaptureRow | None = None
    run_uuid: str | None = None
    outlet: str | None = None
    redirect_from_record: str | None = None

    @property
    def capture_id(self) -> int | None:
        return self.capture.id if self.capture is not None else None


def expectations(warcinfo_id: str, run_uuid: str,
                 captures: Iterable[CaptureRow]) -> dict[str, Expected]:
    """Every record of one WARC file that a row points at, by record id."""
    expected = {warcinfo_id: Expected("warcinfo", warcinfo_id, 0, None, run_uuid=run_uuid)}
    for cap in captures:
        for kind, rid, offset, length in (
            ("response", cap.warc_record_id, cap.response_offset, cap.response_length),
            ("request", cap.request_record_id, cap.request_offset, cap.request_length),
            ("metadata", cap.metadata_record_id, cap.metadata_offset, cap.metadata_length),
        ):
            if rid:
                expected[rid] = Expected(kind, rid, offset, length, capture=cap,
                                         run_uuid=cap.run_uuid, outlet=cap.outlet,
                                         redirect_from_record=cap.redirect_from_record)
    return expected


def record_findings(record: ScannedRecord) -> list[Finding]:
    found: list[Finding] = [("record-malformed", error) for error in record.errors]
    if record.warc_headers is None:
        return found
    block = record.header("WARC-Block-Digest")
    if block is None:
        found.append(("block-digest", "the record has no WARC-Block-Digest: its bytes cannot "
                      "be checked against anything"))
    elif record.block_digest != block:
        found.append(("block-digest",
                      f"recomputed {record.block_digest}, WARC header says {block}"))
    payload = record.header("WARC-Payload-Digest")
    if payload is not None and record.payload_digest not in (None, payload):
        found.append(("payload-digest",
                      f"recomputed {record.payload_digest}, WARC header says {payload}"))
    return found


def _same(found: list[Finding], kind: str, what: str, in_warc: object, in_db: object) -> None:
    if in_warc != in_db:
        found.append((kind, f"{what}: the WARC record says {in_warc!r}, "
                      f"the database says {in_db!r}"))


def _date(record: ScannedRecord) -> dt.datetime | None:
    value = record.header("WARC-Date")
    try:
        return parse_warc_date(value) if value else None
    except ValueError:
        return None


def check_record(record: ScannedRecord, expected: Expected) -> list[Finding]:
    """Everything the row says about this record that the record can confirm or refute."""
    found: list[Finding] = []
    _same(found, "record-type", "WARC-Type", record.record_type, expected.kind)
    if expected.offset is not None and record.offset != expected.offset:
        found.append(("record-moved", f"the record starts at offset {record.offset}, "
                      f"the database says {expected.offset}"))
    if expected.length is not None and record.length != expected.length:
        found.append(("record-length", f"its gzip member is {record.length} bytes, "
                      f"the database says {expected.length}"))
    if expected.kind == "warcinfo":
        return found + _warcinfo(record, expected)
    cap = expected.capture
    assert cap is not None
    _same(found, "target-uri", "WARC-Target-URI", record.header("WARC-Target-URI"), cap.url)
    date = _date(record)
    if date != cap.fetched_at:
        found.append(("warc-date", f"WARC-Date {record.header('WARC-Date')!r} is not the "
                      f"row's fetched_at {cap.fetched_at.isoformat() if cap.fetched_at else None}"))
    if expected.kind == "response":
        found += _response(record, cap)
    elif expected.kind == "request":
        _same(found, "concurrent-to", "WARC-Concurrent-To", record.header("WARC-Concurrent-To"),
              cap.warc_record_id)
    elif expected.kind == "metadata":
        if cap.warc_record_id:
            _same(found, "concurrent-to", "WARC-Concurrent-To",
                  record.header("WARC-Concurrent-To"), cap.warc_record_id)
        found += _metadata(record, expected)
    return found


def _response(record: ScannedRecord, cap: CaptureRow) -> list[Finding]:
    found: list[Finding] = []
    _same(found, "block-digest", "WARC-Block-Digest", record.header("WARC-Block-Digest"),
          cap.warc_block_digest)
    _same(found, "payload-digest", "WARC-Payload-Digest", record.header("WARC-Payload-Digest"),
          cap.warc_payload_digest)
    if record.payload_sha256 != cap.payload_sha256:
        found.append(("payload-sha256", f"the payload hashes to {record.payload_sha256}, "
                      f"the database says {cap.payload_sha256}"))
    if record.payload_length != cap.payload_length:
        found.append(("payload-length", f"the payload is {record.payload_length} bytes, "
                      f"the database says {cap.payload_length}"))
    _same(found, "ip-address", "WARC-IP-Address", record.header("WARC-IP-Address"), cap.ip_address)
    http = record.http_headers
    if http is None:
        return found + [("http-headers", "the response record has no HTTP header block")]
    code = (http.get_statuscode() or "").strip()
    _same(found, "http-status", "HTTP status", int(code) if code.isdigit() else code, cap.status)
    _same(found, "http-protocol", "HTTP protocol", http.protocol, cap.protocol)
    _same(found, "http-header", "Content-Type", http.get_header("Content-Type"), cap.content_type)
    _same(found, "http-header", "Content-Encoding", http.get_header("Content-Encoding"),
          cap.content_encoding)
    if cap.error:
        found.append(("fetch-error", f"the row records an error ({cap.error!r}) for a fetch "
                      "that has a response record"))
    return found


def _metadata(record: ScannedRecord, expected: Expected) -> list[Finding]:
    cap = expected.capture
    assert cap is not None
    if record.body is None:
        return [("metadata", "the metadata record's body could not be read")]
    fields = dict(parse_warc_fields(record.body))
    found: list[Finding] = []
    checks: list[tuple[str, str | None, object]] = [
        ("crawl-run", fields.get("crawl-run"), expected.run_uuid),
        ("role", fields.get("role"), cap.role),
        ("hops-from-seed", fields.get("hops-from-seed"), str(cap.hops)),
        ("seed-id", fields.get("seed-id"), cap.seed_id),
        ("outlet", fields.get("outlet"), expected.outlet),
        ("requested-url", fields.get("requested-url", cap.url), cap.requested_url),
        ("via", fields.get("via"), cap.via_url),
        ("redirect-from-record", fields.get("redirect-from-record"), expected.redirect_from_record),
        ("redirect-location", fields.get("redirect-location"), cap.redirect_location),
        ("payload-sha256", fields.get("payload-sha256"), cap.payload_sha256),
        ("fetch-error", fields.get("fetch-error"), cap.error or None),
    ]
    for name, in_warc, in_db in checks:
        _same(found, "metadata", f"metadata field {name}", in_warc, in_db)
    return found


def _warcinfo(record: ScannedRecord, expected: Expected) -> list[Finding]:
    found: list[Finding] = []
    if record.offset != 0:
        found.append(("warcinfo", "the file's warcinfo record is not its first record"))
    if record.body is not None and expected.run_uuid:
        fields = dict(parse_warc_fields(record.body))
        _same(found, "warcinfo", "warcinfo field crawl-run", fields.get("crawl-run"),
              expected.run_uuid)
    return found
