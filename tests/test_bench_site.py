"""The benchmark's fixture site (bench/site.py): deterministic, realistic sizes. No crawl."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.site import (
    PAGE_MAX,
    PAGE_MIN,
    article_html,
    image_bytes,
    image_paths,
    manifest_toml,
    shared_files,
    site_files,
    write_site,
)
from crawler.capture.requisites import html_requisites


def _digest(pages: int) -> str:
    h = hashlib.sha256()
    for f in site_files(pages):
        h.update(f.path.encode() + b"\0" + hashlib.sha256(f.data).digest())
    return h.hexdigest()


#: what bench/site.py generates, digested: every process, Python version and hash seed
#: must produce these bytes, or earlier benchmark results stop being comparable. Change
#: them only with the site, on purpose.
SITE_40_DIGEST = "c6bfdc3c15f68252a22ec2d3f264fd30faefdaf9b6c34ffbf6b4743eba5f5023"
ARTICLE_7_SHA256 = "926ca25fbc9b06b0ee2b3ff1fe9a7796e0fac128e07e45f5d80de6cb68c63e91"


def test_site_is_the_same_in_every_process() -> None:
    # this process's hash seed is random (pytest does not fix PYTHONHASHSEED), so the
    # golden digests, taken in another process, hold it to the same bytes
    assert _digest(40) == SITE_40_DIGEST
    assert hashlib.sha256(article_html(7)).hexdigest() == ARTICLE_7_SHA256


def test_page_does_not_depend_on_the_size_of_the_site() -> None:
    small = {f.path: f.data for f in site_files(10)}
    large = {f.path: f.data for f in site_files(30)}
    assert all(large[path] == data for path, data in small.items())


def test_pages_within_size_range() -> None:
    sizes = [len(article_html(i)) for i in range(1, 201)]
    assert all(PAGE_MIN <= s <= PAGE_MAX for s in sizes)
    assert max(sizes) - min(sizes) > (PAGE_MAX - PAGE_MIN) // 2  # spread over the range
    assert len(set(sizes)) > 150


def test_pages_have_shared_and_own_requisites() -> None:
    base = "http://127.0.0.1:1"
    shared = {base + p for p in shared_files() if p.startswith("/static/")}
    for i in (1, 2, 3, 50):
        found = set(html_requisites(article_html(i).decode(), base + f"/articles/{i:06d}.html"))
        own = {base + p for p in image_paths(i)}
        assert own <= found
        assert 1 <= len(own) <= 2
        assert {f"{base}/static/site.css", f"{base}/static/app.js"} <= found <= shared | own
    assert all(image_bytes(p)[:2] == b"\xff\xd8" for p in image_paths(3))


def test_write_site_and_manifest(tmp_path: Path) -> None:
    write_site(tmp_path, 5)
    assert (tmp_path / "robots.txt").read_bytes().startswith(b"User-agent: *")
    assert (tmp_path / "articles" / "000005.html").read_bytes() == article_html(5)
    assert manifest_toml("http://h", 5).count("[[seed]]") == 5
