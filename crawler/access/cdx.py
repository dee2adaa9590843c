"""The collection's CDXJ index, `archive/index.cdxj`, and its canonical-URL companion.

`archive/index.cdxj` is in the pywb / cdxj-indexer form: one line per response (and
revisit/resource) record of every closed WARC file in `archive/`, sorted:

    <SURT url key> <14-digit timestamp> {"url": ..., "mime": ..., "status": ...,
                                         "digest": ..., "length": ..., "offset": ...,
                                         "filename": ...}

`offset`/`length` are the record's byte range in the `.warc.gz` file, `filename` is
relative to `archive/`. The lines are made by cdxj-indexer (the indexer pywb and
py-wacz use), so replay tools read the file as it is. Files still being written
(`*.open`) are left out.

`archive/canonical.cdxj` is written beside it, from the same pass: one line per
archived HTML response that declares a `<link rel="canonical">`, keyed by the SURT key
of that canonical URL (resolved against the page's URL), with the page's `url`, the
`canonical` href as written, `filename` and `offset`. Its first line,
`!meta {"warc_files": [...]}`, names the WARC files both indexes cover. `cite` and
`timemap` use the two to find a URL's captures without reading every page
(`crawler.access.mementos`); replay tools read only index.cdxj. Both files are written
to temporary files and renamed, so a reader never sees half an index. `lines_for_key`
finds the lines of one key by binary search. Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin

from crawler import collection
from crawler.access.archived_page import canonical_href, read_response
from crawler.errors import BadInput, CrawlerError, IntegrityError

log = logging.getLogger(__name__)

INDEX_NAME = "index.cdxj"
CANONICAL_NAME = "canonical.cdxj"
_META = "!meta "


@dataclass(frozen=True)
class CdxjLine:
    """One line of a CDXJ index."""

    urlkey: str
    timestamp: str
    fields: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.fields.get("url", ""))

    @property
    def filename(self) -> str:
        return str(self.fields["filename"])

    @property
    def offset(self) -> int:
        return int(self.fields["offset"])

    @property
    def length(self) -> int:
        return int(self.fields["length"])

    @classmethod
    def parse(cls, line: str) -> CdxjLine:
        urlkey, timestamp, rest = line.rstrip("\n").split(" ", 2)
        return cls(urlkey, timestamp, json.loads(rest))


@dataclass(frozen=True)
class IndexResult:
    path: Path
    warc_files: tuple[str, ...]
    lines: int


@dataclass(frozen=True)
class HtmlRecord:
    """Where cdxj-indexer met a response whose Content-Type names HTML."""

    filename: str
    offset: int
    timestamp: str


def url_key(url: str) -> str:
    """The SURT key replay tools (and cdxj-indexer) compare URLs by; fragments dropped."""
    import surt  # imported here: it pulls in tldextract (~0.3 s) for every CLI start

    try:
        return str(surt.surt(url.split("#", 1)[0]))
    except Exception:  # noqa: BLE001 - an unparsable URL is its own key
        return url


def timestamp14(when: dt.datetime) -> str:
    """The 14-digit UTC timestamp web archives use (`20261122134501`)."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: expected UTC-aware")
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def warc_files(archive_dir: Path) -> list[Path]:
    """The closed WARC files of a collection's archive folder, by name."""
    if not archive_dir.is_dir():
        raise BadInput(f"archive folder {archive_dir} does not exist")
    return collection.warc_files(archive_dir, include_plain=True)


def _names_html(record: Any) -> bool:
    """Any HTTP Content-Type header of the record names HTML (the capture row keeps the last)."""
    http = record.http_headers
    return http is not None and any(name.lower() == "content-type" and "html" in value.lower()
                                    for name, value in http.headers)


def write_cdxj(inputs: list[Path], output: IO[str], *,
               dir_root: Path | None = None) -> list[HtmlRecord]:
    """Sorted CDXJ lines of `inputs` to `output` (filenames relative to `dir_root`).

    Returns where the HTML responses are, seen in the same pass."""
    from cdxj_indexer import CDXJIndexer  # imported here: it takes ~0.5 s (surt, tldextract)
    from warcio.timeutils import iso_date_to_timestamp

    html: list[HtmlRecord] = []

    class Indexer(CDXJIndexer):
        def process_index_entry(self, it: Any, record: Any, filename: str, out: Any) -> None:
            super().process_index_entry(it, record, filename, out)
            if record.rec_type == "response" and _names_html(record):
                when = iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date"))
                offset = int(self.get_field(record, "offset", it, filename))  # as on its line
                html.append(HtmlRecord(self.curr_filename, offset, when))

    indexer = Indexer(output, [str(p) for p in inputs], sort=True,
                      dir_root=str(dir_root) if dir_root else None)
    indexer.process_all()
    return html


