"""The five seed copies, their original URLs, and how they map onto the fixture site.

The fixture site serves every outlet under a path prefix equal to the outlet's real host
name, so ``https://www.x.com/a?b`` lives at ``{base_url}/www.x.com/a?b``.  This module
holds the seed table (kept in step with ``shared/seeds/SOURCES.md``), the mapping from an
original URL to its local URL, and the TOML manifest of the offline demo collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Seed:
    """One seed copy and the article it was taken from."""

    id: str
    original_url: str
    outlet: str
    copy: str
    published: str | None  # ISO date stated by the article itself, None when unknown


SEEDS: tuple[Seed, ...] = (
    Seed(
        id="000",
        original_url=(
            "https://shoebat.com/2014/09/01/taliban-pledges-allegiance-isis-sent-recruits-join/"
        ),
        outlet="Shoebat.com",
        copy="000_f42268b3ad807dc5.txt",
        published=None,
    ),
    Seed(
        id="001",
        original_url=(
            "https://financialtribune.com/articles/international/1980/"
            "pakistani-taliban-declare-allegiance-to-is"
        ),
        outlet="Financial Tribune",
        copy="001_1c550582d314bf37.txt",
        published=None,
    ),
    Seed(
        id="002",
        original_url=(
            "https://www.darpanmagazine.com/news/international/"
            "isis-inspiring-pakistani-militants/?page=52"
        ),
        outlet="Darpan Magazine",
        copy="002_175540b7c80d02ab.txt",
        published="2014-07-13",
    ),
    Seed(
        id="003",
        original_url=(
            "https://www.oneindia.com/india/2021-when-taliban-conquered-afghanistan-"
            "and-iskp-decided-to-stay-at-logger-heads-3346304.html"
        ),
        outlet="OneIndia",
        copy="003_85f78261df0d1d76.txt",
        published="2021-12-11",
    ),
    Seed(
        id="004",
        original_url="https://www.orissapost.com/?p=555484",
        outlet="OrissaPOST",
        copy="004_32aec64dd3ada610.txt",
        published="2021-06-22",
    ),
)


def local_url(original_url: str, base_url: str) -> str:
    """Map an original article URL to its copy on the fixture site at ``base_url``.

    The scheme is dropped and host, path and query are kept:
    ``https://www.x.com/a?b`` becomes ``{base_url}/www.x.com/a?b``.
    """
    parts = urlsplit(original_url)
    if not parts.hostname:
        raise ValueError(f"not an absolute URL: {original_url!r}")
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{base_url.rstrip('/')}/{parts.hostname.lower()}{path}{query}"


def _toml_string(value: str) -> str:
    """A TOML basic string (double quotes, backslash escapes)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def demo_manifest_toml(
    base_url: str, *, collection_name: str = "Fixture copy of the five seed outlets"
) -> str:
    """Manifest text (TOML) of the offline demo collection pointing at the fixture site."""
    lines = ["[collection]", f"name = {_toml_string(collection_name)}"]
    for seed in SEEDS:
        lines += [
            "[[seed]]",
            f"id = {_toml_string(seed.id)}",
            f"url = {_toml_string(local_url(seed.original_url, base_url))}",
            f"outlet = {_toml_string(seed.outlet)}",
            f"copy = {_toml_string(seed.copy)}",
        ]
        if seed.published is not None:
            lines.append(f"published = {_toml_string(seed.published)}")
    return "\n".join(lines) + "\n"
