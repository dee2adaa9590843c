"""Shared fixtures: the fixture site on 127.0.0.1, collections, databases, the CLI.

The crawl always runs in a subprocess (`python -m crawler …`): Twisted's reactor
cannot be restarted inside one pytest process. Databases are SQLite files in the
collection unless CRAWLER_DB_URL names a PostgreSQL server, in which case each
collection gets a fresh database of its own on that server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from crawler.warc import warcio_compat

warcio_compat.install()  # the tests read br payloads through warcio's content_stream()

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
#: settings every test crawl uses: no politeness delays against our own server
FAST = ("-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0")


def services_required() -> bool:
    return os.environ.get("CRAWLER_REQUIRE_SERVICES") == "1"


def postgres_url_or_skip(url: str = PG_DEFAULT) -> str:
    """A reachable PostgreSQL URL; skips (or fails under CRAWLER_REQUIRE_SERVICES=1)."""
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), connect_timeout=3):
            pass
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        message = f"PostgreSQL at {url} is not reachable: {exc}"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return url


def fresh_postgres_database(server_url: str) -> str:
    """Create an empty database on the server of `server_url`; returns its URL."""
    import psycopg

    name = f"crawler_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def db_url_for(root: Path) -> str:
    env = os.environ.get("CRAWLER_DB_URL", "")
    if env.startswith("postgresql"):
        return fresh_postgres_database(postgres_url_or_skip(env))
    return f"sqlite:///{root / 'provenance.db'}"


class _SiteHandler:
    def __init__(self, site: object) -> None:
        self.site = site

    def __call__(self, request: Request) -> Response:
        return Response.from_app(self.site, request.environ)


@pytest.fixture(scope="session")
def site_server() -> Iterator[str]:
    """The fixture copy of the five outlets on 127.0.0.1; yields its base URL."""
    import re

    from crawler.fixture_site import FixtureSite

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(".*")).respond_with_handler(_SiteHandler(FixtureSite(slow_seconds=5)))
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.clear()
        server.stop()


@dataclass(frozen=True)
class CrawledCollection:
    root: Path
    db_url: str
    base_url: str
    stdout: str
    stderr: str
    returncode: int


def make_collection(root: Path, manifest: str, *, copies: bool = True) -> Path:
    (root / "seeds").mkdir(parents=True, exist_ok=True)
    (root / "archive").mkdir(exist_ok=True)
    if copies:
        for copy in SEEDS.glob("*.txt"):
            shutil.copy2(copy, root / "seeds" / copy.name)
    (root / "seeds" / "manifest.toml").write_text(manifest, encoding="utf-8")
    return root


def run_cli(*args: str, db_url: str | None = None, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m crawler ARGS` in a subprocess, with the test's database."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CRAWLER_DB_URL", None)
    if db_url:
        full_env["CRAWLER_DB_URL"] = db_url
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, cwd=REPO,
    )


def crawl_collection(root: Path, *extra: str, db_url: str | None = None,
                     timeout: float = 300) -> CrawledCollection:
    db_url = db_url or db_url_for(root)
    proc = run_cli("crawl", "--collection", str(root), *FAST, *extra, db_url=db_url,
                   timeout=timeout)
    return CrawledCollection(root, db_url, "", proc.stdout, proc.stderr, proc.returncode)


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