def canonical_lines(archive_dir: Path, pages: list[HtmlRecord]) -> list[str]:
    """The sorted lines of canonical.cdxj for these HTML responses (unreadable ones left out,
    as `crawler.access.mementos.canonical_of` leaves them out)."""
    lines = []
    for page in pages:
        try:
            rec = read_response(archive_dir / page.filename, page.offset)
        except CrawlerError as exc:
            log.warning("cannot read %s @ %s for its canonical URL: %s",
                        page.filename, page.offset, exc)
            continue
        href = canonical_href(rec.body, content_type=rec.content_type)
        if href:
            fields = {"url": rec.target_uri, "canonical": href, "filename": page.filename,
                      "offset": page.offset}
            key = url_key(urljoin(rec.target_uri, href))
            lines.append(f"{key} {page.timestamp} {json.dumps(fields)}\n")
    return sorted(lines)


def _replace(target: Path, write: Callable[[IO[str]], None]) -> Path:
    """A temporary file beside `target`, written and fsynced; the caller renames it."""
    fd, tmp_name = tempfile.mkstemp(prefix=".index-", suffix=".cdxj.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return Path(tmp_name)


def build_index(archive_dir: Path, *, index_path: Path | None = None) -> IndexResult:
    """(Re)write the CDXJ index of every closed WARC file in `archive_dir`, atomically,
    and canonical.cdxj beside it."""
    inputs = warc_files(archive_dir)
    target = index_path or archive_dir / INDEX_NAME
    canonical_target = target.with_name(CANONICAL_NAME)
    html: list[HtmlRecord] = []

    def index(out: IO[str]) -> None:
        try:
            html.extend(write_cdxj(inputs, out, dir_root=archive_dir))
        except Exception as exc:  # noqa: BLE001 - warcio raises many kinds on bad bytes
            raise IntegrityError(f"indexing {archive_dir}: a WARC file is not readable "
                                 f"({type(exc).__name__}: {exc})") from exc

    def canonicals(out: IO[str]) -> None:
        names = [str(p.relative_to(archive_dir)) for p in inputs]
        out.write(_META + json.dumps({"warc_files": names}) + "\n")
        out.writelines(canonical_lines(archive_dir, html))

    index_tmp = _replace(target, index)
    try:
        canonical_tmp = _replace(canonical_target, canonicals)
    except BaseException:
        index_tmp.unlink(missing_ok=True)
        raise
    os.replace(index_tmp, target)
    os.replace(canonical_tmp, canonical_target)
    lines = sum(1 for _ in target.open(encoding="utf-8"))
    return IndexResult(target, tuple(p.name for p in inputs), lines)


def index_is_current(archive_dir: Path, *, index_path: Path | None = None) -> bool:
    """True when the index exists and is newer than every closed WARC file."""
    target = index_path or archive_dir / INDEX_NAME
    if not target.exists():
        return False
    stamp = target.stat().st_mtime
    return all(p.stat().st_mtime <= stamp for p in warc_files(archive_dir))


def current_lookup_files(archive_dir: Path) -> frozenset[str] | None:
    """The WARC files index.cdxj and canonical.cdxj both cover, when both are current and
    cover exactly the closed WARC files in `archive_dir`; None otherwise."""
    if not archive_dir.is_dir():
        return None
    canonical = archive_dir / CANONICAL_NAME
    if not (index_is_current(archive_dir) and index_is_current(archive_dir,
                                                               index_path=canonical)):
        return None
    with canonical.open(encoding="utf-8") as fh:
        first = fh.readline()
    if not first.startswith(_META):
        return None
    try:
        covered = frozenset(json.loads(first[len(_META):])["warc_files"])
    except (ValueError, KeyError, TypeError):
        return None
    on_disk = {str(p.relative_to(archive_dir)) for p in warc_files(archive_dir)}
    return covered if covered == on_disk else None


def _line_start(fh: IO[bytes], position: int) -> int:
    """The offset of the first line that starts at or after `position`."""
    if position == 0:
        return 0
    fh.seek(position - 1)
    fh.readline()
    return fh.tell()


def lines_for_key(path: Path, key: str) -> list[CdxjLine]:
    """The lines of the sorted CDXJ file `path` whose URL key is `key` (binary search)."""
    prefix = (key + " ").encode("utf-8")
    found = []
    with path.open("rb") as fh:
        lo, hi = 0, fh.seek(0, os.SEEK_END)
        while lo < hi:  # the first position whose next line sorts at or after `prefix`
            mid = (lo + hi) // 2
            fh.seek(_line_start(fh, mid))
            line = fh.readline()
            if line and line < prefix:
                lo = mid + 1
            else:
                hi = mid
        fh.seek(_line_start(fh, lo))
        for line in fh:
            if not line.startswith(prefix):
                break
            found.append(CdxjLine.parse(line.decode("utf-8")))
    return found
