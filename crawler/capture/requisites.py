"""What a page needs to be replayed: the URLs of its images, stylesheets, scripts,
icons, fonts, media and frames, and the `url()`/`@import` references of CSS.

Links to other pages (`<a href>`) are never requisites: the crawler archives the
article, not the site. Only http(s) URLs are returned, absolute, without fragments,
in document order, each once. Nothing here imports Scrapy (parsel is its HTML parser).
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit

from parsel import Selector

#: link rel values whose href a page needs (stylesheets, icons, preloads, manifests)
LINK_RELS = {
    "stylesheet", "icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed",
    "mask-icon", "preload", "modulepreload", "manifest", "prefetch",
}
SRC_XPATH = (
    "//img/@src | //img/@data-src | //script/@src | //iframe/@src | //frame/@src"
    " | //embed/@src | //object/@data | //video/@src | //video/@poster | //audio/@src"
    " | //source/@src | //track/@src | //input[@type='image']/@src"
    " | //body/@background | //table/@background | //td/@background"
)
SRCSET_XPATH = "//img/@srcset | //source/@srcset | //img/@data-srcset"
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)
CSS_IMPORT = re.compile(r"""@import\s+(['"])(.*?)\1""", re.IGNORECASE)
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _absolute(base: str, ref: str) -> str | None:
    ref = ref.strip()
    if not ref or ref.startswith(("data:", "javascript:", "about:", "blob:", "mailto:", "#")):
        return None
    url = urldefrag(urljoin(base, ref)).url
    return url if urlsplit(url).scheme in ("http", "https") else None


def _unique(urls: list[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for url in urls:
        if url and url not in seen:
            seen[url] = None
    return list(seen)


def srcset_urls(srcset: str) -> list[str]:
    """The URLs of a srcset attribute (`a.jpg 1x, b.jpg 2x`)."""
    out = []
    for candidate in srcset.split(","):
        parts = candidate.strip().split()
        if parts:
            out.append(parts[0])
    return out


def css_references(css: str) -> list[str]:
    """Raw `url()` and `@import` references of a stylesheet, in order."""
    css = CSS_COMMENT.sub("", css)
    refs = [m.group(2) for m in CSS_IMPORT.finditer(css)]
    refs += [m.group(2) for m in CSS_URL.finditer(css)]
    return refs


def css_requisites(css: str, base_url: str) -> list[str]:
    return _unique([_absolute(base_url, ref) for ref in css_references(css)])


def html_requisites(html: str, base_url: str) -> list[str]:
    """Requisites of an HTML page, resolved against `<base href>` when there is one."""
    sel = Selector(text=html)
    base = sel.xpath("//base/@href").get()
    if base:
        base_url = urljoin(base_url, base)
    refs: list[str] = []
    for link in sel.xpath("//link[@href]"):
        rels = set((link.attrib.get("rel") or "").lower().split())
        if rels & LINK_RELS:
            refs.append(link.attrib["href"])
    refs += sel.xpath(SRC_XPATH).getall()
    for srcset in sel.xpath(SRCSET_XPATH).getall():
        refs += srcset_urls(srcset)
    for css in sel.xpath("//style/text()").getall() + sel.xpath("//@style").getall():
        refs += css_references(css)
    return _unique([_absolute(base_url, ref) for ref in refs])
