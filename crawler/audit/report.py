"""What `crawler verify` finds: problems with their coordinates, the ledger's findings,
and the report that carries both to the command (text or `--json`).

Plain values only (no database, no WARC reading): the verify workers import
`Problem` and send problems back to the main process. Reads no settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


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
class LedgerFindings:
    """The ledger part of a verification (crawler.audit.ledger.check_ledger)."""

    entries: int = 0
    head: str = ""
    expected_head_seq: int | None = None
    signatures_checked: int = 0
    signatures_unchecked: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, message: str, **where: Any) -> None:
        self.problems.append(Problem(kind, message, **where))


@dataclass
class Report:
    """A whole verification: what the files, records and rows showed (`found`, in file
    order), then the ledger's findings, which are reported last."""

    found: list[Problem] = field(default_factory=list)
    scope: str = "all runs"
    files: int = 0
    records: int = 0
    captures: int = 0
    bytes: int = 0
    seconds: float = 0.0
    ledger: LedgerFindings = field(default_factory=LedgerFindings)

    @property
    def problems(self) -> list[Problem]:
        return [*self.found, *self.ledger.problems]

    @property
    def notes(self) -> list[str]:
        return self.ledger.notes

    @property
    def ok(self) -> bool:
        return not self.found and not self.ledger.problems

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def add(self, kind: str, message: str, **where: Any) -> None:
        self.found.append(Problem(kind, message, **where))

    def as_dict(self) -> dict[str, Any]:
        ledger = self.ledger
        return {
            "problems": [asdict(p) | {"line": p.line()} for p in self.problems],
            "scope": self.scope, "files": self.files, "records": self.records,
            "captures": self.captures, "bytes": self.bytes, "seconds": self.seconds,
            "ledger_entries": ledger.entries, "ledger_head": ledger.head,
            "expected_head_seq": ledger.expected_head_seq,
            "signatures_checked": ledger.signatures_checked,
            "signatures_unchecked": ledger.signatures_unchecked,
            "notes": list(ledger.notes), "ok": self.ok, "mb_per_s": round(self.mb_per_s, 2),
        }


@dataclass(frozen=True)
class ProgressHooks:
    """How the caller follows along: total bytes to read, then bytes as they are read."""

    start: Callable[[int], None]
    advance: Callable[[int], None]
