"""Compare a seed copy with a live page (a capture) and flag what differs.

`compare(copy, live=..., fetch=...)` returns a `Comparison`: the copy's headline and
dates with their roles, the paragraph alignment (crawler.compare.align) and the flags
(crawler.compare.flags: exactly the kinds of its vocabulary). Fetch problems (not_found,
soft_404, redirected elsewhere, fetch_failed) make the text comparison impossible; the
copy's own residue (seed_artifact) and chrome (seed_boilerplate) are flagged in every
case. No settings are read; no database, no Scrapy (see crawler.compare.recorded for those).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crawler.compare.align import Row, align
from crawler.compare.flags import Evidence, Flag, live_evidence, seed_evidence, severity_rank
from crawler.compare.lines import LineRole, classify_lines, find_headline
from crawler.compare.live_page import LivePage
from crawler.compare.seed_copy import (
    LIST_HEADINGS,
    PRESENTED_ROLES,
    Artifact,
    SeedCopy,
    SeedDate,
    chrome_hint,
    find_artifacts,
    seed_dates,
)
from crawler.compare.text import key, similarity

DNS_ERROR = re.compile(r"dns|name or service not known|getaddrinfo|nodename nor servname|"
                       r"no address associated|could not resolve", re.I)


@dataclass(frozen=True)
class FetchOutcome:
    """What the crawl got for the seed URL: the redirect chain and the final answer."""

    requested_url: str
    final_url: str
    status: int | None
    error: str | None = None
    chain: tuple[tuple[str, int | None], ...] = ()


@dataclass(frozen=True)
class Comparison:
    copy: SeedCopy
    live: LivePage | None
    fetch: FetchOutcome | None
    headline: tuple[int, str] | None
    dates: tuple[SeedDate, ...]
    rows: tuple[Row, ...]
    flags: tuple[Flag, ...]
    roles: dict[int, LineRole] = field(default_factory=dict)

    @property
    def has_problems(self) -> bool:
        return any(f.at_least_warning for f in self.flags)

    def to_json(self, *, seed: str | None, url: str | None,
                capture: dict[str, Any] | None) -> dict[str, Any]:
        live = self.live.summary() if self.live else None
        return {
            "seed": seed, "url": url, "capture": capture,
            "seed_copy": {
                "file": str(self.copy.path) if self.copy.path else None,
                "sha256": self.copy.sha256,
                "title": self.headline[1] if self.headline else None,
                "title_line": self.headline[0] if self.headline else None,
                "dates": [d.to_dict() for d in self.dates],
            },
            "live": live,
            "flags": [f.to_dict() for f in self.flags],
        }


def _fetch_flags(fetch: FetchOutcome, live: LivePage | None, copy: SeedCopy,
                 roles: dict[int, LineRole], headline: tuple[int, str] | None) -> list[Flag]:
    where = f"crawl of {fetch.requested_url}"
    if fetch.status is None:
        err = fetch.error or "no response"
        if DNS_ERROR.search(err):
            return [Flag("not_found", "critical", f"The URL no longer resolves ({err}).",
                         (live_evidence(err, where),))]
        return [Flag("fetch_failed", "critical", f"No capture could be made: {err.rstrip('.')}.",
                     (live_evidence(err, where),))]
    if fetch.status in (404, 410):
        return [Flag("not_found", "critical",
                     f"The URL answers HTTP {fetch.status}: the article is gone.",
                     (live_evidence(f"HTTP {fetch.status}", f"response for {fetch.final_url}"),))]
    if fetch.status >= 400:
        return [Flag("fetch_failed", "critical", f"The URL answers HTTP {fetch.status}.",
                     (live_evidence(f"HTTP {fetch.status}", f"response for {fetch.final_url}"),))]
    flags = _soft_404(live, roles, f"HTTP {fetch.status}")
    if fetch.final_url != fetch.requested_url and len(fetch.chain) > 1:
        hops = " -> ".join(f"{u} ({s})" for u, s in fetch.chain)
        same = live is not None and not flags and (
            _article_share(roles, live) >= 0.5
            or (headline is not None and live.title is not None
                and similarity(headline[1], live.title.value) >= 0.8))
        if same:
            flags.append(Flag("redirected", "info",
                              "The URL redirects to the same article at its permanent address.",
                              (live_evidence(hops, "redirect chain"),)))
        else:
            title = live.title.value if live and live.title else "(no title)"
            flags.append(Flag("redirected", "critical",
                              "The URL redirects to another page, not the article.",
                              (live_evidence(hops, "redirect chain"),
                               live_evidence(title, "title of the final page"))))
    return flags


def _soft_404(live: LivePage | None, roles: dict[int, LineRole], answer: str | None
              ) -> list[Flag]:
    if live is None or live.not_found_text is None or _article_share(roles, live) >= 0.3:
        return []
    message = (f"The URL answers {answer} with a 'page not found' page." if answer else
               "The page is a 'page not found' page, not the article.")
    return [Flag("soft_404", "critical", message,
                 (live_evidence(live.not_found_text.value, live.not_found_text.where),))]


def _article_share(roles: dict[int, LineRole], live: LivePage) -> float:
    article = [r for r in roles.values() if r.role == "article"]
    if not article:
        return 1.0 if live.paragraphs else 0.0
    return sum(1 for r in article if r.live_index is not None) / len(article)


def _artifact_flags(artifacts: list[Artifact]) -> list[Flag]:
    messages = {
        "fused_headline": "The headline is run together with itself (caption or alt text fused "
                          "with the heading by the scrape).",
        "fused_metadata": "A metadata field is fused with the headline in the copy.",
        "empty_tags": "The copy holds an empty tag list, residue of the page's tags.",
    }
    return [Flag("seed_artifact", "info" if a.kind == "empty_tags" else "warning",
                 messages[a.kind], (seed_evidence(a.text.strip(), a.line),))
            for a in artifacts]


def _landmark(role: LineRole) -> str:
    return (role.where or "").split(" ")[0]


def _chrome_blocks(copy: SeedCopy, roles: dict[int, LineRole]) -> list[list[int]]:
    """Runs of chrome lines; a list heading or a change of page region starts a new one."""
    blocks: list[list[int]] = []
    for n in sorted(roles):
        if roles[n].role != "chrome":
            continue
        prev = blocks[-1][-1] if blocks else None
        adjacent = prev is not None and all(roles.get(m) is None for m in range(prev + 1, n))
        heading = chrome_hint(copy.line(n).text) == LIST_HEADINGS
        moved = prev is not None and n - prev > 1 and _landmark(roles[n]) != _landmark(roles[prev])
        if adjacent and not heading and not moved:
            blocks[-1].append(n)
        else:
            blocks.append([n])
    return blocks


def _quote_block(copy: SeedCopy, block: list[int]) -> str:
    texts = [copy.line(n).clean for n in block]
    quoted = " / ".join(texts[:3])
    if len(texts) > 3:
        common, times = Counter(texts).most_common(1)[0]
        quoted += f" / … ({len(texts)} lines" + (f"; {common!r} ×{times}" if times >= 3 else "")
        quoted += ")"
    return quoted


def _boilerplate_flag(copy: SeedCopy, roles: dict[int, LineRole]) -> list[Flag]:
    blocks = _chrome_blocks(copy, roles)
    if not blocks:
        return []
    evidence: list[Evidence] = []
    for block in blocks:
        evidence.append(seed_evidence(_quote_block(copy, block), block[0], block[-1]))
        live_where = next((w for n in block if (w := roles[n].where)
                           and not w.startswith(("looks like", "inside"))), None)
        if live_where:
            evidence.append(live_evidence(copy.line(block[0]).clean, f"{live_where} "
                                          "(outside the article)"))
        else:
            evidence.append(live_evidence("(not on the live page)", roles[block[0]].where or ""))
    count = sum(len(b) for b in blocks)
    first = copy.line(max(blocks, key=len)[0]).clean
    return [Flag("seed_boilerplate", "warning" if count > 2 else "info",
                 f"The copy holds {count} lines of page chrome in {len(blocks)} blocks "
                 f"(the largest begins {first[:60]!r}); they are not the article.",
                 tuple(evidence))]


def _date_flags(dates: list[SeedDate], live: LivePage) -> list[Flag]:
    published, modified = live.published_day, live.modified_day
    if published is None or live.published is None:
        return []
    flags: list[Flag] = []
    seen = set()
    for d in dates:
        if d.role not in PRESENTED_ROLES or d.date is None or d.date in (published, modified):
            continue
        if d.date in seen:
            continue
        seen.add(d.date)
        why = {"header_date": " — a date line above the headline, where sites print a 'today' "
                              "widget: the day the copy was scraped, not the article's date",
               }.get(d.role, "")
        evidence = [seed_evidence(d.context, d.line),
                    live_evidence(live.published.value, live.published.where)]
        evidence += [live_evidence(r.value, f"{r.where} (render-time date: the capture day)")
                     for r in live.render_dates[:1]]
        agree = [x for x in dates if x.date == published and x.role in PRESENTED_ROLES]
        evidence += [seed_evidence(x.context, x.line) for x in agree[:1]]
        flags.append(Flag("date_mismatch", "warning",
                          f"The copy presents {d.date.isoformat()} (line {d.line}, {d.role}) but "
                          f"the article was published {published.isoformat()}{why}.",
                          tuple(evidence)))
    return flags


def _title_flag(headline: tuple[int, str] | None, live: LivePage) -> list[Flag]:
    if headline is None or live.title is None or key(headline[1]) == key(live.title.value):
        return []
    return [Flag("title_changed", "warning", "The headline differs from the copy's.",
                 (seed_evidence(headline[1], headline[0]),
                  live_evidence(live.title.value, live.title.where)))]


def _text_flags(rows: list[Row]) -> list[Flag]:
    flags: list[Flag] = []
    run: list[Row] = []

    def close() -> None:
        if not run:
            return
        if run[0].status == "removed":
            lines = [r.seed_line for r in run if r.seed_line is not None]
            flags.append(Flag(
                "text_removed", "warning",
                f"{len(run)} paragraph(s) of the copy are no longer in the live article.",
                tuple(seed_evidence(r.seed_text or "", r.seed_line or 0) for r in run[:5])
                + (live_evidence("(absent)",
                                 f"main text, after paragraph {_before(rows, lines[0])}"),)))
        else:
            flags.append(Flag(
                "text_added", "warning",
                f"The live article has {len(run)} paragraph(s) the copy lacks.",
                tuple(live_evidence(r.live_text or "", _paragraph(r)) for r in run[:5])))
        run.clear()

    for row in rows:
        if row.status in ("removed", "added") and (not run or run[0].status == row.status):
            run.append(row)
            continue
        close()
        if row.status in ("removed", "added"):
            run.append(row)
        elif row.status == "changed":
            flags.append(Flag(
                "text_changed", "warning", f"A paragraph was edited ({row.note}).",
                (seed_evidence(row.seed_text or "", row.seed_line or 0),
                 live_evidence(row.live_text or "", _paragraph(row)))))
    close()
    return flags


def _paragraph(row: Row) -> str:
    return f"main text, paragraph {(row.live_index or 0) + 1}"


def _before(rows: list[Row], line: int) -> int:
    idx = [r.live_index for r in rows if r.live_index is not None and r.seed_line is not None
           and r.seed_line < line]
    return (max(idx) + 1) if idx else 0


def compare_fetch_only(copy: SeedCopy, *, live: LivePage | None, fetch: FetchOutcome
                       ) -> Comparison:
    """For a seed without a copy: only what the fetch itself tells (gone, failed, moved)."""
    flags = sorted(_fetch_flags(fetch, live, copy, {}, None),
                   key=lambda f: -severity_rank(f.severity))
    return Comparison(copy=copy, live=live, fetch=fetch, headline=None, dates=(), rows=(),
                      flags=tuple(flags), roles={})


def compare(copy: SeedCopy, *, live: LivePage | None, fetch: FetchOutcome | None = None
            ) -> Comparison:
    artifacts = find_artifacts(copy)
    roles = classify_lines(copy, artifacts, live)
    headline = find_headline(copy, artifacts, roles, live)
    if headline and roles.get(headline[0]) and roles[headline[0]].role not in ("artifact",):
        roles[headline[0]] = LineRole(headline[0], "headline", roles[headline[0]].where)
    dates = seed_dates(copy, line_roles={n: r.role for n, r in roles.items()},
                       headline_line=headline[0] if headline else None)
    flags: list[Flag] = []
    if fetch is not None:
        flags += _fetch_flags(fetch, live, copy, roles, headline)
    else:  # an offline page: it was served, so only a soft 404 can be told
        flags += _soft_404(live, roles, None)
    usable = live is not None and not any(
        f.kind in ("not_found", "soft_404", "fetch_failed") or
        (f.kind == "redirected" and f.severity != "info") for f in flags)
    rows = align(copy, roles, live.paragraphs if usable and live else None)
    if usable and live is not None:  # a short line the live page shows as byline, not text
        others = {key(b.text): b for b in live.blocks if b.role in ("meta", "chrome")}
        rows = [Row(others[k].role, r.seed_line, r.seed_text, note=others[k].where)
                if r.status == "removed" and (k := key(r.seed_text or "")) in others else r
                for r in rows]
    if usable and live is not None:
        flags += _date_flags(dates, live)
        flags += _title_flag(headline, live)
        flags += _text_flags(rows)
    flags += _artifact_flags(artifacts)
    flags += _boilerplate_flag(copy, roles)
    flags.sort(key=lambda f: -severity_rank(f.severity))
    return Comparison(copy=copy, live=live, fetch=fetch, headline=headline, dates=tuple(dates),
                      rows=tuple(rows), flags=tuple(flags), roles=roles)
