"""A seed copy (an old plain-text scrape of an article) read and analysed on its own.

`load_seed_copy(path)` reads the file (UTF-8, strictly: a copy that is not UTF-8 is bad
input, never repaired) and keeps every line with its 1-based number. From the text
alone it finds: scrape residue (`Artifact`: a headline fused with itself or with a
metadata field, an empty tag list), lines that look like page chrome (menus, ads,
share buttons, footers, "7 hours ago" teasers), a headline guess, and every date with
its position and context (`SeedDate`). The comparison with a live page refines the
line roles (crawler.compare.lines). No settings are read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crawler.compare.text import clean, find_dates, key
from crawler.errors import BadInput

_ISO = r"(?:19|20)\d{2}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?"
FUSED_METADATA = re.compile(
    r"^\s*(?P<field>date|published|updated|modified|posted|datepublished|datemodified|pubdate)"
    r"\s*[:=]?\s*(?P<value>" + _ISO + r")\s+(?P<rest>\S.*)$", re.I)
EMPTY_TAGS = re.compile(r"^[\s,;|·•]*$")
BULLET = re.compile(r"^\s*[•·▪◦*–-]\s+\S")
CHROME_LINES = (
    (re.compile(r"^(ADVT|Advertisement|Advertisements|Sponsored( content)?)$", re.I),
     "advertisement"),
    (re.compile(r"©|\ball rights reserved\b", re.I), "copyright footer"),
    (re.compile(r"^(no results?|view all results?|read more(details)?|load more|share|tweet|"
                r"send|suggest a correction|print|email|subscribe|menu|search|home|"
                r"share on \w+.*|click here\b.*|enter your email\b.*|sign up\b.*|"
                r"developed by\b.*|powered by\b.*|follow us\b.*)$", re.I), "site utility"),
    (re.compile(r"^(\d+|an?)\s+(second|minute|hour|day|week)s?\s+ago$", re.I),
     "teaser timestamp"),
    (re.compile(r"^(also read|related( articles| posts| stories| news)?|more\b.*\barticles|"
                r"most (read|viewed|popular)|trending( now)?|archives|latest news|"
                r"read more about:.*|tags?:.*|you may also like)$", re.I), "list heading"),
)
LIST_HEADINGS = "list heading"


@dataclass(frozen=True)
class SeedLine:
    number: int
    text: str

    @property
    def clean(self) -> str:
        return clean(self.text)

    @property
    def blank(self) -> bool:
        return not self.clean


@dataclass(frozen=True)
class Artifact:
    """Scrape residue in the copy."""

    kind: str  # "fused_headline", "fused_metadata" or "empty_tags"
    line: int
    text: str
    detail: str
    headline: str | None = None  # the headline text inside the fused line


@dataclass(frozen=True)
class SeedDate:
    """A date written in the copy, with its line and what that line is."""

    date: dt.date | None
    text: str
    line: int
    role: str  # header_date, byline, published, updated, metadata, teaser, chrome, in_text, other
    context: str

    def to_dict(self) -> dict[str, object]:
        return {"date": self.date.isoformat() if self.date else None, "text": self.text,
                "line": self.line, "role": self.role, "context": self.context}


@dataclass(frozen=True)
class SeedCopy:
    path: Path | None
    sha256: str
    lines: tuple[SeedLine, ...]

    @property
    def nonblank(self) -> list[SeedLine]:
        return [ln for ln in self.lines if not ln.blank]

    def line(self, number: int) -> SeedLine:
        return self.lines[number - 1]


def parse_seed_copy(data: bytes, path: Path | None = None) -> SeedCopy:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"seed copy {path or '(given)'}: is not UTF-8 text ({exc.reason} at byte "
                       f"{exc.start}); it is kept as it is, convert it deliberately") from None
    text = text.removeprefix("\ufeff")
    lines = tuple(SeedLine(i, t) for i, t in enumerate(text.splitlines(), start=1))
    return SeedCopy(path=path, sha256=hashlib.sha256(data).hexdigest(), lines=lines)


def load_seed_copy(path: str | Path) -> SeedCopy:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"seed copy {path}: file not found") from None
    except IsADirectoryError:
        raise BadInput(f"seed copy {path}: is a folder, not a file") from None
    except OSError as exc:
        raise BadInput(f"seed copy {path}: cannot be read ({exc.strerror})") from None
    return parse_seed_copy(data, path)


def self_fused(text: str) -> str | None:
    """The repeated half when `text` is a string run together with itself."""
    s = clean(text)
    half = len(s) // 2
    for cut in range(max(1, half - 3), min(len(s), half + 4)):
        a, b = s[:cut].strip(), s[cut:].strip()
        if len(a) >= 10 and len(key(a).split()) >= 2 and key(a) == key(b):
            return a
    return None


def find_artifacts(copy: SeedCopy) -> list[Artifact]:
    found = []
    for ln in copy.lines:
        if ln.blank:
            continue
        repeated = self_fused(ln.text)
        meta = FUSED_METADATA.match(ln.text)
        if repeated:
            found.append(Artifact("fused_headline", ln.number, ln.text,
                                  f"the text {repeated!r} run together with itself", repeated))
        elif meta and len(meta.group("rest").split()) >= 3:
            found.append(Artifact(
                "fused_metadata", ln.number, ln.text,
                f"a metadata field ({meta.group('field').strip()} {meta.group('value')}) "
                "fused with the headline", clean(meta.group("rest"))))
        elif EMPTY_TAGS.match(ln.text) and sum(ln.text.count(c) for c in ",;|") >= 3:
            found.append(Artifact("empty_tags", ln.number, ln.text,
                                  "a tag list with every tag missing"))
    return found


def chrome_hint(text: str) -> str | None:
    """What kind of page chrome a line looks like on its own, if it does."""
    s = clean(text)
    if not s:
        return None
    if BULLET.match(text) and len(s.split()) <= 5:
        return "menu item"
    for pattern, label in CHROME_LINES:
        if pattern.search(s):
            return label
    return None


def is_date_only(text: str) -> bool:
    s = clean(text)
    mentions = find_dates(s)
    covered = sum(len(d.text) for d in mentions)
    return bool(mentions) and covered >= 0.8 * len(s.replace(" ", "")) - 2


def guess_headline(copy: SeedCopy, artifacts: list[Artifact]) -> tuple[int, str] | None:
    """The copy's headline line when nothing else is known: first title-like line."""
    fused = {a.line: a.headline for a in artifacts if a.headline}
    for ln in copy.nonblank[:60]:
        if ln.number in fused:
            return ln.number, fused[ln.number] or ln.clean
        s = ln.clean
        if chrome_hint(ln.text) or is_date_only(s) or not 3 <= len(s.split()) <= 30:
            continue
        if s.endswith((".", "!", ",", ";")):
            continue
        return ln.number, s
    return None


