"""The HTML report: written from the crawled seeds, rendered by headless Chromium, and
escaped: archived `<script>` / `onerror=` markup shows as text and runs nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crawler.access.report import seed_page_name, write_report
from crawler.compare.comparison import compare
from crawler.compare.live_page import extract_page
from crawler.compare.recorded import SeedResult
from crawler.compare.seed_copy import load_seed_copy
from crawler.fixture_site.assets import read_package_file
from crawler.manifest import Seed
from crawler.warc.read import decode_html
from helpers import run_cli

DATA = Path(__file__).parent / "data" / "compare"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        if os.environ.get("CRAWLER_REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120)


def dump_dom(tmp_path: Path, page: Path) -> str:
    proc = chromium(tmp_path, "--dump-dom", page.resolve().as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture
def xss_report(tmp_path: Path) -> Path:
    html = read_package_file("pages/xss.html").replace(b"{{origin}}", b"https://x.example")
    page = extract_page(decode_html(html), url="https://x.example/")
    comparison = compare(load_seed_copy(DATA / "xss.txt"), live=page)
    seed = Seed(id="x<script>", url="https://x.example/?q=<script>alert(4)</script>",
                outlet="<b onmouseover=alert(6)>Outlet</b>")
    out = tmp_path / "report"
    write_report([SeedResult(seed, comparison, None)], out, title="<script>alert(8)</script>")
    return out


def test_report_escapes_everything(xss_report: Path):
    html = "".join(p.read_text(encoding="utf-8") for p in xss_report.glob("*.html"))
    assert "<script" not in html.lower()
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", html, re.I)  # no event handler in a tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html


def test_injected_markup_shows_as_text_and_runs_nothing_in_chromium(tmp_path, xss_report):
    for page in (xss_report / "index.html", xss_report / seed_page_name("x<script>")):
        dom = dump_dom(tmp_path, page)
        assert "PWNED" not in dom.split("</title>")[0]
        assert "data-pwned" not in dom.split("<body")[1].split(">")[0]
        assert "<script" not in dom.lower() and "<img" not in dom.lower()
    dom = dump_dom(tmp_path, xss_report / seed_page_name("x<script>"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # shown as text
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom


def test_report_of_the_crawled_seeds(crawled, tmp_path: Path):
    out = tmp_path / "report"
    proc = run_cli("report", "--collection", str(crawled.root), "--out", str(out),
                   db_url=crawled.db_url)
    assert proc.returncode == 0, proc.stderr
    index = dump_dom(tmp_path, out / "index.html")
    for seed in ("000", "001", "002", "003", "004"):
        assert f'href="seed-{seed}.html"' in index
    assert 'class="badge warning"' in index and "date_mismatch" in index
    assert 'class="badge info"' in index and "redirected" in index
    page = dump_dom(tmp_path, out / "seed-002.html")
    for expected in ("WARC record id", "urn:uuid:", "payload SHA-256", "date_mismatch",
                     "Saturday, December 27, 2025", "MORE International ARTICLES",
                     'class="diff"', 'tr class="same"', 'tr class="chrome"'):
        assert expected in page, expected
    shot = tmp_path / "shot.png"
    proc = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000",
                    (out / "seed-004.html").resolve().as_uri())
    assert proc.returncode == 0 and shot.stat().st_size > 10_000


def test_report_of_missing_collection_is_bad_input(tmp_path: Path):
    proc = run_cli("report", "--collection", str(tmp_path / "nope"))
    assert proc.returncode == 2
