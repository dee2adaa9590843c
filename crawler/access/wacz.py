"""WACZ 1.1.1 packages of a crawl run (or of the whole collection).

A package written by `build_package` holds, as the WACZ 1.1.1 specification asks:
- `archive/` — the run's closed WARC files, stored (not re-compressed);
- `indexes/index.cdx.gz` + `indexes/index.idx` — compressed CDXJ made by cdxj-indexer
  (the layout py-wacz and ReplayWeb.page use), the `.cdx.gz` stored;
- `pages/pages.jsonl` — a `json-pages-1.0` header, then one line per seed capture:
  `id`, `url`, `ts` (RFC 3339), `title` (from the archived HTML) and `seed_id`;
- `datapackage.json` — `profile: data-package`, `wacz_version: 1.1.1`, title,
  created/modified, software, mainPageUrl/Date, and every file with `sha256:` hash
  and size in bytes;
- `datapackage-digest.json` — the SHA-256 of datapackage.json and, when a key is given,
  our own Ed25519 signature of it (`crawler.access.wacz_sign`).
The zip is written beside its final name and renamed once complete. What goes in is
read from the database: `packaged_warc_files` (a run's closed WARC files, or every
one, each re-hashed against its recorded SHA-256) and `seed_pages` (their seed page
captures, titled from the archived HTML). `package_holding` finds the newest package
holding a WARC file, for citations. Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from crawler import SOFTWARE_NAME, __version__
from crawler.access.archived_page import page_info, read_response
from crawler.access.mementos import is_memento
from crawler.digests import sha256_file
from crawler.errors import BadInput, IntegrityError
from crawler.roles import PAGE
from crawler.store.models import Capture, CrawlRun, WarcFile

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "Seed pages"}
_STORED = ("archive/", "indexes/index.cdx.gz")


@dataclass(frozen=True)
class Page:
    """One seed capture listed in pages/pages.jsonl."""

    id: str
    url: str
    when: dt.datetime
    title: str | None
    seed_id: str | None

    def json_line(self) -> dict[str, Any]:
        line: dict[str, Any] = {"id": self.id, "url": self.url, "ts": rfc3339(self.when)}
        if self.title:
            line["title"] = self.title
        if self.seed_id:
            line["seed_id"] = self.seed_id
        return line


@dataclass(frozen=True)
class PackageRef:
    """A WACZ file on disk and its SHA-256."""

    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def packaged_warc_files(session: Session, run: int | None, archive: Path) -> list[WarcFile]:
    """The WARC files of crawl run `run` (every one when None), each closed, on disk and
    equal to its recorded SHA-256; BadInput or IntegrityError otherwise."""
    query = select(WarcFile).order_by(WarcFile.name)
    if run is not None:
        if session.get(CrawlRun, run) is None:
            known = ", ".join(str(r) for r in session.scalars(select(CrawlRun.id))) or "none"
            raise BadInput(f"--run {run}: no such crawl run (known: {known})")
        query = query.where(WarcFile.run_id == run)
    files = list(session.scalars(query))
    if not files:
        raise BadInput("nothing to package: no WARC files on record"
                       + (f" for run {run}" if run is not None else ""))
    for wf in files:
        path = archive / wf.name
        if wf.sha256 is None or not path.exists():
            raise BadInput(f"{path}: not closed yet or missing (is a crawl still running?)")
        actual = sha256_file(path)
        if actual != wf.sha256:
            raise IntegrityError(f"{path}: SHA-256 {actual} differs from the recorded "
                                 f"{wf.sha256}; not packaging altered bytes")
    return files


def seed_pages(session: Session, files: list[WarcFile], archive: Path) -> list[Page]:
    """The successful seed page captures in `files`, oldest first, each checked against
    its WARC record and titled from its HTML."""
    ids = [wf.id for wf in files]
    caps = session.scalars(
        select(Capture).options(joinedload(Capture.warc_file))
        .where(Capture.warc_file_id.in_(ids), Capture.seed_id.is_not(None),
               Capture.role == PAGE).order_by(Capture.fetched_at, Capture.id)).all()
    pages = []
    for cap in caps:
        if not is_memento(cap) or not (cap.status and 200 <= cap.status < 300):
            continue
        assert cap.warc_file is not None
        rec = read_response(archive / cap.warc_file.name, int(cap.response_offset or 0),
                            record_id=cap.warc_record_id, payload_sha256=cap.payload_sha256)
        title = page_info(rec.body, content_type=rec.content_type).title \
            if "html" in rec.content_type else None
        pages.append(Page(id=f"capture-{cap.id}", url=cap.url, when=cap.fetched_at,
                          title=title, seed_id=cap.seed_id))
    return pages


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _index(warcs: list[Path]) -> tuple[bytes, bytes]:
    """(index.cdx.gz, index.idx) for the WARC files, sorted, via cdxj-indexer."""
    from cdxj_indexer.main import CDXJIndexer  # imported here: it takes ~0.5 s

    data = io.BytesIO()
    idx = io.StringIO()
    indexer = CDXJIndexer(idx, [str(p) for p in warcs], sort=True, compress=data,
                          data_out_name="index.cdx.gz", lines=1024)
    indexer.process_all()
    return data.getvalue(), idx.getvalue().encode("utf-8")


def _write(zf: zipfile.ZipFile, name: str, data: bytes | None = None, *,
           source: Path | None = None) -> dict[str, Any]:
    """Add one member (stored or deflated as the spec asks); returns its resource entry."""
    info = zipfile.ZipInfo(name, date_time=dt.datetime.now(dt.UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED if name.startswith(_STORED) else zipfile.ZIP_DEFLATED
    digest = hashlib.sha256()
    size = 0
    with zf.open(info, "w", force_zip64=True) as out:
        if source is not None:
            with source.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    out.write(block)
                    digest.update(block)
                    size += len(block)
        else:
            assert data is not None
            out.write(data)
            digest.update(data)
            size = len(data)
    return {"name": os.path.basename(name).lower(), "path": name,
            "hash": "sha256:" + digest.hexdigest(), "bytes": size}


def build_package(
    output: Path,
    *,
    warcs: list[Path],
    pages: list[Page],
    title: str,
    description: str = "",
    extra: dict[str, Any] | None = None,
    sign: Callable[[bytes], dict[str, Any]] | None = None,
    now: dt.datetime | None = None,
) -> PackageRef:
    """Write the WACZ at `output`; returns it with its SHA-256."""
    created = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tmp = output.with_name(output.name + ".open")
    resources = []
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            for warc in warcs:
                resources.append(_write(zf, f"archive/{warc.name}", source=warc))
            cdx_gz, idx = _index(warcs)
            resources.append(_write(zf, "indexes/index.cdx.gz", cdx_gz))
            resources.append(_write(zf, "indexes/index.idx", idx))
            lines = [PAGES_HEADER, *(p.json_line() for p in pages)]
            jsonl = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines)
            resources.append(_write(zf, "pages/pages.jsonl", jsonl.encode("utf-8")))
            package: dict[str, Any] = {
                "profile": "data-package",
                "wacz_version": WACZ_VERSION,
                "title": title,
                "description": description,
                "created": created,
                "modified": created,
                "software": f"{SOFTWARE_NAME} {__version__}",
            }
            if pages:
                package["mainPageUrl"] = pages[0].url
                package["mainPageDate"] = rfc3339(pages[0].when)
            package.update(extra or {})
            package["resources"] = resources
            dp = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
            _write(zf, "datapackage.json", dp)
            digest: dict[str, Any] = {"path": "datapackage.json", "hash": _sha256(dp)}
            if sign is not None:
                digest.update(sign(dp))
            _write(zf, "datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8"))
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PackageRef(output, sha256_file(output))


def package_holding(archive_dir: Path, warc_name: str) -> PackageRef | None:
    """The newest WACZ in `archive_dir` that holds `archive/<warc_name>`, if any."""
    found: list[tuple[float, Path]] = []
    for path in archive_dir.glob("*.wacz"):
        try:
            with zipfile.ZipFile(path) as zf:
                if f"archive/{warc_name}" in zf.namelist():
                    found.append((path.stat().st_mtime, path))
        except (zipfile.BadZipFile, OSError):
            continue
    if not found:
        return None
    path = max(found)[1]
    return PackageRef(path, sha256_file(path))
