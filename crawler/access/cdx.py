"""The collection's CDXJ index: `archive/index.cdxj`, in the pywb / cdxj-indexer form.

One line per response (and revisit/resource) record of every closed WARC file in
`archive/`, sorted:

    <SURT url key> <14-digit timestamp> {"url": ..., "mime": ..., "status": ...,
                                         "digest": ..., "length": ..., "offset": ...,
                                         "filename": ...}

`offset`/`length` are the record's byte range in the `.warc.gz` file, `filename` is
relative to `archive/`. The lines are made by cdxj-indexer (the indexer pywb and
py-wacz use), so replay tools read the file as it is. Files still being written
(`*.open`) are left out. The index is written to a temporary file and renamed, so a
reader never sees half an index; `refresh_index` rebuilds it after a crawl and reports
a failure on the command's consoles. Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from crawler import collection
from crawler.errors import BadInput, CrawlerError, IntegrityError

INDEX_NAME = "index.cdxj"


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


def write_cdxj(inputs: list[Path], output: IO[str], *, dir_root: Path | None = None) -> None:
    """Sorted CDXJ lines of `inputs` to `output` (filenames relative to `dir_root`)."""
    from cdxj_indexer import CDXJIndexer  # imported here: it takes ~0.5 s (surt, tldextract)

    indexer = CDXJIndexer(output, [str(p) for p in inputs], sort=True,
                          dir_root=str(dir_root) if dir_root else None)
    indexer.process_all()


def build_index(archive_dir: Path, *, index_path: Path | None = None) -> IndexResult:
    """(Re)write the CDXJ index of every closed WARC file in `archive_dir`, atomically."""
    inputs = warc_files(archive_dir)
    target = index_path or archive_dir / INDEX_NAME
    fd, tmp_name = tempfile.mkstemp(prefix=".index-", suffix=".cdxj.tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            try:
                write_cdxj(inputs, out, dir_root=archive_dir)
            except Exception as exc:  # noqa: BLE001 - warcio raises many kinds on bad bytes
                raise IntegrityError(f"indexing {archive_dir}: a WARC file is not readable "
                                     f"({type(exc).__name__}: {exc})") from exc
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    lines = sum(1 for _ in target.open(encoding="utf-8"))
    return IndexResult(target, tuple(p.name for p in inputs), lines)


def index_is_current(archive_dir: Path, *, index_path: Path | None = None) -> bool:
    """True when the index exists and is newer than every closed WARC file."""
    target = index_path or archive_dir / INDEX_NAME
    if not target.exists():
        return False
    stamp = target.stat().st_mtime
    return all(p.stat().st_mtime <= stamp for p in warc_files(archive_dir))


def refresh_index(ctx: Any) -> bool:
    """Rebuild the index after a crawl, printing to the command's consoles (`ctx.out`,
    `ctx.err`); reports a failure instead of raising it."""
    try:
        result = build_index(ctx.collection.archive_dir)
    except (CrawlerError, OSError, ValueError) as exc:
        ctx.err.print(f"[red]index not updated:[/] {exc}", highlight=False)
        return False
    ctx.out.print(f"index: {result.path} ({result.lines} lines)", highlight=False)
    return True
