"""What a captured page says about its article: headline, dates, author, canonical URL,
main text as paragraphs, and the page chrome as separate text.

Main text comes from trafilatura; dates from the page's own structured data first
(JSON-LD, `article:*` meta, `<time>`), then htmldate, then the URL path; every value
carries where it was found. A date printed in the page chrome that equals the day of
the capture is a render-time date (a header "today" widget) and is never taken for the
publication date. No settings are read; nothing here imports Scrapy.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from crawler.compare.blocks import Block, page_blocks, parse_html, where
from crawler.compare.text import clean, find_dates, key, parse_iso_day

log = logging.getLogger(__name__)

SOFT_404 = re.compile(
    r"\b(page|article|story|content)\s+(was\s+)?not\s+(be\s+)?found\b|\b404\b|"
    r"can[’'`]?t be found|cannot be found|could not be found|no longer (available|exists)|"
    r"does not exist|doesn[’']t exist|nothing (was )?found", re.I)
TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·»]\s+")


@dataclass(frozen=True)
class Found:
    """A value taken from the page and where it was found."""

    value: str
    where: str


@dataclass(frozen=True)
class LivePage:
    url: str | None
    title: Found | None
    published: Found | None
    modified: Found | None
    author: Found | None
    canonical: str | None
    language: str | None
    page_type: str | None
    paragraphs: tuple[str, ...]
    blocks: tuple[Block, ...]
    render_dates: tuple[Found, ...] = field(default_factory=tuple)
    not_found_text: Found | None = None

    @property
    def published_day(self) -> dt.date | None:
        return parse_iso_day(self.published.value) if self.published else None

    @property
    def modified_day(self) -> dt.date | None:
        return parse_iso_day(self.modified.value) if self.modified else None

    def summary(self) -> dict[str, Any]:
        return {
            "title": self.title.value if self.title else None,
            "title_source": self.title.where if self.title else None,
            "published": self.published.value if self.published else None,
            "published_source": self.published.where if self.published else None,
            "modified": self.modified.value if self.modified else None,
            "modified_source": self.modified.where if self.modified else None,
            "author": self.author.value if self.author else None,
            "canonical": self.canonical,
            "language": self.language,
            "paragraphs": len(self.paragraphs),
        }


def _json_ld(root: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for script in root.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                items.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
    return items


def _ld_value(items: list[dict[str, Any]], name: str) -> str | None:
    for item in items:
        value = item.get(name)
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, list) and value:
            value = value[0].get("name") if isinstance(value[0], dict) else value[0]
        if isinstance(value, str) and value.strip():
            return clean(value)
    return None


def _meta(root: Any, *names: str) -> Found | None:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            for el in root.xpath(f"//meta[@{attr}=$n]", n=name):
                if clean(el.get("content") or ""):
                    return Found(clean(el.get("content")), f"<meta {attr}=\"{name}\">")
    return None


def _title(root: Any, ld: list[dict[str, Any]], site_name: str | None) -> Found | None:
    headline = _ld_value(ld, "headline")
    if headline:
        return Found(headline, "JSON-LD headline")
    og = _meta(root, "og:title")
    if og:
        return og
    for h1 in root.xpath("//h1"):
        text = clean(h1.text_content())
        if text:
            return Found(text, f"<h1> ({where(h1)})")
    raw = clean(root.findtext(".//title") or "")
    if not raw:
        return None
    parts = TITLE_SEPARATORS.split(raw)
    if len(parts) > 1 and (not site_name or key(parts[-1]) == key(site_name)
                           or len(parts[-1].split()) <= 3):
        raw = " - ".join(parts[:-1]) if site_name or len(parts) == 2 else raw
    return Found(raw, "<title> (site name stripped)")


def _time_element(root: Any, kind: str) -> Found | None:
    if kind == "published":
        xp = ("//time[@itemprop='datePublished' or contains(@class,'published') or "
              "contains(@class,'entry-date')][@datetime] | //*[@itemprop='datePublished']")
    else:
        xp = "//time[@itemprop='dateModified' or contains(@class,'updated')][@datetime]"
    for el in root.xpath(xp):
        value = el.get("datetime") or el.get("content") or clean(el.text_content())
        if parse_iso_day(value):
            return Found(value, f"<time> ({where(el)})")
    return None


def _htmldate(text: str, url: str | None, *, original: bool) -> str | None:
    try:
        from htmldate import find_date

        return find_date(text, url=url, original_date=original, extensive_search=True,
                         outputformat="%Y-%m-%d")
    except Exception as exc:  # noqa: BLE001 - a heuristic library: never fatal
        log.info("htmldate failed: %s", exc)
        return None


def _url_date(url: str | None) -> Found | None:
    m = re.search(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/", url or "")
    if not m:
        return None
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return Found(day.isoformat(), "URL path")


def _main_text(text: str, url: str | None) -> tuple[list[str], Any]:
    import trafilatura

    doc = trafilatura.bare_extraction(text, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True, favor_precision=True)
    if doc is None:
        return [], None
    body = doc.text if hasattr(doc, "text") else doc.get("text")
    return [clean(p) for p in (body or "").splitlines() if clean(p)], doc


def extract_page(text: str, *, url: str | None = None,
                 captured_on: dt.date | None = None) -> LivePage:
    """Everything the comparison needs from one decoded HTML page."""
    root = parse_html(text)
    ld = _json_ld(root)
    site = _meta(root, "og:site_name")
    title = _title(root, ld, site.value if site else None)
    paragraphs, doc = _main_text(text, url)
    if paragraphs and title and key(paragraphs[0]) == key(title.value):
        paragraphs = paragraphs[1:]  # trafilatura keeps the <h1> as the first line
    blocks = page_blocks(root, paragraphs=paragraphs, title=title.value if title else None)

    # the capture day in UTC may be the day before or after the site's own local day
    around = ({captured_on + dt.timedelta(days=n) for n in (-1, 0, 1)} if captured_on
              else set())
    render_dates = tuple(
        Found(b.text, b.where) for b in blocks if b.role == "chrome"
        and any(d.date in around for d in find_dates(b.text)))
    render_days = {d.date for r in render_dates for d in find_dates(r.value)} & around

    def usable(found: Found | None) -> Found | None:
        if found is None:
            return None
        if parse_iso_day(found.value) in render_days and found.where.startswith("htmldate"):
            return None  # the capture day printed by a "today" widget is no publication date
        return found

    published = next(filter(None, (
        Found(v, "JSON-LD datePublished") if (v := _ld_value(ld, "datePublished")) else None,
        _meta(root, "article:published_time", "datePublished", "pubdate", "publishdate",
              "DC.date.issued", "date"),
        _time_element(root, "published"),
        usable(Found(v, "htmldate (original date)")) if (v := _htmldate(text, url, original=True))
        else None,
        _url_date(url),
    )), None)
    modified = next(filter(None, (
        Found(v, "JSON-LD dateModified") if (v := _ld_value(ld, "dateModified")) else None,
        _meta(root, "article:modified_time", "dateModified", "og:updated_time"),
        _time_element(root, "modified"),
    )), None)
    author_name = _ld_value(ld, "author")
    author = (Found(author_name, "JSON-LD author") if author_name
              else _meta(root, "author", "article:author"))
    if author is None and doc is not None and getattr(doc, "author", None):
        author = Found(clean(doc.author), "trafilatura")
    canonical_el = root.xpath("//link[@rel='canonical']/@href")
    canonical = urljoin(url or "", canonical_el[0].strip()) if canonical_el else None
    page_type = _meta(root, "og:type")
    not_found = None
    body_class = " ".join(root.xpath("//body/@class"))
    for candidate in (Found(clean(root.findtext(".//title") or ""), "<title>"),
                      *(Found(clean(h.text_content()), f"<h1> ({where(h)})")
                        for h in root.xpath("//h1")),
                      Found(body_class, "<body class>")):
        if candidate.value and (SOFT_404.search(candidate.value) or "error404" in candidate.value):
            not_found = candidate
            break
    lang = (root.get("lang") or "").strip() or None
    return LivePage(url=url, title=title, published=published, modified=modified, author=author,
                    canonical=canonical, language=lang,
                    page_type=page_type.value if page_type else None,
                    paragraphs=tuple(paragraphs), blocks=tuple(blocks),
                    render_dates=render_dates, not_found_text=not_found)
