"""The flag vocabulary: what a comparison of a capture with its seed copy can report.

A `Flag` has a kind (exactly one of KINDS), a severity (info < warning < critical),
a one-sentence message and evidence: the seed lines it rests on (with line numbers)
and the live text (with where on the page it was found). Flags are plain frozen
values; `crawler.compare.recorded` stores them in the `flags` table. No settings are read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS: tuple[str, ...] = (
    "date_mismatch",
    "title_changed",
    "text_changed",
    "text_added",
    "text_removed",
    "seed_boilerplate",
    "seed_artifact",
    "not_found",
    "soft_404",
    "redirected",
    "fetch_failed",
)
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Evidence:
    """One quoted piece of evidence: seed lines (`source="seed"`) or live text."""

    source: str  # "seed" or "live"
    text: str
    where: str  # "line 7", "lines 32-74", "<h1>", "JSON-LD datePublished", "section.more-articles"
    line: int | None = None  # first seed line (1-based)
    end_line: int | None = None  # last seed line

    def __post_init__(self) -> None:
        if self.source not in ("seed", "live"):
            raise ValueError(f"evidence source {self.source!r}: expected 'seed' or 'live'")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "where": self.where, "text": self.text}
        if self.line is not None:
            out["line"] = self.line
            out["end_line"] = self.end_line if self.end_line is not None else self.line
        return out


def seed_evidence(text: str, line: int, end_line: int | None = None) -> Evidence:
    end = end_line if end_line is not None else line
    where = f"line {line}" if end == line else f"lines {line}-{end}"
    return Evidence("seed", text, where, line, end)


def live_evidence(text: str, where: str) -> Evidence:
    return Evidence("live", text, where)


@dataclass(frozen=True)
class Flag:
    """One difference between a capture and its seed copy."""

    kind: str
    severity: str
    message: str
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"flag kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")

    @property
    def at_least_warning(self) -> bool:
        return severity_rank(self.severity) >= severity_rank("warning")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "message": self.message,
                "evidence": [e.to_dict() for e in self.evidence]}

    def evidence_json(self, inputs: Mapping[str, Any] | None = None) -> str:
        """The `flags.evidence_json` column: evidence plus the inputs it was derived from."""
        body: dict[str, Any] = {"evidence": [e.to_dict() for e in self.evidence]}
        if inputs:
            body["inputs"] = dict(inputs)
        return json.dumps(body, sort_keys=True, ensure_ascii=False)