ROLE_PATTERNS = (
    (re.compile(r"^\s*(last\s+)?(updated|modified)\b", re.I), "updated"),
    (re.compile(r"\b(story\s+)?(first\s+)?(published|posted)( on)?\b", re.I), "published"),
)


def seed_dates(copy: SeedCopy, *, line_roles: Mapping[int, str],
               headline_line: int | None) -> list[SeedDate]:
    """Every date in the copy with its role, given each line's role (article, chrome, ...)."""
    out = []
    meta_lines = {m.line for m in find_artifacts(copy) if m.kind == "fused_metadata"}
    for ln in copy.nonblank:
        for mention in find_dates(ln.text):
            role = line_roles.get(ln.number, "other")
            if ln.number in meta_lines:
                kind = "metadata"
            elif mention.relative:
                kind = "teaser"
            elif role == "chrome":
                kind = "chrome"
            elif role == "article":
                kind = "in_text"
            elif any(p.search(ln.text) for p, _ in ROLE_PATTERNS):
                kind = next(k for p, k in ROLE_PATTERNS if p.search(ln.text))
            elif is_date_only(ln.text) and (headline_line is None or ln.number < headline_line):
                kind = "header_date"
            elif headline_line is not None and 0 < ln.number - headline_line <= 6:
                kind = "byline"
            else:
                kind = "other"
            out.append(SeedDate(mention.date, mention.text, ln.number, kind, ln.clean))
    return out


#: the roles of dates that the copy presents as the article's own date
PRESENTED_ROLES = ("header_date", "byline", "published", "updated", "metadata")
