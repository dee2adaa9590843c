"""`crawler replay`: pywb (from its own virtualenv) serves an archived fixture article with
its text and its CSS from the archive; the fixture server is stopped first, so nothing
can come from the live site."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from warcio.archiveiterator import ArchiveIterator

from crawler import settings
from crawler.access.replay import find_wayback
from crawler.errors import BadInput
from crawler.fixture_site import FixtureSite, demo_manifest_toml
from crawler.store.db import open_database
from crawler.store.models import Capture
from helpers import (
    REPO,
    CrawledCollection,
    SiteHandler,
    crawl_collection,
    make_collection,
    services_required,
)

SEED = "002"  # Darpan Magazine: an article page with a stylesheet


def pywb_or_skip() -> Path:
    try:
        return find_wayback(settings.REPLAY_PYWB)
    except BadInput as exc:
        if services_required():
            pytest.fail(f"pywb is required (CRAWLER_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"pywb is not installed: {exc}")


@pytest.fixture(scope="module")
def offline_collection(tmp_path_factory: pytest.TempPathFactory) -> CrawledCollection:
    """One seed crawled from a private fixture server that is then shut down."""
    pywb_or_skip()
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(re.compile(".*")).respond_with_handler(SiteHandler(FixtureSite()))
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        root = make_collection(tmp_path_factory.mktemp("replay"), demo_manifest_toml(base))
        result = crawl_collection(root, "--seed", SEED)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        server.clear()
        server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/robots.txt", timeout=3)
    return CrawledCollection(root, result.db_url, base, result.stdout, result.stderr, 0)


def _start(collection: CrawledCollection, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "--collection", str(collection.root), "--db",
         collection.db_url, "replay", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines: list[str] = []
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if "Ctrl-C" in line:
            return proc, lines
    proc.kill()
    errors = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"replay did not start:\n{lines}\n{errors}")


@pytest.fixture(scope="module")
def replay(offline_collection: CrawledCollection) -> Iterator[tuple[str, list[str]]]:
    proc, lines = _start(offline_collection)
    try:
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/", "\n".join(lines))
        assert match, lines
        yield match.group(1), lines
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    with pytest.raises(urllib.error.URLError):  # pywb went down with it
        urllib.request.urlopen(match.group(1) + "/", timeout=3)


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, dict(resp.headers), resp.read()


def _captures(collection: CrawledCollection) -> list[Capture]:
    sessions = open_database(collection.db_url, upgrade_schema=False)
    with sessions() as session:
        return list(session.scalars(select(Capture).options(joinedload(Capture.warc_file))))


def _body(collection: CrawledCollection, cap: Capture) -> bytes:
    with (collection.root / "archive" / cap.warc_file.name).open("rb") as fh:
        fh.seek(cap.response_offset)
        return next(iter(ArchiveIterator(fh))).content_stream().read()


def test_replay_serves_the_archived_article_and_its_css(
        offline_collection: CrawledCollection, replay: tuple[str, list[str]]) -> None:
    base, lines = replay
    caps = _captures(offline_collection)
    page = next(c for c in caps if c.seed_id == SEED and c.role == "page" and c.status == 200)
    stamp = page.fetched_at.strftime("%Y%m%d%H%M%S")
    name = offline_collection.root.name.lower()
    top = f"{base}/{name}/{stamp}/{page.url}"
    assert any(top in line for line in lines), lines  # the URL a person opens is printed

    status, _, framed = _get(top)
    assert status == 200 and b"iframe" in framed
    status, headers, html = _get(f"{base}/{name}/{stamp}mp_/{page.url}")
    assert status == 200
    assert headers.get("Memento-Datetime"), headers
    assert b"ISIS inspiring Pakistani militants" in html
    archived = _body(offline_collection, page)
    paragraph = re.search(rb"<p>([^<]{60,})</p>", archived)
    assert paragraph and paragraph.group(1)[:60] in html

    css_links = re.findall(rf'href="([^"]*/{name}/\d{{14}}cs_/[^"]+\.css[^"]*)"'.encode(), html)
    assert css_links, "no stylesheet rewritten to the archive"
    css_caps = {c.url: c for c in caps if (c.content_type or "").startswith("text/css")}
    checked = 0
    for link in css_links:
        url = link.decode()
        original = url.split("cs_/", 1)[1]
        if original not in css_caps:
            continue
        status, headers, css = _get(url if url.startswith("http") else base + url)
        assert status == 200 and "css" in headers.get("Content-Type", "")
        archived_css = _body(offline_collection, css_caps[original])
        rule = re.search(rb"[.#a-z][^{}]{2,40}\{", archived_css)
        assert rule and rule.group(0) in css
        checked += 1
    assert checked, f"none of {css_links} is an archived stylesheet"


def test_replay_without_pywb_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="pywb not found"):
        find_wayback(str(tmp_path / "no-venv"))


def test_replay_rejects_a_bad_port(crawled: CrawledCollection) -> None:
    # the port is refused before pywb is looked for: this needs no pywb
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", "--collection", str(crawled.root), "--db",
         crawled.db_url, "replay", "--port", "70000"],
        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "--port 70000" in proc.stderr
