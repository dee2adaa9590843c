"""A collection folder: `seeds/` (manifest and seed copies), `archive/` (WARC files)
and `provenance.db` — the same layout as the repository's own top level.

The WARC files the crawler writes end in `.warc.gz`; one still being written (or left
by a crawl that was killed) ends in `.warc.gz.open`. `warc_files` and `warc_path` are
the one place that knows this.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawler.errors import CollectionError

WARC_SUFFIX = ".warc.gz"
OPEN_SUFFIX = ".open"

MANIFEST_TEMPLATE = """\
# Seed manifest of this collection: one [[seed]] table per article.
[collection]
name = "{name}"

# [[seed]]
# id = "001"                                   # unique within the collection
# url = "https://example.org/news/article"     # the article's original URL
# outlet = "Example News"
# copy = "001_example.txt"                     # optional: the seed copy, a file in seeds/
# published = "2014-07-13"                     # optional, when known
"""


@dataclass(frozen=True)
class Collection:
    root: Path

    @property
    def seeds_dir(self) -> Path:
        return self.root / "seeds"

    @property
    def manifest_path(self) -> Path:
        return self.seeds_dir / "manifest.toml"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def db_path(self) -> Path:
        return self.root / "provenance.db"

    @property
    def default_db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def warc_files(self, *, include_open: bool = False) -> list[Path]:
        return warc_files(self.archive_dir, include_open=include_open)

    def warc_path(self, name: str) -> Path | None:
        return warc_path(self.archive_dir, name)

    @classmethod
    def at(cls, path: str | Path) -> Collection:
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise CollectionError(f"collection {root}: is not a folder")
        if not root.exists():
            raise CollectionError(f"collection {root}: folder does not exist (create it with "
                                  f"`crawler init {path}`)")
        return cls(root)


def warc_files(archive_dir: Path, *, include_open: bool = False,
               include_plain: bool = False) -> list[Path]:
    """The WARC files in `archive_dir`, by name (names start with the time): closed ones,
    with `include_open` also those still being written, with `include_plain` also
    uncompressed `.warc` files someone put there (indexes read them; the crawler writes
    none, and verify does not read them)."""
    suffixes = [WARC_SUFFIX]
    if include_open:
        suffixes.append(WARC_SUFFIX + OPEN_SUFFIX)
    if include_plain:
        suffixes.append(".warc")
    if not archive_dir.is_dir():
        return []
    return sorted(path for path in archive_dir.iterdir()
                  if path.name.endswith(tuple(suffixes)) and path.is_file())


def warc_path(archive_dir: Path, name: str) -> Path | None:
    """The file named `name` as closed, else as still being written, else None."""
    for path in (archive_dir / name, archive_dir / (name + OPEN_SUFFIX)):
        if path.exists():
            return path
    return None


def init_collection(path: str | Path, *, name: str | None = None) -> Collection:
    """Create an empty collection; refuses to touch a folder that already has a manifest."""
    root = Path(path).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise CollectionError(f"collection {root}: exists and is not a folder")
    collection = Collection(root)
    if collection.manifest_path.exists():
        raise CollectionError(
            f"collection {root}: already has {collection.manifest_path}; not overwriting it"
        )
    collection.seeds_dir.mkdir(parents=True, exist_ok=True)
    collection.archive_dir.mkdir(parents=True, exist_ok=True)
    collection.manifest_path.write_text(
        MANIFEST_TEMPLATE.format(name=(name or root.name).replace('"', "'")), encoding="utf-8"
    )
    return collection
