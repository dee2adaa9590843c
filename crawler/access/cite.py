"""Citations of an archived capture that carry their proof, in five formats.

`build_citation` turns one capture into a `Citation`: outlet, headline (from the
archived HTML), original URL, publication date (the seed's `published`, when known),
capture date-time in UTC and its 14-digit form, the replay URL
(`crawler.access.replay.replay_url`), the WARC file, WARC-Record-ID and
payload SHA-256 (checked against the WARC bytes before anything is printed), and the
WACZ holding the WARC file with the WACZ's SHA-256, when one was packaged.

Formats: `text` (a reference-list entry), `bibtex` (`@misc`), `csl-json` (an array of
one CSL item, importable in Zotero), `ris`, `robustlink` (an HTML anchor with
`data-originalurl`, `data-versionurl`, `data-versiondate`). Reads no settings: the
replay base URL and the collection's replay name come from the caller.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawler.access.archived_page import headline_of, read_response
from crawler.access.cdx import timestamp14
from crawler.access.replay import replay_url
from crawler.access.wacz import PackageRef, package_holding
from crawler.store.models import Capture

FORMATS = ("text", "bibtex", "csl-json", "ris", "robustlink")


@dataclass(frozen=True)
class Citation:
    outlet: str | None
    headline: str | None
    original_url: str
    archived_url: str
    published: str | None
    captured_at: dt.datetime
    replay_url: str
    collection: str
    warc_file: str
    record_id: str
    payload_sha256: str
    capture_id: int
    seed_id: str | None
    package: PackageRef | None

    @property
    def timestamp(self) -> str:
        return timestamp14(self.captured_at)

    @property
    def captured_iso(self) -> str:
        return self.captured_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def title(self) -> str:
        return self.headline or self.archived_url

    @property
    def proof(self) -> str:
        """One sentence naming the cited bytes."""
        text = (f"WARC {self.warc_file}, record {self.record_id}, "
                f"payload SHA-256 {self.payload_sha256}")
        if self.package:
            text += f"; WACZ {self.package.name}, SHA-256 {self.package.sha256}"
        return text


def build_citation(cap: Capture, *, archive_dir: Path, collection: str,
                   replay_base: str) -> Citation:
    """The citation of one capture, after checking its record against the WARC bytes."""
    assert cap.warc_file is not None and cap.response_offset is not None
    rec = read_response(archive_dir / cap.warc_file.name, int(cap.response_offset),
                        record_id=cap.warc_record_id, payload_sha256=cap.payload_sha256)
    headline = headline_of(rec.body, content_type=rec.content_type, url=cap.url) \
        if "html" in (cap.content_type or rec.content_type) else None
    seed = cap.seed
    outlet = seed.outlet.name if seed is not None else None
    return Citation(
        outlet=outlet,
        headline=headline,
        original_url=seed.url if seed is not None else cap.requested_url,
        archived_url=cap.url,
        published=seed.published if seed is not None else None,
        captured_at=cap.fetched_at,
        replay_url=replay_url(replay_base, collection, cap.fetched_at, cap.url),
        collection=collection,
        warc_file=cap.warc_file.name,
        record_id=rec.record_id,
        payload_sha256=rec.payload_sha256,
        capture_id=cap.id,
        seed_id=cap.seed_id,
        package=package_holding(archive_dir, cap.warc_file.name),
    )


def _date_parts(value: str | None) -> list[int] | None:
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?.*", value or "")
    return [int(p) for p in match.groups() if p] if match else None


def as_text(c: Citation) -> str:
    who = c.outlet or urlsplit(c.original_url).hostname or "Unknown outlet"
    when = f" ({c.published})" if c.published else " (n.d.)"
    return (f"{who}{when}. {c.title}. {c.original_url}. "
            f"Archived {c.captured_iso} [{c.timestamp}]: {c.replay_url}. {c.proof}.")


def _bib(value: str) -> str:
    return "".join("\\" + ch if ch in "{}&%$#_" else ch for ch in value)


def as_bibtex(c: Citation) -> str:
    key = re.sub(r"[^A-Za-z0-9]", "", (c.outlet or "web"))[:20] + c.timestamp
    published = _date_parts(c.published)
    fields = {
        "title": "{" + _bib(c.title) + "}",
        "author": "{" + _bib(c.outlet) + "}" if c.outlet else None,
        "year": str(published[0]) if published else None,
        "date": c.published,
        "url": c.original_url,
        "urldate": c.captured_at.strftime("%Y-%m-%d"),
        "howpublished": "\\url{" + c.replay_url + "}",
        "note": _bib(f"Archived {c.captured_iso} ({c.timestamp}) in collection "
                     f"{c.collection}. {c.proof}"),
    }
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items() if v)
    return f"@misc{{{key},\n{body}\n}}"


def as_csl(c: Citation) -> list[dict[str, object]]:
    item: dict[str, object] = {
        "id": f"capture-{c.capture_id}",
        "type": "webpage",
        "title": c.title,
        "URL": c.original_url,
        "accessed": {"date-parts": [[c.captured_at.year, c.captured_at.month,
                                     c.captured_at.day]]},
        "archive": c.collection,
        "archive_location": c.replay_url,
        "note": f"Archived {c.captured_iso} ({c.timestamp}). {c.proof}",
    }
    if c.outlet:
        item["container-title"] = c.outlet
        item["publisher"] = c.outlet
    parts = _date_parts(c.published)
    if parts:
        item["issued"] = {"date-parts": [parts]}
    return [item]


def as_ris(c: Citation) -> str:
    lines = [("TY", "ELEC"), ("TI", c.title)]
    if c.outlet:
        lines += [("AU", c.outlet), ("T2", c.outlet), ("PB", c.outlet)]
    if c.published:
        lines.append(("DA", c.published.replace("-", "/")))
        parts = _date_parts(c.published)
        if parts:
            lines.append(("PY", str(parts[0])))
    lines += [
        ("UR", c.original_url),
        ("Y2", c.captured_at.strftime("%Y/%m/%d")),
        ("DB", c.collection),
        ("L2", c.replay_url),
        ("N1", f"Archived {c.captured_iso} ({c.timestamp}). {c.proof}"),
        ("ER", ""),
    ]
    return "\n".join(f"{tag}  - {value}" for tag, value in lines)


def as_robustlink(c: Citation) -> str:
    def attr(value: str) -> str:
        return html.escape(value, quote=True)

    return (f'<a href="{attr(c.original_url)}" data-originalurl="{attr(c.original_url)}" '
            f'data-versionurl="{attr(c.replay_url)}" data-versiondate="{c.captured_iso}" '
            f'data-payload-sha256="{c.payload_sha256}" data-warc-record-id="{attr(c.record_id)}"'
            f'>{html.escape(c.title)}</a>')


def render(c: Citation, fmt: str) -> str:
    if fmt == "text":
        return as_text(c)
    if fmt == "bibtex":
        return as_bibtex(c)
    if fmt == "csl-json":
        return json.dumps(as_csl(c), indent=2, ensure_ascii=False)
    if fmt == "ris":
        return as_ris(c)
    if fmt == "robustlink":
        return as_robustlink(c)
    raise ValueError(f"unknown citation format {fmt!r}")
