"""`crawler.access.archived_page`: `canonical_href`, the short cut the index and the memento
lookup take, says what `page_info` says about every page."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.access.archived_page import canonical_href, page_info

PAGES = [
    b"<html><head><title>t</title></head><body><p>no canonical here</p></body></html>",
    b'<head><link rel="stylesheet" href="a.css"><link rel="canonical" href="/a"></head>',
    b'<LINK REL="Canonical" HREF=" /upper ">',
    b'<link rel="alternate canonical" href="/two-words">',
    b'<link rel="&#99;anonical" href="/by-reference">',
    b'<link rel="&#x63;anonical" href="/by-hex-reference"><p>caf&eacute;</p>',
    b'<link rel="canonical" href="">' + b'<link rel="canonical" href="/second">',
    b'<link rel="canonical" href="/first"><link rel="canonical" href="/second">',
    b'<body><p>x</p><link rel="canonical" href="/in-body"></body>',
    b'<script>var s = \'<link rel="canonical" href="/in-script">\';</script>',
    b"<p>the word canonical in text, and &#8217; a reference</p>",
    b'<link rel=canonical href=/unquoted',
    b'<link rel="canonical" href="/x"',
    b"\xff\xfe<broken <<< &#; <link rel='canonical' href='/after-junk'>",
]


@pytest.mark.parametrize("body", PAGES)
@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=latin-1"])
def test_canonical_href_agrees_with_page_info(body: bytes, content_type: str) -> None:
    expected = page_info(body, content_type=content_type).canonical
    assert canonical_href(body, content_type=content_type) == expected


def test_the_fixture_pages_agree() -> None:
    pages = sorted((Path(__file__).parents[1] / "crawler" / "fixture_site").rglob("*.html"))
    assert pages
    found = 0
    for path in pages:
        body = path.read_bytes()
        expected = page_info(body, content_type="text/html").canonical
        assert canonical_href(body, content_type="text/html") == expected, path
        found += expected is not None
    assert found, "no fixture page declares a canonical URL"
