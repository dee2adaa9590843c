"""Plain-text helpers shared by the seed-copy and live-page extractors.

`key()` reduces a text to its words (letters, digits and combining marks of any
script, case-folded) so that whitespace, case, quotes and punctuation never count as a
difference; `similarity()` compares two texts word by word; `find_dates()` finds the
dates written in a line of text (English month names, ISO dates, "N hours ago").
No settings are read.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher


def clean(text: str) -> str:
    """NFKC, non-breaking and zero-width spaces made plain, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).replace("\u200b", "").replace("\ufeff", "")
    return " ".join(text.split())


def key(text: str) -> str:
    """The words of `text`, case-folded, with every punctuation mark and symbol removed."""
    out = [ch if unicodedata.category(ch)[0] in "LNM" else " "
           for ch in unicodedata.normalize("NFKC", text).casefold()]
    return " ".join("".join(out).split())


def words(text: str) -> list[str]:
    return key(text).split()


def similarity(a: str, b: str) -> float:
    """0..1: how much of the two texts' word sequences is shared."""
    wa, wb = words(a), words(b)
    if not wa and not wb:
        return 1.0
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def word_diff(a: str, b: str) -> list[tuple[str, str, str]]:
    """(op, seed words, live words) runs, op in equal|replace|delete|insert."""
    wa, wb = clean(a).split(), clean(b).split()
    ka, kb = [key(w) for w in wa], [key(w) for w in wb]
    runs: list[tuple[str, str, str]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        runs.append((op, " ".join(wa[i1:i2]), " ".join(wb[j1:j2])))
    return runs


MONTHS = {name: i for i, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
    ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
    ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), start=1) for name in names}
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?,?\s+)?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_TIME = (r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?"
         r"(?:\s*\[?[A-Z]{2,4}\]?)?)?")
DATE_PATTERNS = (
    re.compile(_WEEKDAY + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + _TIME, re.I),
    re.compile(_WEEKDAY + _DAY + r"\s+" + _MONTH + r",?\s+" + _YEAR + _TIME, re.I),
    re.compile(r"(?<![\d-])(?P<year>(?:19|20)\d{2})-(?P<month>\d{2})-(?P<day>\d{2})"
               r"(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\d])"),
)
RELATIVE = re.compile(
    r"\b(?:\d+|an?|one)\s+(?:second|minute|min|hour|hr|day|week|month|year)s?\s+ago\b"
    r"|\bjust now\b", re.I)


@dataclass(frozen=True)
class DateMention:
    """A date written in a text: where it is and what it says."""

    text: str
    start: int
    end: int
    date: dt.date | None  # None for relative dates ("7 hours ago")

    @property
    def relative(self) -> bool:
        return self.date is None


def _to_date(match: re.Match[str]) -> dt.date | None:
    month_text = match.group("month")
    month = int(month_text) if month_text.isdigit() else MONTHS[month_text.lower().rstrip(".")]
    try:
        return dt.date(int(match.group("year")), month, int(match.group("day")))
    except ValueError:
        return None


def find_dates(text: str) -> list[DateMention]:
    """Every absolute or relative date written in `text`, in order, without overlaps."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            day = _to_date(m)
            if day is not None and free(m.start(), m.end()):
                found.append(DateMention(m.group(0).strip(), m.start(), m.end(), day))
                taken.append((m.start(), m.end()))
    for m in RELATIVE.finditer(text):
        if free(m.start(), m.end()):
            found.append(DateMention(m.group(0), m.start(), m.end(), None))
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda d: d.start)


def parse_iso_day(value: str | None) -> dt.date | None:
    """The calendar day of an ISO date or datetime string, as written (no zone shift)."""
    if not value:
        return None
    m = re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", value)
    if not m:
        mentions = [d for d in find_dates(value) if d.date]
        return mentions[0].date if mentions else None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
