"""From one fetch to its WARC records: request, response and metadata.

A `Fetch` is the plain-value description of one HTTP exchange (or of a fetch that
failed) that the Scrapy adapter hands over; nothing here imports Scrapy.

Scrapy keeps no raw HTTP bytes, so the request and response heads are re-serialised
from what it exposes: the protocol Scrapy reports (never an invented HTTP/1.0), the
reason phrase of the status code, the headers in the order received. The body is the
payload exactly as sent, transfer chunking removed and content encoding kept, so a
`Transfer-Encoding: chunked` header is dropped (and the drop recorded in the
metadata record) rather than written over a de-chunked body. `warcinfo_fields` says so
for the whole file, with the run the file belongs to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler.digests import sha1_label
from crawler.roles import PAGE
from crawler.warc.write import CONFORMS_TO

Headers = tuple[tuple[str, str], ...]
#: what was reconstructed, said in each response's metadata record ...
RECONSTRUCTION_NOTE = (
    "HTTP status line and headers re-serialised from Scrapy's parsed response "
    "(Scrapy keeps no raw HTTP bytes); payload stored as received, de-chunked, "
    "content-encoding kept; Transfer-Encoding headers dropped"
)
#: ... and in the warcinfo record of every file (the same, in the words files have had)
WARCINFO_DESCRIPTION = (
    "HTTP status lines and headers are re-serialised from Scrapy's parsed "
    "responses (Scrapy keeps no raw HTTP bytes); payloads are stored as received, "
    "de-chunked, content-encoding kept; Transfer-Encoding headers are dropped and "
    "the drop noted in each capture's metadata record"
)
WARC_FORMAT = "WARC File Format 1.1"


@dataclass(frozen=True)
class Fetch:
    """One fetch as the crawler saw it, with the provenance context it belongs to."""

    key: str
    url: str
    fetched_at: dt.datetime
    method: str = "GET"
    request_headers: Headers = ()
    request_body: bytes = b""
    protocol: str | None = None
    status: int | None = None
    response_headers: Headers = ()
    body: bytes = b""
    ip_address: str | None = None
    error: str | None = None
    seed_id: str | None = None
    outlet: str | None = None
    requested_url: str | None = None
    role: str = PAGE
    hops: int = 0
    via_url: str | None = None
    redirect_from_key: str | None = None
    redirect_location: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def failed(self) -> bool:
        return self.status is None


@dataclass(frozen=True)
class FetchRecords:
    """The records of one fetch, ready to append, and what the database needs of them."""

    records: tuple[ArcWarcRecord, ...]
    payload_sha256: str | None


def warcinfo_fields(
    *,
    software: str,
    collection: str,
    operator: str,
    hostname: str,
    user_agent: str,
    robots_policy: str,
    run_uuid: str,
    run_id: int,
    run_started: dt.datetime,
    settings_json: str,
) -> dict[str, str]:
    """The warcinfo fields of a crawl run's files: who crawled what, how, and what was
    reconstructed (`crawler.warc.write.RotatingWarcWriter` adds its gzip fields)."""
    return {
        "software": software,
        "format": WARC_FORMAT,
        "conformsTo": CONFORMS_TO,
        "isPartOf": collection,
        "operator": operator,
        "hostname": hostname,
        "http-header-user-agent": user_agent,
        "robots": robots_policy,
        "crawl-run": run_uuid,
        "crawl-run-id": str(run_id),
        "crawl-run-started": run_started.isoformat(timespec="microseconds"),
        "crawl-settings": settings_json,
        "description": WARCINFO_DESCRIPTION,
    }


def _warc_date(when: dt.datetime) -> str:
    return datetime_to_iso_date(when.astimezone(dt.UTC).replace(tzinfo=None), use_micros=True)


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def response_head(fetch: Fetch) -> tuple[StatusAndHeaders, Headers]:
    """The response's status line and headers as stored, and the headers dropped."""
    kept: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    for name, value in fetch.response_headers:
        (removed if name.lower() == "transfer-encoding" else kept).append((name, value))
    protocol = fetch.protocol or "HTTP/1.1"
    assert fetch.status is not None
    return StatusAndHeaders(status_line(fetch.status), kept, protocol=protocol), tuple(removed)


