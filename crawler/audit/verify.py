"""`crawler verify`: every provenance row against the archived bytes, and the ledger.

For each WARC file the database knows (of one run, or all), the file is walked in
order, whole or in parts that must join up (crawler.warc.scan, crawler.audit.workers):
its SHA-256 and size are recomputed and compared with the database, every gzip
member must be whole, and every record is parsed and its digests recomputed. Each
record is matched with the rows that point at it by
record id (crawler.audit.files, crawler.audit.records) — so a record that moved is
reported as moved, a record no row points to and a row whose record is missing are
both reported. Files missing, still `.open`, or on disk without a row are reported
too, and the seed copies against their recorded SHA-256. Then the ledger
(crawler.audit.ledger): chain, rows against entries, run heads, signatures, an
expected head. Nothing the bytes can recompute is taken from
the database.

The files are read and checked in worker processes (crawler.audit.workers) while
this process reads the database and walks the ledger; problems are reported in
the same order either way. Memory stays flat in the size of the archive: one file's
rows and a bounded number of records per worker. Reads no settings.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.audit.files import FileRow, FileTask, missing_file
from crawler.audit.ledger import check_ledger
from crawler.audit.records import CaptureRow, expectations
from crawler.audit.report import Problem, ProgressHooks, Report
from crawler.audit.workers import FileChecker, default_workers
from crawler.collection import Collection, warc_path
from crawler.digests import sha256_file
from crawler.errors import BadInput
from crawler.store.models import Capture, CrawlRun, Outlet, WarcFile
from crawler.store.models import Seed as SeedRow

if TYPE_CHECKING:  # cryptography is imported only when a public key is given
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey



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
            report.found += found
            if checked:
                outcome = self.checker.outcome()
                report.found += outcome.problems
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
        report.ledger = check_ledger(session, runs, expect_head=expect_head,
                                     public_key=public_key)
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
            for path in collection.warc_files(include_open=True):
                if path.name.removesuffix(".open") not in recorded:
                    report.add("file-unrecorded", "a WARC file on disk that no warc_files row "
                               "describes", file=path.name)
            check_seed_copies(session, collection, report)
    report.seconds = time.monotonic() - began
    return report


def check_seed_copies(session: Session, collection: Collection, report: Report) -> None:
    """Each recorded seed copy in seeds/ still hashes to its recorded SHA-256."""
    copies = session.execute(  # the columns only: a crawl has thousands of seeds, few copies
        select(SeedRow.id, SeedRow.copy_file, SeedRow.copy_sha256)
        .where(SeedRow.copy_file.is_not(None), SeedRow.copy_file != "").order_by(SeedRow.id))
    for seed_id, copy_file, copy_sha256 in copies:
        path = collection.seeds_dir / str(copy_file)
        if not path.exists():
            report.add("seed-copy", f"seed {seed_id}: its copy {copy_file} is missing")
        elif copy_sha256 and sha256_file(path) != copy_sha256:
            report.add("seed-copy", f"seed {seed_id}: {copy_file} hashes to "
                       f"{sha256_file(path)}, the database says {copy_sha256}")
