"""What the WARC files alone say about a crawl: runs, files and captures as plain values.

`read_warc_file(path)` walks one file (crawler.warc.scan) and returns its warcinfo
(the crawl run: uuid, id, start, operator, robots policy, software, settings) and one
`CaptureFacts` per fetch, assembled from its response, request and metadata records
(the metadata record carries seed id, outlet, crawl run, role, hops, via,
requested URL, redirect origin, payload SHA-256 and fetch error). crawler.audit.reindex
turns these into database rows. Reads no settings; nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from crawler.warc.read import parse_warc_date, parse_warc_fields
from crawler.warc.scan import FileScan, ScannedRecord, scan_file


@dataclass(frozen=True)
class RunFacts:
    uuid: str
    run_id: int | None
    started_at: dt.datetime | None
    collection: str
    operator: str
    robots_policy: str
    software: str
    software_version: str
    host: str
    user_agent: str
    settings_json: str


@dataclass(frozen=True)
class CaptureFacts:
    """One fetch as its records describe it (every field a Capture row holds)."""

    url: str
    fetched_at: dt.datetime
    fields: dict[str, str]
    metadata: tuple[str, int, int]  # record id, offset, length
    response: tuple[str, int, int] | None = None
    request: tuple[str, int, int] | None = None
    status: int | None = None
    protocol: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    payload_length: int | None = None
    payload_sha256: str | None = None
    warc_payload_digest: str | None = None
    warc_block_digest: str | None = None
    ip_address: str | None = None


@dataclass
class FileFacts:
    path: Path
    name: str
    closed: bool
    warcinfo_id: str | None = None
    opened_at: dt.datetime | None = None
    gzip_level: int = 6
    run: RunFacts | None = None
    captures: list[CaptureFacts] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    scan: FileScan | None = None


def _run_facts(info: dict[str, str], date: dt.datetime | None) -> RunFacts:
    software = info.get("software", "")
    name, _, rest = software.partition("/")
    version = rest.split(" ", 1)[0] if rest else ""
    started = info.get("crawl-run-started")
    run_id = info.get("crawl-run-id", "")
    return RunFacts(
        uuid=info.get("crawl-run", ""), run_id=int(run_id) if run_id.isdigit() else None,
        started_at=dt.datetime.fromisoformat(started) if started else date,
        collection=info.get("isPartOf", ""), operator=info.get("operator", ""),
        robots_policy=info.get("robots", ""), software=name, software_version=version,
        host=info.get("hostname", ""), user_agent=info.get("http-header-user-agent", ""),
        settings_json=info.get("crawl-settings", "{}"),
    )


def _where(rec: ScannedRecord) -> tuple[str, int, int]:
    return rec.record_id or "", rec.offset, rec.length


def _date(rec: ScannedRecord) -> dt.datetime | None:
    value = rec.header("WARC-Date")
    return parse_warc_date(value) if value else None


def _capture(meta: ScannedRecord, response: ScannedRecord | None,
             request: ScannedRecord | None) -> CaptureFacts:
    fields = dict(parse_warc_fields(meta.body or b""))
    date = _date(response or meta)
    assert date is not None
    facts = CaptureFacts(url=meta.header("WARC-Target-URI") or "", fetched_at=date,
                         fields=fields, metadata=_where(meta))
    if response is None:
        return facts
    http = response.http_headers
    code = (http.get_statuscode() or "").strip() if http else ""
    return CaptureFacts(
        url=facts.url, fetched_at=date, fields=fields, metadata=facts.metadata,
        response=_where(response), request=_where(request) if request else None,
        status=int(code) if code.isdigit() else None,
        protocol=http.protocol if http else None,
        content_type=http.get_header("Content-Type") if http else None,
        content_encoding=http.get_header("Content-Encoding") if http else None,
        payload_length=response.payload_length, payload_sha256=response.payload_sha256,
        warc_payload_digest=response.header("WARC-Payload-Digest"),
        warc_block_digest=response.header("WARC-Block-Digest"),
        ip_address=response.header("WARC-IP-Address"),
    )


def read_warc_file(path: Path) -> FileFacts:
    """The run and the captures one WARC file describes (problems noted, not raised)."""
    closed = not path.name.endswith(".open")
    facts = FileFacts(path, path.name.removesuffix(".open"), closed)
    facts.scan = FileScan(path)
    responses: dict[str, ScannedRecord] = {}
    requests: dict[str, ScannedRecord] = {}
    for rec in scan_file(path, facts.scan):
        kind = rec.record_type
        if rec.errors or (rec.block_digest and rec.block_digest != rec.header("WARC-Block-Digest")):
            facts.problems.append(f"offset {rec.offset}: {kind} record {rec.record_id} does not "
                                  "match its own digest or is malformed; skipped")
            continue
        if kind == "warcinfo" and facts.warcinfo_id is None:
            info = dict(parse_warc_fields(rec.body or b""))
            facts.warcinfo_id, facts.opened_at = rec.record_id, _date(rec)
            facts.gzip_level = int(info.get("gzip-level", "6") or 6)
            facts.run = _run_facts(info, facts.opened_at)
        elif kind == "response" and rec.record_id:
            responses[rec.record_id] = rec
        elif kind == "request":
            requests[rec.header("WARC-Concurrent-To") or ""] = rec
        elif kind == "metadata":
            origin = rec.header("WARC-Concurrent-To")
            response = responses.pop(origin, None) if origin else None
            request = requests.pop(origin, None) if origin else None
            if origin and response is None:
                facts.problems.append(f"offset {rec.offset}: metadata record {rec.record_id} "
                                      f"belongs to response {origin}, which is not in the file")
                continue
            facts.captures.append(_capture(rec, response, request))
    for rid, rec in responses.items():
        facts.problems.append(f"offset {rec.offset}: response record {rid} has no metadata "
                              "record: its provenance cannot be rebuilt")
    for scan_problem in ([f"truncated at offset {facts.scan.truncated_at}"]
                         if facts.scan.truncated_at is not None else []):
        facts.problems.append(scan_problem)
    facts.problems += [f"offset {o}: corrupt gzip member ({e})" for o, e in facts.scan.corrupt]
    return facts