def request_head(fetch: Fetch) -> StatusAndHeaders:
    parts = urlsplit(fetch.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", parts.netloc)]
    headers += [(n, v) for n, v in fetch.request_headers if n.lower() != "host"]
    protocol = fetch.protocol or "HTTP/1.1"
    return StatusAndHeaders(f"{fetch.method} {target} {protocol}", headers, is_http_request=True)


def metadata_fields(
    fetch: Fetch,
    *,
    run_uuid: str,
    software: str,
    payload_sha256: str | None,
    removed: Headers,
    redirect_from_record: str | None,
) -> list[tuple[str, str]]:
    """The provenance carried in the WARC itself, so the archive alone can rebuild the DB."""
    fields: list[tuple[str, str]] = [
        ("software", software),
        ("crawl-run", run_uuid),
        ("fetch-key", fetch.key),
        ("role", fetch.role),
        ("hops-from-seed", str(fetch.hops)),
    ]
    optional = {
        "seed-id": fetch.seed_id,
        "outlet": fetch.outlet,
        "requested-url": fetch.requested_url,
        "via": fetch.via_url,
        "redirect-from-key": fetch.redirect_from_key,
        "redirect-from-record": redirect_from_record,
        "redirect-location": fetch.redirect_location,
        "payload-sha256": payload_sha256,
        "fetch-error": fetch.error,
    }
    fields += [(name, value) for name, value in optional.items() if value]
    fields += [("removed-http-header", f"{n}: {v}") for n, v in removed]
    fields += list(fetch.extra)
    return fields


def sealed_record(
    builder: WARCWriter,
    uri: str,
    rec_type: str,
    body: bytes,
    *,
    warc_headers: list[tuple[str, str]],
    http_headers: StatusAndHeaders | None = None,
    content_type: str | None = None,
) -> ArcWarcRecord:
    """A record with every header final: id, digests, Content-Type and Content-Length.

    The same headers, in the same order, as warcio's `create_warc_record` and writer
    give it, but the digests come from one hashlib call over the body instead of
    warcio's 16 KB Python loop (twice), and the HTTP head is serialised once.
    `crawler.warc.write` appends such a record without warcio's chunked copy.
    """
    head = http_headers.to_ascii_bytes() if http_headers is not None else b""
    if http_headers is not None:
        http_headers.headers_buff = head
    payload_digest = sha1_label(body)
    content_type = content_type or builder.WARC_RECORDS[rec_type]
    headers = [
        *warc_headers,
        ("WARC-Type", rec_type),
        ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
        ("WARC-Target-URI", uri),
        ("WARC-Payload-Digest", payload_digest),
        ("WARC-Block-Digest", sha1_label(head, body) if head else payload_digest),
        ("Content-Type", content_type),
        ("Content-Length", str(len(head) + len(body))),
    ]
    record = ArcWarcRecord(
        "warc", rec_type, StatusAndHeaders("", headers, protocol=builder.warc_version),
        io.BytesIO(body), http_headers, content_type, len(body),
    )
    record.payload_length = len(body)
    return record


def build_records(
    builder: WARCWriter,
    fetch: Fetch,
    *,
    run_uuid: str,
    software: str,
    redirect_from_record: str | None = None,
) -> FetchRecords:
    """Request, response and metadata records of a fetch (only metadata for a failure)."""
    date = _warc_date(fetch.fetched_at)
    records: list[ArcWarcRecord] = []
    payload_sha = None
    removed: Headers = ()
    response_id = None
    ip_header = [("WARC-IP-Address", fetch.ip_address)] if fetch.ip_address else []
    if not fetch.failed:
        head, removed = response_head(fetch)
        payload_sha = hashlib.sha256(fetch.body).hexdigest()
        response = sealed_record(
            builder, fetch.url, "response", fetch.body, http_headers=head,
            warc_headers=[("WARC-Date", date), *ip_header],
        )
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request = sealed_record(
            builder, fetch.url, "request", fetch.request_body, http_headers=request_head(fetch),
            warc_headers=[("WARC-Date", date), ("WARC-Concurrent-To", response_id), *ip_header],
        )
        records += [response, request]
    fields = metadata_fields(
        fetch, run_uuid=run_uuid, software=software, payload_sha256=payload_sha,
        removed=removed, redirect_from_record=redirect_from_record,
    )
    if not fetch.failed:
        fields.append(("http-reconstruction", RECONSTRUCTION_NOTE))
    body = "".join(f"{name}: {value}\r\n" for name, value in fields).encode("utf-8")
    warc_headers = [("WARC-Date", date)]
    if response_id:
        warc_headers.append(("WARC-Concurrent-To", response_id))
    metadata = sealed_record(
        builder, fetch.url, "metadata", body, warc_headers=warc_headers,
        content_type="application/warc-fields",
    )
    records.append(metadata)
    return FetchRecords(tuple(records), payload_sha)
