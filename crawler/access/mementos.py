"""Which archived captures stand for a URL: its mementos, found through the CDXJ index.

A URL's mementos are the successful (non-redirect) responses reached from it:
- captures of the URL itself, compared by SURT key as replay tools do (host case,
  `www.`, query order and fragments do not matter), and captures whose first requested
  URL is one of those URLs;
- the end of every redirect chain that starts at or passes through one of them;
- pages whose archived HTML names the URL as `<link rel="canonical">`, and captures of
  the canonical URL a memento names (one step each way, read from the WARC bytes).

When `archive/index.cdxj` and `archive/canonical.cdxj` are current and cover every WARC
file on record (`crawler.access.cdx.current_lookup_files`), the URL's lines are found by
binary search and mapped to their capture rows by (WARC file, offset); only the URL's
own pages that do not name it as canonical are read for their canonical URL. Otherwise
(no index, a WARC file newer than it, a file still being written or missing) every URL
on record is keyed and every page capture read, as `mementos_in_database` does. Both
give the same mementos; neither writes anything.

`nearest` picks the memento closest to a datetime; `suggest` offers the archived URLs
most like an unknown one (difflib). Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urljoin

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session, joinedload

from crawler.access import cdx
from crawler.access.archived_page import canonical_href, read_response
from crawler.access.cdx import url_key
from crawler.errors import BadInput, CrawlerError
from crawler.roles import PAGE, ROBOTS
from crawler.store.models import Capture, WarcFile

log = logging.getLogger(__name__)

def is_memento(cap: Capture) -> bool:
    """A stored response that is not a redirect, robots.txt or failure."""
    return (cap.status is not None and not 300 <= cap.status < 400
            and cap.role != ROBOTS and cap.warc_record_id is not None
            and cap.response_offset is not None and cap.warc_file is not None)


def _load(session: Session, where: ColumnElement[bool]) -> list[Capture]:
    query = (select(Capture).options(joinedload(Capture.warc_file), joinedload(Capture.seed))
             .where(where).order_by(Capture.fetched_at, Capture.id))
    return list(session.scalars(query).unique().all())


def _follow_redirects(session: Session, start: Iterable[Capture]) -> list[Capture]:
    """The captures reached from `start` through recorded redirect hops."""
    seen: dict[int, Capture] = {}
    todo = list(start)
    while todo:
        cap = todo.pop()
        if cap.id in seen:
            continue
        seen[cap.id] = cap
        if cap.status is not None and 300 <= cap.status < 400:
            todo.extend(_load(session, Capture.redirect_from_id == cap.id))
    return list(seen.values())


def _reached(session: Session, start: Iterable[Capture]) -> list[Capture]:
    return [c for c in _follow_redirects(session, start) if is_memento(c)]


def canonical_of(cap: Capture, archive_dir: Path) -> str | None:
    """The canonical URL an archived HTML page declares (None for other content)."""
    if "html" not in (cap.content_type or "") or cap.warc_file is None:
        return None
    try:
        rec = read_response(archive_dir / cap.warc_file.name, int(cap.response_offset or 0))
    except CrawlerError as exc:
        log.warning("cannot read capture %s for its canonical URL: %s", cap.id, exc)
        return None
    href = canonical_href(rec.body, content_type=rec.content_type)
    return urljoin(cap.url, href) if href else None


def _sorted(caps: Iterable[Capture]) -> list[Capture]:
    unique = {c.id: c for c in caps}
    return sorted(unique.values(), key=lambda c: (c.fetched_at, c.id))


# -- the database path: every URL keyed, every page read -----------------------------------

def _captures_by_key(session: Session, keys: set[str]) -> list[Capture]:
    """Captures whose URL (or first requested URL) has one of these SURT keys."""
    urls = session.execute(select(Capture.url, Capture.requested_url).distinct()).all()
    wanted = {u for row in urls for u in row if u and url_key(u) in keys}
    if not wanted:
        return []
    return _load(session, or_(Capture.url.in_(wanted), Capture.requested_url.in_(wanted)))


def mementos_in_database(session: Session, url: str, *, archive_dir: Path) -> list[Capture]:
    """Every memento of `url`, oldest first, without the index: reads every page capture."""
    keys = {url_key(url)}
    found = _reached(session, _captures_by_key(session, keys))
    pages = [c for c in _load(session, Capture.role == PAGE) if is_memento(c)]
    canon = {c.id: canonical_of(c, archive_dir) for c in pages}
    by_canonical = [c for c in pages if canon[c.id] and url_key(canon[c.id] or "") in keys]
    named = {url_key(canon[c.id] or "") for c in found if canon.get(c.id)} - keys
    if named:
        found += _reached(session, _captures_by_key(session, named))
    return _sorted([*found, *by_canonical])


# -- the index path: the URL's lines, mapped to rows by (file, offset) -----------------------

def _at_lines(session: Session, lines: list[cdx.CdxjLine]) -> ColumnElement[bool]:
    """Captures whose response record is at one of these lines' (file, offset)."""
    offsets: dict[str, set[int]] = defaultdict(set)
    for line in lines:
        offsets[line.filename].add(line.offset)
    if not offsets:
        return false()
    files = session.execute(select(WarcFile.id, WarcFile.name)
                            .where(WarcFile.name.in_(offsets))).all()
    return or_(false(), *(and_(Capture.warc_file_id == file_id,
                               Capture.response_offset.in_(offsets[name]))
                          for file_id, name in files))


