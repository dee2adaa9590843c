"""What the tests share that is not a fixture: paths, the CLI in a subprocess, test
collections and databases, and a factory of `Fetch` values. The fixtures that use them
are in conftest.py; test modules import these with `from helpers import ...` (pytest
puts tests/ on the import path).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from crawler.warc.records import Fetch

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
        with psycopg.connect(url, connect_timeout=3):
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


def postgres_database(server_url: str = PG_DEFAULT) -> str:
    """A fresh, empty database on the test server (skips, or fails, when it is down)."""
    return fresh_postgres_database(postgres_url_or_skip(server_url))


def db_url_for(root: Path) -> str:
    env = os.environ.get("CRAWLER_DB_URL", "")
    if env.startswith("postgresql"):
        return postgres_database(env)
    return f"sqlite:///{root / 'provenance.db'}"


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


class SiteHandler:
    """A pytest-httpserver handler that answers with a WSGI app (the fixture site)."""

    def __init__(self, site: object) -> None:
        self.site = site

    def __call__(self, request: Request) -> Response:
        return Response.from_app(self.site, request.environ)


#: when the factory's fetches happened, and where (tests that write records without a server)
WHEN = dt.datetime(2026, 11, 22, 10, 30, 15, 123456, tzinfo=dt.UTC)
BASE = "http://127.0.0.1:8000"


def http_fetch(key: str, url: str, **fields: Any) -> Fetch:
    """A fetch answered HTTP/1.1 200 with an HTML body, fetched at WHEN: any field can
    be given instead."""
    values: dict[str, Any] = {"fetched_at": WHEN, "protocol": "HTTP/1.1", "status": 200,
                              "response_headers": (("Content-Type", "text/html"),)}
    return Fetch(key=key, url=url, **(values | fields))
