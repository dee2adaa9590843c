"""The seed manifest: `seeds/manifest.toml` of a collection, read and validated.

    [collection]
    name = "..."
    [[seed]]
    id = "002"
    url = "https://..."
    outlet = "Darpan Magazine"
    copy = "002_175540b7c80d02ab.txt"     # optional
    published = "2014-07-13"              # optional

A manifest that cannot be used is refused as a whole, before anything is fetched:
`ManifestError` names the file, the seed and the problem.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawler.digests import sha256_file
from crawler.errors import ManifestError

SEED_KEYS = {"id", "url", "outlet", "copy", "published", "notes"}
COLLECTION_KEYS = {"name", "description"}


@dataclass(frozen=True)
class Seed:
    """One article the collection keeps: its original URL and its seed copy."""

    id: str
    url: str
    outlet: str
    copy: str | None = None
    published: str | None = None
    copy_path: Path | None = None
    copy_sha256: str | None = None


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    seeds: tuple[Seed, ...]
    description: str = ""

    def seed(self, seed_id: str) -> Seed:
        for seed in self.seeds:
            if seed.id == seed_id:
                return seed
        known = ", ".join(s.id for s in self.seeds) or "none"
        raise ManifestError(self.path, f"no seed with id {seed_id!r} (known: {known})")


def parse_seed_ids(values: Iterable[str]) -> list[str]:
    """Seed ids as given on a command line: each value one id or several, comma-separated."""
    return [s.strip() for value in values for s in value.split(",") if s.strip()]


def check_url(url: object) -> str | None:
    """Return the problem with `url` as a seed URL, or None when it is usable."""
    if not isinstance(url, str) or not url.strip():
        return "url is missing or empty"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"url {url!r} is not http or https"
    if not parts.hostname:
        return f"url {url!r} has no host"
    return None


def _read_toml(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(path, "file not found") from None
    except OSError as exc:
        raise ManifestError(path, f"cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(path, f"is not UTF-8 ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, f"is not valid TOML: {exc}") from None


def _seed_from_table(path: Path, index: int, table: object, seeds_dir: Path) -> Seed:
    if not isinstance(table, dict):
        raise ManifestError(path, f"[[seed]] number {index} is not a table")
    seed_id = table.get("id")
    if not isinstance(seed_id, str) or not seed_id.strip():
        raise ManifestError(path, f"[[seed]] number {index} has no id (a non-empty string)")
    unknown = sorted(set(table) - SEED_KEYS)
    if unknown:
        raise ManifestError(path, f"unknown key(s) {', '.join(unknown)}", seed=seed_id)
    problem = check_url(table.get("url"))
    if problem:
        raise ManifestError(path, problem, seed=seed_id)
    url = table["url"].strip()
    outlet = table.get("outlet") or urlsplit(url).hostname
    if not isinstance(outlet, str):
        raise ManifestError(path, "outlet must be a string", seed=seed_id)
    published = table.get("published")
    if isinstance(published, dt.date):
        published = published.isoformat()
    if published is not None:
        if not isinstance(published, str):
            raise ManifestError(path, "published must be a date such as 2014-07-13", seed=seed_id)
        try:
            dt.date.fromisoformat(published[:10])
        except ValueError:
            raise ManifestError(
                path, f"published {published!r} is not a date such as 2014-07-13", seed=seed_id
            ) from None
    copy = table.get("copy")
    copy_path = copy_sha = None
    if copy is not None:
        if not isinstance(copy, str) or not copy.strip():
            raise ManifestError(path, "copy must be a file name", seed=seed_id)
        copy_path = (seeds_dir / copy).resolve()
        if not copy_path.is_file():
            raise ManifestError(path, f"copy {copy!r} does not exist in {seeds_dir}", seed=seed_id)
        copy_sha = sha256_file(copy_path)
    return Seed(
        id=seed_id,
        url=url,
        outlet=outlet,
        copy=copy,
        published=published,
        copy_path=copy_path,
        copy_sha256=copy_sha,
    )


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; seed copies are looked up beside it."""
    path = Path(path)
    data = _read_toml(path)
    collection = data.get("collection", {})
    if not isinstance(collection, dict):
        raise ManifestError(path, "[collection] must be a table")
    strange = sorted(set(collection) - COLLECTION_KEYS)
    if strange:  # the operator and contact are the crawl's settings, not the collection's
        raise ManifestError(path, f"unknown [collection] key(s) {', '.join(strange)} (known: "
                            f"{', '.join(sorted(COLLECTION_KEYS))}; the operator and contact "
                            "are the settings CRAWLER_OPERATOR and CRAWLER_CONTACT)")
    unknown = sorted(set(data) - {"collection", "seed"})
    if unknown:
        raise ManifestError(path, f"unknown top-level key(s) {', '.join(unknown)}")
    tables = data.get("seed", [])
    if not isinstance(tables, list):
        raise ManifestError(path, "seeds must be given as [[seed]] tables")
    seeds: list[Seed] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        seed = _seed_from_table(path, index, table, path.parent)
        if seed.id in seen:
            raise ManifestError(path, "duplicate id", seed=seed.id)
        seen.add(seed.id)
        seeds.append(seed)
    name = collection.get("name") or path.parent.parent.name
    return Manifest(
        path=path,
        name=str(name),
        seeds=tuple(seeds),
        description=str(collection.get("description", "")),
    )