def _captures_in_index(session: Session, archive_dir: Path, urls: set[str]) -> list[Capture]:
    """Captures of these URLs' SURT keys: the index lines' own rows, and the later hops
    that carry one of the lines' URLs (or `urls`) as their first requested URL."""
    lines = [line for key in sorted({url_key(u) for u in urls})
             for line in cdx.lines_for_key(archive_dir / cdx.INDEX_NAME, key)]
    wanted = set(urls) | {line.url for line in lines}
    return _load(session, or_(_at_lines(session, lines), Capture.requested_url.in_(wanted)))


def _mementos_in_index(session: Session, url: str, archive_dir: Path) -> list[Capture]:
    keys = {url_key(url)}
    found = _reached(session, _captures_in_index(session, archive_dir, {url}))
    lines = [line for key in keys
             for line in cdx.lines_for_key(archive_dir / cdx.CANONICAL_NAME, key)]
    href = {(line.filename, line.offset): str(line.fields["canonical"]) for line in lines}

    def names_url(cap: Capture) -> bool:
        where = (cap.warc_file.name if cap.warc_file else "", cap.response_offset or 0)
        return where in href and url_key(urljoin(cap.url, href[where])) in keys

    by_canonical = [c for c in _load(session, _at_lines(session, lines))
                    if c.role == PAGE and is_memento(c) and "html" in (c.content_type or "")
                    and names_url(c)]
    declares_url = {c.id for c in by_canonical}
    named: set[str] = set()
    for cap in found:  # the URL's own pages; those that name it as canonical need no read
        if cap.role == PAGE and cap.id not in declares_url:
            canonical = canonical_of(cap, archive_dir)
            if canonical and url_key(canonical) not in keys:
                named.add(canonical)
    if named:
        found += _reached(session, _captures_in_index(session, archive_dir, named))
    return _sorted([*found, *by_canonical])


def _index_covers(session: Session, archive_dir: Path) -> bool:
    """The index is current and covers every WARC file on record, closed."""
    covered = cdx.current_lookup_files(archive_dir)
    if covered is None:
        return False
    return set(session.scalars(select(WarcFile.name))) <= covered


def mementos(session: Session, url: str, *, archive_dir: Path) -> list[Capture]:
    """Every memento of `url`, oldest first (empty when nothing was archived)."""
    if _index_covers(session, archive_dir):
        return _mementos_in_index(session, url, archive_dir)
    log.info("archive/%s is missing or not current: looking %s up in the database",
             cdx.INDEX_NAME, url)
    return mementos_in_database(session, url, archive_dir=archive_dir)


def require_mementos(session: Session, url: str, *, archive_dir: Path) -> list[Capture]:
    """The mementos of `url`, oldest first; BadInput naming similar URLs when there are none."""
    caps = mementos(session, url, archive_dir=archive_dir)
    if not caps:
        raise unknown_url(session, url)
    return caps


def nearest(caps: list[Capture], at: dt.datetime | None) -> Capture:
    """The memento closest to `at` (the latest when `at` is None; ties: the earlier)."""
    if not caps:
        raise ValueError("no mementos")
    if at is None:
        return caps[-1]
    return min(caps, key=lambda c: (abs((c.fetched_at - at).total_seconds()), c.fetched_at))


def parse_when(text: str) -> dt.datetime:
    """`--at`: an ISO date or date-time (UTC unless it says otherwise), or 14 digits."""
    value = text.strip()
    try:
        if value.isdigit() and 4 <= len(value) <= 14:
            padded = value + "0101000000"[len(value) - 4:] if len(value) < 14 else value
            when = dt.datetime.strptime(padded[:14], "%Y%m%d%H%M%S")
        else:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--at {text!r}: expected a date such as 2026-11-22, "
                       f"2026-11-22T13:45:00Z or 20261122134500") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def suggest(session: Session, url: str, *, limit: int = 5) -> list[str]:
    """Archived URLs most like `url`, for the error message of an unknown URL."""
    rows = session.execute(select(Capture.url).where(Capture.role != ROBOTS).distinct())
    urls = sorted({u for (u,) in rows if u})
    return difflib.get_close_matches(url, urls, n=limit, cutoff=0.4)


def unknown_url(session: Session, url: str) -> BadInput:
    close = suggest(session, url)
    hint = ("; closest archived URLs:\n  " + "\n  ".join(close)) if close else \
        "; nothing similar is archived (see `crawler captures --pages`)"
    return BadInput(f"no archived capture of {url}{hint}")
