"""One WARC file's scan against the rows that point into it: a pure function.

`check_file` takes what the database says about one file (a `FileTask`: its row
and the rows of its captures, whose records crawler.verify_records.expectations
lists) and the file's records as crawler.verify_scan recomputes them, and returns
every problem with its coordinates: records that differ from their rows (or from
themselves), records no row points to, rows whose record is not in the file,
incomplete or corrupt gzip members, and a closed file whose size or SHA-256 differs
from its row. A record is matched with its rows by record id, so a record that
moved is reported as moved. No I/O beyond the scan it is given and no database, so
it runs in the worker process that reads the file (crawler.verify_workers). A large
file is checked in parts by several workers at once: `check_part` for each, then
`join_parts`, which finds the same problems as one walk or says the parts do not join.
Reads no settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from crawler.verify_records import (
    CaptureRow,
    Expected,
    Problem,
    compare,
    expectations,
    record_findings,
)
from crawler.verify_scan import FileScan, ScannedRecord


@dataclass(frozen=True)
class FileRow:
    """What a `warc_files` row says about the file, and which run wrote it."""

    name: str
    sha256: str | None
    size: int | None
    warcinfo_id: str
    run_uuid: str


@dataclass(frozen=True)
class FileTask:
    """One file to check: where it is on disk (the final name or the `.open` one),
    its row, and the rows of the captures that point into it."""

    path: Path
    row: FileRow
    captures: list[CaptureRow]

    @property
    def final(self) -> bool:
        return self.path.name == self.row.name

    def expected(self) -> dict[str, Expected]:
        """The records the rows point at, by record id (the warcinfo record too)."""
        return expectations(self.row.warcinfo_id, self.row.run_uuid, self.captures)


@dataclass
class FileOutcome:
    """What checking one file found; problems are in offset order."""

    problems: list[Problem] = field(default_factory=list)
    records: int = 0
    captures: int = 0
    bytes: int = 0


def captures_in(expected: dict[str, Expected]) -> int:
    """How many captures have at least one record in the file."""
    return len({e.capture_id for e in expected.values() if e.capture_id})


def missing_file(name: str, expected: dict[str, Expected]) -> list[Problem]:
    """The file is gone, and with it every record the rows point at."""
    return [Problem("record-missing", f"the file is missing, so is this {gone.kind} record",
                    file=name, offset=gone.offset, record_id=gone.record_id,
                    capture_id=gone.capture_id) for gone in expected.values()]


@dataclass
class PartOutcome:
    """What checking the records of one part of a file found (crawler.verify_scan's
    `scan_file` start/stop): their problems, and which expected records they were,
    by record id, for `join_parts` to find the rows whose record is in no part."""

    scan: FileScan
    problems: list[Problem] = field(default_factory=list)
    matched: set[str] = field(default_factory=set)
    records: int = 0


def check_part(task: FileTask, scan: FileScan, records: Iterable[ScannedRecord]) -> PartOutcome:
    """Walk the records of the file, or of one part of it, against the file's rows."""
    expected = task.expected()
    part = PartOutcome(scan)
    problems = part.problems
    name = task.path.name
    by_offset = {e.offset: e for e in expected.values() if e.offset is not None}
    for rec in records:
        part.records += 1
        rid = rec.record_id
        exp = expected.pop(rid, None) if rid else None
        where: dict[str, Any] = {"file": name, "offset": rec.offset, "record_id": rid,
                                 "capture_id": exp.capture_id if exp else None}
        for kind, message in record_findings(rec):
            problems.append(Problem(kind, message, **where))
        if exp is not None:
            part.matched.add(exp.record_id)
            for kind, message in compare(rec, exp):
                problems.append(Problem(kind, message, **where))
            continue
        there = by_offset.get(rec.offset)
        hint = (f"; the database expects {there.record_id} at this offset"
                if there and there.record_id != rid else "")
        problems.append(Problem("record-unreferenced", f"no row points to this "
                                f"{rec.record_type} record ({rec.header('WARC-Target-URI')}){hint}",
                                **where))
    return part


def join_parts(task: FileTask, parts: list[PartOutcome]) -> FileOutcome | None:
    """The file's outcome from its parts' (in file order), exactly as one walk over the
    whole file would have found it; None where the parts do not join up — a part did
    not begin where the one before it ended (a gzip header inside a whole member just
    after the cut: the later part began there, the earlier walked past it), or one
    record id was matched in two parts — and the file must be checked in one walk."""
    for before, after in pairwise(parts):
        if before.scan.ended != after.scan.began:
            return None
    matched: set[str] = set()
    for part in parts:
        if not matched.isdisjoint(part.matched):
            return None
        matched |= part.matched
    first, last = parts[0].scan, parts[-1].scan
    scan = FileScan(task.path, sha256=first.sha256, size=first.size,
                    truncated_at=last.truncated_at,
                    corrupt=[c for part in parts for c in part.scan.corrupt], ended=last.ended)
    expected = task.expected()
    outcome = FileOutcome(captures=captures_in(expected), bytes=scan.size,
                          records=sum(part.records for part in parts))
    problems = outcome.problems
    for part in parts:
        problems += part.problems
    name = task.path.name
    for rid, exp in expected.items():
        if rid not in matched:
            problems.append(Problem("record-missing", f"the row's {exp.kind} record is not in "
                                    f"the file (the row says offset {exp.offset})", file=name,
                                    offset=exp.offset, record_id=exp.record_id,
                                    capture_id=exp.capture_id))
    problems += _member_problems(name, scan)
    problems += _file_problems(task, scan)
    problems.sort(key=lambda p: -1 if p.offset is None else p.offset)
    return outcome


def check_file(task: FileTask, scan: FileScan, records: Iterable[ScannedRecord]) -> FileOutcome:
    """Walk the whole file's records (as `records` yields them, filling `scan`)."""
    outcome = join_parts(task, [check_part(task, scan, records)])
    assert outcome is not None  # one part always joins
    return outcome


def _member_problems(name: str, scan: FileScan) -> list[Problem]:
    found = []
    if scan.truncated_at is not None:
        found.append(Problem("gzip-truncated", f"the gzip member at offset {scan.truncated_at} "
                             f"is incomplete: the file ends after {scan.size} bytes (truncated)",
                             file=name, offset=scan.truncated_at))
    for offset, error in scan.corrupt:
        found.append(Problem("gzip-corrupt", f"the gzip member is corrupt ({error}); reading "
                             "resumed at the next gzip header", file=name, offset=offset))
    return found


def _file_problems(task: FileTask, scan: FileScan) -> list[Problem]:
    row, name = task.row, task.path.name
    found = []
    if not task.final:
        if row.sha256 is not None:
            found.append(Problem("file-open", "the database records the file as closed (with a "
                                 "SHA-256) but only the .open file exists", file=name))
        return found
    if row.sha256 is None or row.size is None:
        found.append(Problem("file-unrecorded", "the file is closed but the database has no "
                             "SHA-256 or size for it", file=name))
    if row.size is not None and row.size != scan.size:
        found.append(Problem("file-size", f"the file is {scan.size} bytes, the database says "
                             f"{row.size}", file=name))
    if row.sha256 is not None and row.sha256 != scan.sha256:
        found.append(Problem("file-sha256", f"the file hashes to {scan.sha256}, the database "
                             f"says {row.sha256}", file=name))
    return found
