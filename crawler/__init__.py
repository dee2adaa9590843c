"""Archival web crawler with provenance tracking.

Scrapy fetches, warcio writes WARC 1.1, SQLAlchemy records who fetched what, when,
from where and at which offset of which WARC file.
"""

from __future__ import annotations

SOFTWARE_NAME = "provenance-crawler"


def __getattr__(name: str) -> str:
    """`crawler.__version__`, read from the installed package's metadata when first
    asked for: importlib.metadata costs ~3 MB and 50 ms in every process that imports
    the package, the WARC writer process included, which never needs it."""
    if name != "__version__":
        raise AttributeError(f"module 'crawler' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version(SOFTWARE_NAME)
    except PackageNotFoundError:  # running from a source tree that was not installed
        found = "0.1.0"
    globals()["__version__"] = found
    return found
