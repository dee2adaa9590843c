"""Which archived captures stand for a URL: its mementos, found in the provenance database.

A URL's mementos are the successful (non-redirect) responses reached from it:
- captures of the URL itself, compared by SURT key as replay tools do (host case,
  `www.`, query order and fragments do not matter);
- the end of every redirect chain that starts at or passes through one of them;
- pages whose archived HTML names the URL as `<link rel="canonical">`, and captures of
  the canonical URL a memento names (one step each way, read from the WARC bytes).
`nearest` picks the memento closest to a datetime; `suggest` offers the archived URLs
most like an unknown one (difflib). Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from crawler.access.archived_page import page_info, read_response
from crawler.errors import BadInput, CrawlerError
from crawler.store.models import Capture

log = logging.getLogger(__name__)


def url_key(url: str) -> str:
    """The SURT key replay tools compare URLs by."""
    import surt  # imported here: it pulls in tldextract (~0.3 s) for every CLI start

    try:
        return str(surt.surt(url.split("#", 1)[0]))
    except Exception:  # noqa: BLE001 - an unparsable URL is its own key
        return url


def is_memento(cap: Capture) -> bool:
    """A stored response that is not a redirect, robots.txt or failure."""
    return (cap.status is not None and not 300 <= cap.status < 400
            and cap.role != "robots" and cap.warc_record_id is not None
            and cap.response_offset is not None and cap.warc_file is not None)


def _load(session: Session, where: ColumnElement[bool]) -> list[Capture]:
    query = (select(Capture).options(joinedload(Capture.warc_file), joinedload(Capture.seed))
             .where(where).order_by(Capture.fetched_at, Capture.id))
    return list(session.scalars(query).unique().all())


def _captures_by_key(session: Session, keys: set[str]) -> list[Capture]:
    """Captures whose URL (or first requested URL) has one of these SURT keys."""
    urls = session.execute(select(Capture.url, Capture.requested_url).distinct()).all()
    wanted = {u for row in urls for u in row if u and url_key(u) in keys}
    if not wanted:
        return []
    return _load(session, or_(Capture.url.in_(wanted), Capture.requested_url.in_(wanted)))


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


def canonical_of(cap: Capture, archive_dir: Path) -> str | None:
    """The canonical URL an archived HTML page declares (None for other content)."""
    if "html" not in (cap.content_type or "") or cap.warc_file is None:
        return None
    try:
        rec = read_response(archive_dir / cap.warc_file.name, int(cap.response_offset or 0))
    except CrawlerError as exc:
        log.warning("cannot read capture %s for its canonical URL: %s", cap.id, exc)
        return None
    info = page_info(rec.body, content_type=rec.content_type)
    if not info.canonical:
        return None
    from urllib.parse import urljoin

    return urljoin(cap.url, info.canonical)


def mementos(session: Session, url: str, *, archive_dir: Path) -> list[Capture]:
    """Every memento of `url`, oldest first (empty when nothing was archived)."""
    keys = {url_key(url)}
    found = [c for c in _follow_redirects(session, _captures_by_key(session, keys))
             if is_memento(c)]
    pages = [c for c in _load(session, Capture.role == "page") if is_memento(c)]
    canon = {c.id: canonical_of(c, archive_dir) for c in pages}
    by_canonical = [c for c in pages if canon[c.id] and url_key(canon[c.id] or "") in keys]
    named = {url_key(canon[c.id] or "") for c in found if canon.get(c.id)} - keys
    if named:
        found += [c for c in _follow_redirects(session, _captures_by_key(session, named))
                  if is_memento(c)]
    unique = {c.id: c for c in [*found, *by_canonical]}
    return sorted(unique.values(), key=lambda c: (c.fetched_at, c.id))


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
    rows = session.execute(select(Capture.url).where(Capture.role != "robots").distinct())
    urls = sorted({u for (u,) in rows if u})
    return difflib.get_close_matches(url, urls, n=limit, cutoff=0.4)


def unknown_url(session: Session, url: str) -> BadInput:
    close = suggest(session, url)
    hint = ("; closest archived URLs:\n  " + "\n  ".join(close)) if close else \
        "; nothing similar is archived (see `crawler captures --pages`)"
    return BadInput(f"no archived capture of {url}{hint}")
