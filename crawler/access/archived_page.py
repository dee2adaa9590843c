"""Reading a cited response back from its WARC file, and what a page says about itself.

A citation names bytes, so it is built from the archive, not from the database alone:
the response record is read at its recorded offset, its WARC-Record-ID and the SHA-256
of its payload (as received: de-chunked, content-encoding kept, the bytes the
`WARC-Payload-Digest` covers) are checked against the capture row, and the headline
and canonical URL come from the archived HTML (the headline through crawler.compare.live_page,
the comparison's extractor; `canonical_href` finds the canonical URL parsing no more of
the page than it must). A disagreement raises
`crawler.errors.IntegrityError` with file, offset and record id. Records are read with
`crawler.warc.read.read_record_at`. Reads no settings.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from crawler.digests import sha1_label
from crawler.errors import IntegrityError
from crawler.warc.read import decode_html, decoded_payload, read_record_at

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArchivedResponse:
    """A response record as stored: its id, target, payload and decoded body."""

    path: Path
    offset: int
    record_id: str
    target_uri: str
    content_type: str
    payload_sha256: str
    payload_digest: str | None
    body: bytes  # content-encoding removed


@dataclass(frozen=True)
class PageInfo:
    """What an archived HTML page says about itself."""

    title: str | None
    headline: str | None
    canonical: str | None


def read_response(path: Path, offset: int, *, record_id: str | None = None,
                  payload_sha256: str | None = None) -> ArchivedResponse:
    """The response record at `offset`; checks the id and payload hash when given."""
    record = read_record_at(path, offset)
    payload = record.payload
    where = f"{path.name} @ {offset}"
    got_id = record.record_id or ""
    if record.record_type not in ("response", "resource", "revisit"):
        raise IntegrityError(f"{where}: expected a response record, found {record.record_type}")
    if record_id and got_id != record_id:
        raise IntegrityError(f"{where}: record id {got_id} is not the recorded {record_id}")
    digest = hashlib.sha256(payload).hexdigest()
    if payload_sha256 and digest != payload_sha256:
        raise IntegrityError(f"{where} ({got_id}): payload SHA-256 {digest} differs from "
                             f"the recorded {payload_sha256}")
    stated = record.warc_headers.get_header("WARC-Payload-Digest")
    if stated and stated.lower().startswith("sha1:"):
        sha1 = sha1_label(payload)
        if stated.lower() != sha1.lower():
            raise IntegrityError(f"{where} ({got_id}): payload does not match its "
                                 f"WARC-Payload-Digest {stated} ({sha1})")
    http = record.http_headers
    return ArchivedResponse(
        path=path, offset=offset, record_id=got_id,
        target_uri=record.target_uri or "",
        content_type=(http.get_header("Content-Type") if http else None) or "",
        payload_sha256=digest,
        payload_digest=stated,
        body=decoded_payload(record),
    )


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self.og_title: str | None = None
        self.h1: str | None = None
        self.canonical: str | None = None
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "link" and "canonical" in a.get("rel", "").lower().split() and a.get("href"):
            self.canonical = self.canonical or a["href"].strip()
        elif tag == "meta" and a.get("property", a.get("name", "")).lower() in (
                "og:title", "twitter:title") and a.get("content"):
            self.og_title = self.og_title or a["content"].strip()
        elif tag in ("title", "h1") and self._in is None:
            self._in, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            text = " ".join("".join(self._text).split()) or None
            if tag == "title" and self.title is None:
                self.title = text
            elif tag == "h1" and self.h1 is None:
                self.h1 = text
            self._in = None


def _parse(parser: _HeadParser, html: str) -> None:
    """Feed the whole page; stops early where the parser has what it wants (_Found)."""
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser rarely fails; a page without a title is fine
        pass


def headline_of(body: bytes, *, content_type: str = "", url: str = "") -> str | None:
    """The article's headline: crawler.compare.live_page's title, else og:title, else <title>."""
    from crawler.compare.live_page import extract_page

    html = decode_html(body, content_type)
    try:
        found = extract_page(html, url=url or None).title
    except Exception as exc:  # noqa: BLE001 - an extractor failure must not stop a citation
        log.warning("headline extraction failed for %s: %s", url, exc)
        found = None
    if found and found.value.strip():
        return found.value.strip()
    return page_info(body, content_type=content_type).headline


def page_info(body: bytes, *, content_type: str = "") -> PageInfo:
    """Title (<title>), headline (og:title, else <title>, else <h1>) and canonical URL."""
    parser = _HeadParser()
    _parse(parser, decode_html(body, content_type))
    headline = parser.og_title or parser.title or parser.h1
    return PageInfo(title=parser.title or headline, headline=headline,
                    canonical=parser.canonical)


class _Found(Exception):
    """The first canonical link is found: nothing later can change it."""


class _CanonicalParser(_HeadParser):
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        super().handle_starttag(tag, attrs)
        if self.canonical:
            raise _Found


def canonical_href(body: bytes, *, content_type: str = "") -> str | None:
    """`page_info(...).canonical`, parsing no further than needed: up to the first canonical
    link, and not at all when no `rel` value could say "canonical" (the word is absent and
    no numeric character reference could spell it; no named one yields those letters)."""
    html = decode_html(body, content_type)
    if "&#" not in html and "canonical" not in html.lower():
        return None
    parser = _CanonicalParser()
    _parse(parser, html)
    return parser.canonical
