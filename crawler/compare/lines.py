"""What each line of a seed copy is, judged against the live page when there is one.

Roles: `headline`, `article` (an article paragraph; `live_index` when the live page has
it), `meta` (byline, dates, captions the live article shows), `chrome` (menus, related
lists, sidebars, footers: `where` says where the live page shows it, or what it looks
like), `artifact` (scrape residue), `date` (a line that is only a date), `other`.
Chrome that the copy holds and the live page still shows outside the article is
chrome, never removed article text. No settings are read.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.compare.live_page import LivePage
from crawler.compare.seed_copy import Artifact, SeedCopy, chrome_hint, guess_headline, is_date_only
from crawler.compare.text import find_dates, key, similarity


@dataclass(frozen=True)
class LineRole:
    line: int
    role: str
    where: str | None = None
    live_index: int | None = None


def _looks_like_prose(text: str) -> bool:
    words = text.split()
    ends_sentence = text.rstrip().endswith((".", "!", "?", "”", '"'))
    return len(words) >= 6 or (len(words) >= 3 and ends_sentence)


def classify_lines(copy: SeedCopy, artifacts: list[Artifact],
                   live: LivePage | None) -> dict[int, LineRole]:
    paragraph_index: dict[str, list[int]] = {}
    block_where: dict[str, tuple[str, str]] = {}
    chrome_keys: list[tuple[str, str]] = []
    meta_keys: list[tuple[str, str]] = []
    if live is not None:
        for i, p in enumerate(live.paragraphs):
            paragraph_index.setdefault(key(p), []).append(i)
        for b in live.blocks:
            block_where.setdefault(key(b.text), (b.role, b.where))
            if b.role == "chrome":
                chrome_keys.append((key(b.text), b.where))
            elif b.role in ("meta", "headline"):
                meta_keys.append((key(b.text), b.where))
    title_key = key(live.title.value) if live and live.title else None
    artifact_lines = {a.line for a in artifacts}
    roles: dict[int, LineRole] = {}
    for ln in copy.nonblank:
        k, text = key(ln.text), ln.clean
        hint = chrome_hint(ln.text)
        if ln.number in artifact_lines:
            roles[ln.number] = LineRole(ln.number, "artifact")
        elif k in paragraph_index:
            roles[ln.number] = LineRole(ln.number, "article", "main text",
                                        paragraph_index[k][0])
        elif title_key and k == title_key:
            roles[ln.number] = LineRole(ln.number, "headline", live.title.where if live and
                                        live.title else None)
        elif k in block_where:
            role, where = block_where[k]
            roles[ln.number] = LineRole(ln.number, "meta" if role == "article" else role, where)
        elif len(k) >= 8 and (hit := next((w for ck, w in meta_keys if k in ck), None)):
            roles[ln.number] = LineRole(ln.number, "meta", hit)
        elif len(k) >= 6 and (hit := next((w for ck, w in chrome_keys if k in ck or (
                len(ck) >= 6 and ck in k and len(ck) >= 0.5 * len(k))), None)):
            roles[ln.number] = LineRole(ln.number, "chrome", hit)
        elif hint:
            roles[ln.number] = LineRole(ln.number, "chrome", f"looks like {hint}")
        elif is_date_only(text) or (find_dates(text) and len(text.split()) <= 12):
            roles[ln.number] = LineRole(ln.number, "date")  # a date line or a dated byline
        elif _looks_like_prose(text):
            roles[ln.number] = LineRole(ln.number, "article")
        else:
            roles[ln.number] = LineRole(ln.number, "other")
    _fill_chrome_blocks(roles)
    return roles


def _fill_chrome_blocks(roles: dict[int, LineRole]) -> None:
    """Unmatched lines (at most 3 in a row) between two chrome lines belong to that chrome."""
    order = sorted(roles)
    i = 0
    while i < len(order):
        if roles[order[i]].role != "chrome":
            i += 1
            continue
        j = i + 1
        while j < len(order) and roles[order[j]].role != "chrome":
            j += 1
        gap = order[i + 1:j]
        unmatched = all(roles[n].live_index is None and roles[n].where is None
                        and roles[n].role in ("article", "other", "date") for n in gap)
        if j < len(order) and gap and len(gap) <= 3 and unmatched:
            for n in gap:
                roles[n] = LineRole(n, "chrome", "inside a block of page chrome")
        i = j


def find_headline(copy: SeedCopy, artifacts: list[Artifact], roles: dict[int, LineRole],
                  live: LivePage | None) -> tuple[int, str] | None:
    """The copy's headline: the line most like the live headline near the top, or a guess."""
    if live is None or live.title is None:
        return guess_headline(copy, artifacts)
    inside = {a.line: a.headline for a in artifacts if a.headline}
    first_article = min((n for n, r in roles.items() if r.role == "article"), default=None)
    best: tuple[float, int, str] | None = None
    for ln in copy.nonblank[:80]:
        if first_article is not None and ln.number > first_article:
            break
        if roles.get(ln.number) and roles[ln.number].role == "chrome" and ln.number not in inside:
            continue
        candidate = inside.get(ln.number) or ln.clean
        score = similarity(candidate, live.title.value)
        if best is None or score > best[0] + 1e-9:
            best = (score, ln.number, candidate)
    if best and best[0] >= 0.5:
        return best[1], best[2]
    return guess_headline(copy, artifacts)
