"""One WARC file's scan against the rows that point into it: a pure function.

`check_file` takes what the database says about one file (a `FileTask`: its row
and the rows of its captures, whose records crawler.audit.records.expectations
lists) and the file's records as crawler.warc.scan recomputes them, and returns
every problem with its coordinates: records that differ from their rows (or from
themselves), records no row points to, rows whose record is not in the file,
incomplete or corrupt gzip members, and a closed file whose size or SHA-256 differs
from its row. A record is matched with its rows by record id, so a record that
moved is reported as moved. No I/O beyond the scan it is given and no database, so
it runs in the worker process that reads the file (crawler.audit.workers). A large
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

from crawler.audit.records import (
    CaptureRow,
    Expected,
    check_record,
    expectations,
    record_findings,
)
from crawler.audit.report import Problem
from crawler.warc.scan import FileScan, ScannedRecord


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

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with the rows as plain tuples: pickle writes those in C, where each
        NamedTuple costs a Python call (a worker gets thousands of rows per file)."""
        return _task, (self.path, self.row, [tuple(row) for row in self.captures])

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


def _task(path: Path, row: FileRow, captures: list[tuple[Any, ...]]) -> FileTask:
    return FileTask(path, row, [CaptureRow._make(values) for values in captures])


def captures_in(expected: dict[str, Expected]) -> int:
    """How many captures have at least one record in the file."""
    return len({e.capture_id for e in expected.values() if e.capture_id})


def missing_file(name: str, expected: dict[str, Expected]) -> list[Problem]:
    """The file is gone, and with it every record the rows point at."""
    return [Problem("record-missing", f"the file is missing, so is this {gone.kind} record",
                    file=name, offset=gone.offset, record_id=gone.record_id,
                    capture_id=gone.capture_id) for gone in expected.values()]


class RowIndex:
    """A file's rows as the records they point at, indexed for the walk: built once per
    file in each process that checks parts of it (a worker may check several)."""

    def __init__(self, task: FileTask) -> None:
        self.expected = task.expected()
        self.listed = list(self.expected.values())
        self.order = {rid: i for i, rid in enumerate(self.expected)}
        self.by_offset = {e.offset: e for e in self.listed if e.offset is not None}


@dataclass
class PartOutcome:
    """What checking the records of one part of a file found (crawler.warc.scan's
    `scan_file` start/stop): their problems, and which expected records they were —
    one byte per record the rows point at, in `FileTask.expected()` order, 1 where this
    part found it — for `join_parts` to find the rows whose record is in no part (a few
    KB to send back from a worker where a set of record ids was hundreds)."""

    scan: FileScan
    problems: list[Problem] = field(default_factory=list)
    matched: bytes = b""
    records: int = 0


def check_part(task: FileTask, scan: FileScan, records: Iterable[ScannedRecord],
               index: RowIndex | None = None) -> PartOutcome:
    """Walk the records of the file, or of one part of it, against the file's rows
    (`index`: the rows indexed, when the caller keeps them for several parts)."""
    rows = index or RowIndex(task)
    order, listed, by_offset = rows.order, rows.listed, rows.by_offset
    matched = bytearray(len(listed))
    part = PartOutcome(scan)
    problems = part.problems
    name = task.path.name
    for rec in records:
        part.records += 1
        rid = rec.record_id
        at = order.get(rid) if rid else None
        if at is not None and matched[at]:  # a second copy in this part: as if unreferenced
            at = None
        found = record_findings(rec)
        if at is not None:
            matched[at] = 1
            exp = listed[at]
            found += check_record(rec, exp)
            if found:
                problems += [Problem(kind, message, file=name, offset=rec.offset,
                                     record_id=rid, capture_id=exp.capture_id)
                             for kind, message in found]
            continue
        there = by_offset.get(rec.offset)
        hint = (f"; the database expects {there.record_id} at this offset"
                if there and there.record_id != rid else "")
        found.append(("record-unreferenced", f"no row points to this {rec.record_type} record "
                      f"({rec.header('WARC-Target-URI')}){hint}"))
        problems += [Problem(kind, message, file=name, offset=rec.offset, record_id=rid)
                     for kind, message in found]
    part.matched = bytes(matched)
    return part


def join_parts(task: FileTask, parts: list[PartOutcome],
               index: RowIndex | None = None) -> FileOutcome | None:
    """The file's outcome from its parts' (in file order), exactly as one walk over the
    whole file would have found it; None where the parts do not join up — a part did
    not begin where the one before it ended (a whole record's member stored inside
    another just after the cut: the later part began there, the earlier walked past
    it; or a corrupt member there, which the later part skipped), or one
    record id was matched in two parts — and the file must be checked in one walk."""
    for before, after in pairwise(parts):
        if before.scan.ended != after.scan.began:
            return None
    rows = index or RowIndex(task)
    seen = 0
    for part in parts:  # one byte per expected record, 0 or 1: disjoint parts add up
        found = int.from_bytes(part.matched, "little")
        if seen & found:
            return None
        seen |= found
    matched = seen.to_bytes(len(rows.listed), "little")
    first, last = parts[0].scan, parts[-1].scan
    scan = FileScan(task.path, sha256=first.sha256, size=first.size,
                    truncated_at=last.truncated_at,
                    corrupt=[c for part in parts for c in part.scan.corrupt], ended=last.ended)
    outcome = FileOutcome(captures=captures_in(rows.expected), bytes=scan.size,
                          records=sum(part.records for part in parts))
    problems = outcome.problems
    for part in parts:
        problems += part.problems
    name = task.path.name
    for exp, found in zip(rows.listed, matched, strict=True):
        if not found:
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
    rows = RowIndex(task)
    outcome = join_parts(task, [check_part(task, scan, records, rows)], rows)
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
