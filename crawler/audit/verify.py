"""`crawler verify`: every provenance row against the archived bytes, and the ledger.

For each WARC file the database knows (of one run, or all), the file is walked in
order, whole or in parts that must join up (crawler.warc.scan, verify_workers):
its SHA-256 and size are recomputed and compared with the database, every gzip
member must be whole, and every record is parsed and its digests recomputed. Each
record is matched with the rows that point at it by
record id (crawler.audit.files, crawler.audit.records) — so a record that moved is
reported as moved, a record no row points to and a row whose record is missing are
both reported. Files missing, still `.open`, or on disk without a row are reported
too. Then the ledger (crawler.audit.ledger): chain, rows against entries, run
heads, signatures, an expected head. Nothing the bytes can recompute is taken from
the database.

The files are read and checked in worker processes (crawler.audit.workers) while
this process reads the database and walks the ledger; problems are reported in
the same order either way. Memory stays flat in the size of the archive: one file's
rows and a bounded number of records per worker. Reads no settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.audit.files import FileRow, FileTask, missing_file
from crawler.audit.ledger import check_ledger, check_seed_copies
from crawler.audit.records import CaptureRow, Problem, expectations
from crawler.audit.workers import FileChecker, default_workers
from crawler.collection import Collection, warc_path
from crawler.errors import BadInput
from crawler.store.models import Capture, CrawlRun, Outlet, WarcFile

if TYPE_CHECKING:  # cryptography is imported only when a public key is given
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["Problem", "ProgressHooks", "Report", "verify_collection"]


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


def _capture_rows(session: Session, warc: WarcFile) -> list[CaptureRow]:
    """The rows of the captures that point into this file, as plain values.

    A Core query on the tables (ORM attributes would send every row through the ORM's
    loading machinery: several times slower, for values only)."""
    captures, runs, outlets = Capture.__table__, CrawlRun.__table__, Outlet.__table__
    origin = captures.alias("origin")
    joined = {"run_uuid": runs.c.uuid, "outlet": outlets.c.name,
              "redirect_from_record": origin.c.warc_record_id}
    columns = [joined[name] if name in joined else captures.c[name]
               for name in CaptureRow._fields]
    rows = session.execute(
        select(*columns)
        .select_from(captures)
        .join(runs, captures.c.run_id == runs.c.id)
        .outerjoin(outlets, captures.c.outlet_id == outlets.c.id)
        .outerjoin(origin, captures.c.redirect_from_id == origin.c.id)
        .where(captures.c.warc_file_id == warc.id).order_by(captures.c.id)
    )
    return [CaptureRow._make(row) for row in rows]


class _FileProblems:
    """Problems per file in file order: found here first, then the worker's outcome."""

    def __init__(self, checker: FileChecker) -> None:
        self.checker = checker
        self.files: list[tuple[list[Problem], bool]] = []

    def add(self, session: Session, archive_dir: Path, warc: WarcFile, run_uuid: str,
            report: Report) -> None:
        row = FileRow(warc.name, warc.sha256, warc.size, warc.warcinfo_id, run_uuid)
        captures = _capture_rows(session, warc)
        path = warc_path(archive_dir, warc.name)
        if path is None:
            expected = expectations(row.warcinfo_id, run_uuid, captures)
            report.captures += len({e.capture_id for e in expected.values() if e.capture_id})
            self.files.append(([Problem("file-missing", f"not in {archive_dir}", file=warc.name),
                                *missing_file(warc.name, expected)], False))
            return
        found = []
        if path.name != warc.name:
            found.append(Problem("file-open", "the file is still .open: its run did not finish "
                                 "(crashed or still running), so no final SHA-256 was recorded",
                                 file=path.name))
        report.files += 1
        self.checker.submit(FileTask(path, row, captures))
        self.files.append((found, True))

    def collect(self, report: Report) -> None:
        for found, checked in self.files:
            report.problems += found
            if checked:
                outcome = self.checker.outcome()
                report.problems += outcome.problems
                report.records += outcome.records
                report.captures += outcome.captures
                report.bytes += outcome.bytes
        self.files = []


def verify_collection(
    sessions: sessionmaker[Session],
    collection: Collection,
    *,
    run_id: int | None = None,
    expect_head: str | None = None,
    public_key: Ed25519PublicKey | None = None,
    progress: ProgressHooks | None = None,
    checker: FileChecker | None = None,
) -> Report:
    """Verify one run (`run_id`) or the whole collection; never changes anything.

    `checker` reads and checks the files (its workers may already be reading some,
    crawler.collection.warc_files); without one, workers are started here.
    """
    if checker is None:
        with FileChecker(default_workers()) as own:
            return verify_collection(sessions, collection, run_id=run_id,
                                     expect_head=expect_head, public_key=public_key,
                                     progress=progress, checker=own)
    began = time.monotonic()
    report, ledger_part = Report(), Report()
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
        paths = [warc_path(archive, f.name) for f in files]
        checker.scan(path for path in paths if path is not None)
        if progress:
            progress.start(sum(path.stat().st_size for path in paths if path is not None))
            checker.on_bytes = progress.advance
        per_file = _FileProblems(checker)
        first, rest = files[:checker.workers], files[checker.workers:]
        for warc in first:
            per_file.add(session, archive, warc, uuids[warc.run_id], report)
        # every worker has a file to check: walk the ledger meanwhile (reported last)
        check_ledger(session, runs, ledger_part, expect_head=expect_head, public_key=public_key)
        for warc in rest:
            per_file.add(session, archive, warc, uuids[warc.run_id], report)
        per_file.collect(report)
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
    _merge_ledger(report, ledger_part)
    report.seconds = time.monotonic() - began
    return report


def _merge_ledger(report: Report, part: Report) -> None:
    """The ledger's findings after the files', as they were reported when checked last."""
    report.problems += part.problems
    report.notes += part.notes
    report.ledger_entries, report.ledger_head = part.ledger_entries, part.ledger_head
    report.expected_head_seq = part.expected_head_seq
    report.signatures_checked = part.signatures_checked
    report.signatures_unchecked = part.signatures_unchecked
