"""Archival web crawler with provenance tracking.

Scrapy fetches, warcio writes WARC 1.1, SQLAlchemy records who fetched what, when,
from where and at which offset of which WARC file.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("provenance-crawler")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.1.0"

SOFTWARE_NAME = "provenance-crawler"

from crawler import warcio_compat  # noqa: E402,F401 - br decoding for warcio readers
