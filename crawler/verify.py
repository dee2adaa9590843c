"""`crawler verify`: every provenance row against the archived bytes, and the ledger.

For each WARC file the database knows (of one run, or all), the file is read once,
in order (crawler.verify_scan): its SHA-256 and size are recomputed and compared
with the database, every gzip member must be whole, and every record is parsed and
its digests recomputed. Each record is matched with the rows that point at it by
record id (crawler.verify_records) — so a record that moved is reported as moved,
a record no row points to and a row whose record is missing are both reported.
Files missing, still `.open`, or on disk without a row are reported too. Then the
ledger (crawler.verify_ledger): chain, rows against entries, run heads, signatures,
an expected head. Nothing the bytes can recompute is taken from the database.
Memory stays flat in the size of the archive: one file block and one file's rows at
a time. Reads no settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from crawler.collection import Collection
from crawler.errors import BadInput
from crawler.models import Capture, CrawlRun, Outlet, WarcFile
from crawler.verify_records import Expected, compare, record_findings
from crawler.verify_scan import FileScan, scan_file


@dataclass(frozen=True)
class Problem:
    """One thing that does not hold, with its coordinates (any may be None)."""

    kind: str
    message: str
    file: str | None = None
    offset: int | None = None
    record_id: str | None = None
    capture_id: int | None = None

    def line(self) -> str:
        def show(value: object) -> str:
            return "-" if value is None else str(value)

        return (f"{self.kind} file={show(self.file)} offset={show(self.offset)} "
                f"record={show(self.record_id)} capture={show(self.capture_id)}: {self.message}")


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    scope: str = "all runs"
    files: int = 0
    records: int = 0
    captures: int = 0
    bytes: int = 0
    seconds: float = 0.0
    ledger_entries: int = 0
    ledger_head: str = ""
    expected_head_seq: int | None = None
    signatures_checked: int = 0
    signatures_unchecked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def add(self, kind: str, message: str, **where: Any) -> None:
        self.problems.append(Problem(kind, message, **where))

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["problems"] = [asdict(p) | {"line": p.line()} for p in self.problems]
        body["ok"], body["mb_per_s"] = self.ok, round(self.mb_per_s, 2)
        return body


@dataclass(frozen=True)
class ProgressHooks:
    """How the caller follows along: total bytes to read, then bytes as they are read."""

    start: Callable[[int], None]
    advance: Callable[[int], None]


def _expectations(session: Session, warc: WarcFile, run_uuid: str) -> dict[str, Expected]:
    expected: dict[str, Expected] = {
        warc.warcinfo_id: Expected("warcinfo", warc.warcinfo_id, 0, None, run_uuid=run_uuid)
    }
    origin = aliased(Capture)
    rows = session.execute(
        select(Capture, CrawlRun.uuid, Outlet.name, origin.warc_record_id)
        .join(CrawlRun, Capture.run_id == CrawlRun.id)
        .outerjoin(Outlet, Capture.outlet_id == Outlet.id)
        .outerjoin(origin, Capture.redirect_from_id == origin.id)
        .where(Capture.warc_file_id == warc.id).order_by(Capture.id)
    )
    for cap, uuid, outlet, origin_record in rows:
        for kind, rid, offset, length in (
            ("response", cap.warc_record_id, cap.response_offset, cap.response_length),
            ("request", cap.request_record_id, cap.request_offset, cap.request_length),
            ("metadata", cap.metadata_record_id, cap.metadata_offset, cap.metadata_length),
        ):
            if rid:
                expected[rid] = Expected(kind, rid, offset, length, capture=cap, run_uuid=uuid,
                                         outlet=outlet, redirect_from_record=origin_record)
    return expected


def verify_file(session: Session, archive_dir: Path, warc: WarcFile, run_uuid: str,
                report: Report, progress: ProgressHooks | None = None) -> None:
    """One WARC file: bytes, members, records, and the rows that point into it."""
    final, partial = archive_dir / warc.name, archive_dir / (warc.name + ".open")
    expected = _expectations(session, warc, run_uuid)
    report.captures += len({e.capture_id for e in expected.values() if e.capture_id})
    if final.exists():
        path = final
    elif partial.exists():
        path = partial
        report.add("file-open", "the file is still .open: its run did not finish (crashed or "
                   "still running), so no final SHA-256 was recorded", file=partial.name)
    else:
        report.add("file-missing", f"not in {archive_dir}", file=warc.name)
        for gone in expected.values():
            report.add("record-missing", f"the file is missing, so is this {gone.kind} record",
                       file=warc.name, offset=gone.offset, record_id=gone.record_id,
                       capture_id=gone.capture_id)
        return
    report.files += 1
    first_problem = len(report.problems)
    by_offset = {e.offset: e for e in expected.values() if e.offset is not None}
    scan = FileScan(path)
    for rec in scan_file(path, scan, on_bytes=progress.advance if progress else None):
        report.records += 1
        rid = rec.record_id
        exp = expected.pop(rid, None) if rid else None
        where = {"file": path.name, "offset": rec.offset, "record_id": rid,
                 "capture_id": exp.capture_id if exp else None}
        for kind, message in record_findings(rec):
            report.add(kind, message, **where)
        if exp is not None:
            for kind, message in compare(rec, exp):
                report.add(kind, message, **where)
            continue
        there = by_offset.get(rec.offset)
        hint = (f"; the database expects {there.record_id} at this offset"
                if there and there.record_id != rid else "")
        report.add("record-unreferenced", f"no row points to this {rec.record_type} record "
                   f"({rec.header('WARC-Target-URI')}){hint}", **where)
    report.bytes += scan.size
    for exp in expected.values():
        report.add("record-missing", f"the row's {exp.kind} record is not in the file "
                   f"(the row says offset {exp.offset})", file=path.name, offset=exp.offset,
                   record_id=exp.record_id, capture_id=exp.capture_id)
    if scan.truncated_at is not None:
        report.add("gzip-truncated", f"the gzip member at offset {scan.truncated_at} is "
                   f"incomplete: the file ends after {scan.size} bytes (truncated)",
                   file=path.name, offset=scan.truncated_at)
    for offset, error in scan.corrupt:
        report.add("gzip-corrupt", f"the gzip member is corrupt ({error}); reading resumed at "
                   "the next gzip header", file=path.name, offset=offset)
    if path is final:
        if warc.sha256 is None or warc.size is None:
            report.add("file-unrecorded", "the file is closed but the database has no SHA-256 "
                       "or size for it", file=path.name)
        if warc.size is not None and warc.size != scan.size:
            report.add("file-size", f"the file is {scan.size} bytes, the database says "
                       f"{warc.size}", file=path.name)
        if warc.sha256 is not None and warc.sha256 != scan.sha256:
            report.add("file-sha256", f"the file hashes to {scan.sha256}, the database says "
                       f"{warc.sha256}", file=path.name)
    elif warc.sha256 is not None:
        report.add("file-open", "the database records the file as closed (with a SHA-256) but "
                   "only the .open file exists", file=path.name)
    report.problems[first_problem:] = sorted(
        report.problems[first_problem:], key=lambda p: -1 if p.offset is None else p.offset)


def verify_collection(
    sessions: sessionmaker[Session],
    collection: Collection,
    *,
    run_id: int | None = None,
    expect_head: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    progress: ProgressHooks | None = None,
) -> Report:
    """Verify one run (`run_id`) or the whole collection; never changes anything."""
    from crawler.verify_ledger import check_ledger, check_seed_copies

    began = time.monotonic()
    report = Report()
    archive = collection.archive_dir
    with sessions() as session:
        runs_query = select(CrawlRun).order_by(CrawlRun.id)
        if run_id is not None:
            if session.get(CrawlRun, run_id) is None:
                raise BadInput(f"--run {run_id}: no such crawl run")
            runs_query = runs_query.where(CrawlRun.id == run_id)
            report.scope = f"run {run_id}"
        runs = list(session.scalars(runs_query))
        uuids = {run.id: run.uuid for run in runs}
        files = list(session.scalars(
            select(WarcFile).where(WarcFile.run_id.in_(uuids)).order_by(WarcFile.id)))
        if progress:
            progress.start(sum(_size(archive, f.name) for f in files))
        for warc in files:
            verify_file(session, archive, warc, uuids[warc.run_id], report, progress)
            session.expunge_all()
        known = {f.id for f in files}
        for cap in session.scalars(select(Capture).where(
                Capture.run_id.in_(uuids),
                or_(Capture.warc_file_id.is_(None), Capture.warc_file_id.not_in(known)))):
            report.captures += 1
            report.add("record-missing", "the row points into no WARC file of its run",
                       record_id=cap.warc_record_id or cap.metadata_record_id, capture_id=cap.id)
        if run_id is None:
            recorded = set(session.scalars(select(WarcFile.name)))
            for path in sorted(archive.glob("*.warc.gz*")):
                if path.name.removesuffix(".open") not in recorded:
                    report.add("file-unrecorded", "a WARC file on disk that no warc_files row "
                               "describes", file=path.name)
            check_seed_copies(session, collection, report)
        check_ledger(session, runs, report, expect_head=expect_head, public_key=public_key)
    report.seconds = time.monotonic() - began
    return report


def _size(archive: Path, name: str) -> int:
    for path in (archive / name, archive / (name + ".open")):
        if path.exists():
            return path.stat().st_size
    return 0
