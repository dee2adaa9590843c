"""Shared fixtures: the fixture site on 127.0.0.1, collections, databases, the CLI.

The crawl always runs in a subprocess (`python -m crawler …`): Twisted's reactor
cannot be restarted inside one pytest process. Databases are SQLite files in the
collection unless CRAWLER_DB_URL names a PostgreSQL server, in which case each
collection gets a fresh database of its own on that server.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from crawler.warc import warcio_compat
from helpers import (
    CrawledCollection,
    SiteHandler,
    crawl_collection,
    fresh_postgres_database,
    make_collection,
)

warcio_compat.install()  # the tests read br payloads through warcio's content_stream()


@pytest.fixture(scope="session")
def site_server() -> Iterator[str]:
    """The fixture copy of the five outlets on 127.0.0.1; yields its base URL."""
    import re

    from crawler.fixture_site import FixtureSite

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(".*")).respond_with_handler(SiteHandler(FixtureSite(slow_seconds=5)))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.clear()
        server.stop()


@pytest.fixture(scope="session")
def crawled(site_server: str, tmp_path_factory: pytest.TempPathFactory) -> CrawledCollection:
    """The five seeds crawled once from the fixture site. Read-only: copy before tampering."""
    from crawler.fixture_site import demo_manifest_toml

    root = make_collection(tmp_path_factory.mktemp("crawled"), demo_manifest_toml(site_server))
    result = crawl_collection(root)
    assert result.returncode == 0, f"crawl failed:\n{result.stdout}\n{result.stderr}"
    return CrawledCollection(root, result.db_url, site_server, result.stdout, result.stderr,
                             result.returncode)


@pytest.fixture
def crawled_copy(crawled: CrawledCollection, tmp_path: Path) -> CrawledCollection:
    """A private copy of the crawled collection (files and, for SQLite, the database)."""
    root = tmp_path / "copy"
    shutil.copytree(crawled.root, root)
    if crawled.db_url.startswith("sqlite"):
        db_url = f"sqlite:///{root / 'provenance.db'}"
    else:
        db_url = fresh_postgres_database(crawled.db_url)
        subprocess.run(  # copy the database with pg_dump | psql
            f"pg_dump '{crawled.db_url}' | psql -q '{db_url}'", shell=True, check=True,
            capture_output=True,
        )
    return CrawledCollection(root, db_url, crawled.base_url, crawled.stdout, crawled.stderr,
                             crawled.returncode)
