"""Tests of the offline fixture copy of the five seed outlets (crawler.fixture_site)."""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import json
import re
import socket
import time
import tomllib
import urllib.error
import urllib.request
import urllib.robotparser
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import brotli
import pytest
from werkzeug.test import Client

from crawler.fixture_site import SEEDS, FixtureSite, demo_manifest_toml, local_url, serve
from crawler.fixture_site.site import ORISSAPOST_PERMALINK

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
TODAY = dt.date(2026, 11, 23)
BY_ID = {seed.id: seed for seed in SEEDS}
# (first line, line after the last) of each copy's article paragraphs; None: to the end
ARTICLE_SPANS: dict[str, list[tuple[str, str | None]]] = {
    "000": [("The Taliban has pledged", ", , ,")],
    "001": [("The Pakistani Taliban have declared", None)],
    "002": [("The ISIS in Iraq is influencing", "MORE International ARTICLES")],
    "003": [("New Delhi, Dec 11:", "Story first published")],
    "004": [("New Delhi: The banned", "Also Read"), ("All of these groups", "IANS\u00a0")],
}
HEADLINES = {
    "000": "The Taliban Pledges Allegiance To ISIS, And Has Sent Recruits To Join Them",
    "001": "Pakistani Taliban Declare Allegiance to IS",
    "002": "'ISIS inspiring Pakistani militants'",
    "003": "2021: When Taliban conquered Afghanistan and ISKP decided to stay at logger-heads",
    "004": "ISI encouraged banned Kashmir-centric terrorist groups to join Islamic State: Report",
}


def norm(text: str) -> str:
    return " ".join(text.split())


def copy_paragraphs(seed_id: str) -> list[str]:
    """The article paragraphs of a seed copy, whitespace-normalised, in order."""
    text = (SEEDS_DIR / BY_ID[seed_id].copy).read_text(encoding="utf-8")
    out: list[str] = []
    for first, stop in ARTICLE_SPANS[seed_id]:
        start = text.index(first)
        end = text.index(stop, start) if stop else len(text)
        out += [norm(block) for block in re.split(r"\n\s*\n", text[start:end]) if norm(block)]
    return out


class PageParser(HTMLParser):
    """Collects <p> texts inside the page's first top-level <article>, <h1> texts,
    every tag's attributes, and JSON-LD blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.article_depth = 0
        self.articles_seen = 0
        self.paragraphs: list[str] = []
        self.h1: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.json_ld: list[dict] = []
        self._buf: list[str] | None = None
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "article":
            self.articles_seen += self.article_depth == 0
            self.article_depth += 1
        elif (tag == "p" and self.article_depth and self.articles_seen == 1) or tag == "h1" or (
            tag == "script" and attributes.get("type") == "application/ld+json"
        ):
            self._buf, self._open = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.article_depth -= 1
        elif self._buf is not None and tag == self._open:
            text = "".join(self._buf)
            if tag == "p" and norm(text):
                self.paragraphs.append(norm(text))
            elif tag == "h1":
                self.h1.append(norm(text))
            elif tag == "script":
                self.json_ld.append(json.loads(text))
            self._buf = self._open = None

    def handle_data(self, data: str) -> None:
        if self._buf is not None:
            self._buf.append(data)

    def meta(self, key: str) -> list[str]:
        return [a.get("content", "") for t, a in self.tags
                if t == "meta" and key in (a.get("property"), a.get("name"))]


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def seed_path(seed_id: str) -> str:
    return local_url(BY_ID[seed_id].original_url, "")


@pytest.fixture()
def client() -> Client:
    return Client(FixtureSite(today=lambda: TODAY, slow_seconds=0.05))


@pytest.fixture(scope="module")
def server() -> Iterator:
    with serve(site=FixtureSite(today=lambda: TODAY, slow_seconds=1.0)) as running:
        yield running


def get_text(client: Client, path: str, **headers: str) -> str:
    response = client.get(path, headers=headers, follow_redirects=True)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


# ---- manifest ----------------------------------------------------------------------

def test_seeds_match_the_seed_files_and_sources() -> None:
    assert [s.id for s in SEEDS] == ["000", "001", "002", "003", "004"]
    for seed in SEEDS:
        assert (SEEDS_DIR / seed.copy).is_file()
        assert seed.copy.startswith(seed.id + "_")
    assert {s.id: s.published for s in SEEDS} == {
        "000": None, "001": None, "002": "2014-07-13", "003": "2021-12-11", "004": "2021-06-22"}
    assert BY_ID["004"].original_url == "https://www.orissapost.com/?p=555484"


def test_local_url_keeps_host_path_and_query() -> None:
    assert local_url("https://www.x.com/a?b", "http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/www.x.com/a?b")
    assert local_url("https://WWW.X.com", "http://h:1") == "http://h:1/www.x.com/"
    with pytest.raises(ValueError):
        local_url("/relative/only", "http://h:1")


def test_demo_manifest_is_toml_with_the_five_seeds() -> None:
    text = demo_manifest_toml("http://127.0.0.1:4321", collection_name='Demo "x"')
    data = tomllib.loads(text)
    assert data["collection"]["name"] == 'Demo "x"'
    assert text.startswith('[collection]\nname = "Demo \\"x\\""\n[[seed]]\nid = "000"\n')
    seeds = {s["id"]: s for s in data["seed"]}
    assert seeds["002"] == {
        "id": "002", "outlet": "Darpan Magazine", "copy": "002_175540b7c80d02ab.txt",
        "published": "2014-07-13",
        "url": "http://127.0.0.1:4321/www.darpanmagazine.com/news/international/"
               "isis-inspiring-pakistani-militants/?page=52"}
    assert "published" not in seeds["000"] and "published" not in seeds["001"]
    assert seeds["004"]["url"] == "http://127.0.0.1:4321/www.orissapost.com/?p=555484"


# ---- the five article pages ---------------------------------------------------------

@pytest.mark.parametrize("seed_id", sorted(ARTICLE_SPANS))
def test_article_paragraphs_are_the_copys_article_text(client: Client, seed_id: str) -> None:
    page = parse(get_text(client, seed_path(seed_id)))
    expected = copy_paragraphs(seed_id)
    if seed_id == "004":
        expected.append("IANS")  # the agency credit closing the article, as in the copy
    assert len(expected) >= 5
    assert page.paragraphs == expected


@pytest.mark.parametrize("seed_id", sorted(HEADLINES))
def test_article_metadata(client: Client, seed_id: str) -> None:
    html = get_text(client, seed_path(seed_id), Host="127.0.0.1:8765")
    page = parse(html)
    assert page.h1 == [HEADLINES[seed_id]]
    assert page.meta("og:title") == [HEADLINES[seed_id]]
    (ld,) = page.json_ld
    assert ld["@type"] == "NewsArticle" and ld["headline"] == HEADLINES[seed_id]
    assert ld["author"]["name"]
    published = page.meta("article:published_time")
    assert published and ld["datePublished"] == published[0]
    if BY_ID[seed_id].published:
        assert ld["datePublished"].startswith(BY_ID[seed_id].published)
    assert any(t == "time" and a.get("datetime") for t, a in page.tags)
    canonical = [a["href"] for t, a in page.tags if t == "link" and a.get("rel") == "canonical"]
    assert len(canonical) == 1 and canonical[0].startswith("http://127.0.0.1:8765/")
    assert "http://localhost:8765/cdn/" in html and "{{" not in html
    # links to other articles exist in the chrome
    own = urlsplit(canonical[0]).path
    prefix = "/" + own.split("/")[1] + "/"
    others = {urlsplit(urljoin(canonical[0], a["href"])).path for t, a in page.tags
              if t == "a" and "href" in a}
    others = {p for p in others if p.startswith(prefix) and p not in (own, prefix)}
    assert len(others) >= 3


def test_situations_described_in_sources(client: Client) -> None:
    darpan = get_text(client, seed_path("002"))
    assert "Darpan News Desk" in darpan and "13 Jul, 2014 01:00 PM" in darpan
    assert "ADVT" in darpan and "MORE International ARTICLES" in darpan
    for story in ("Crimea's accession", "MH370", "tit-for-tat", "bin Laden"):
        assert story in darpan
    ft = parse(get_text(client, seed_path("001")))
    headline = HEADLINES["001"]
    assert any(t == "img" and a.get("alt") == headline for t, a in ft.tags)
    assert "<figcaption>" + headline + "</figcaption>" in get_text(client, seed_path("001"))
    assert ft.json_ld[0]["datePublished"].startswith("2014-10-05")
    oneindia = get_text(client, seed_path("003"))
    assert "Story first published: <time" in oneindia
    assert "Saturday, December 11, 2021, 11:53 [IST]" in oneindia
    orissa = get_text(client, ORISSAPOST_PERMALINK)
    for chrome in ("Also Read", "#MyPaperBagChallenge", "© 2025 All rights Reserved by OrissaPOST",
                   "Editorial", "June 22nd, 2021, 07:30 IST", "Today’s Pic", "Ratna Technology"):
        assert chrome in orissa
    assert orissa.count("#MyPaperBagChallenge") == 30
    shoebat = parse(get_text(client, seed_path("000")))
    assert any(t == "a" and a.get("rel") == "author" for t, a in shoebat.tags)
    assert sum(1 for t, a in shoebat.tags if t == "a" and a.get("rel") == "tag") == 43
    assert "/2014/09/01/" in seed_path("000")


def test_darpan_date_widget_prints_the_day_served() -> None:
    def widget(day: dt.date) -> str:
        html = get_text(Client(FixtureSite(today=lambda: day)), seed_path("002"))
        match = re.search(r'<span class="today-date">([^<]*)</span>', html)
        assert match is not None
        return match.group(1)

    assert widget(TODAY) == "Monday, November 23, 2026"
    assert widget(dt.date(2025, 12, 27)) == "Saturday, December 27, 2025"
    assert widget(dt.date(2025, 12, 5)) == "Friday, December 5, 2025"


def test_darpan_page_query_does_not_change_the_article(client: Client) -> None:
    base = "/www.darpanmagazine.com/news/international/isis-inspiring-pakistani-militants/"
    pages = {get_text(client, f"{base}?page={n}") for n in (13, 52, 1000)}
    pages.add(get_text(client, base))
    assert len(pages) == 1


def test_orissapost_short_link_redirects_to_permalink(client: Client) -> None:
    response = client.get("/www.orissapost.com/?p=555484", headers={"Host": "127.0.0.1:5000"})
    assert response.status_code == 301
    assert response.headers["Location"] == "http://127.0.0.1:5000" + ORISSAPOST_PERMALINK
    assert client.get(ORISSAPOST_PERMALINK).status_code == 200
    assert client.get(ORISSAPOST_PERMALINK.rstrip("/")).status_code == 301
    assert client.get("/www.orissapost.com/?p=1").status_code == 404
    assert "OrissaPOST" in get_text(client, "/www.orissapost.com/")


# ---- content codings and transfer ---------------------------------------------------

@pytest.mark.parametrize(("seed_id", "coding", "decode"), [
    ("002", "gzip", gzip.decompress), ("003", "br", brotli.decompress),
    ("001", "deflate", zlib.decompress)])
def test_compressed_bodies_decode_to_the_same_html(client, seed_id, coding, decode) -> None:
    path = seed_path(seed_id)
    plain = client.get(path)
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    packed = client.get(path, headers={"Accept-Encoding": f"{coding}, identity;q=0.5"})
    assert packed.headers["Content-Encoding"] == coding
    assert packed.headers["Vary"] == "Accept-Encoding"
    assert packed.headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert decode(packed.data) == plain.data
    refused = client.get(path, headers={"Accept-Encoding": f"{coding};q=0"})
    assert "Content-Encoding" not in refused.headers


def raw_get(server, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_real_server_chunked_and_codings(server) -> None:
    response, body = raw_get(server, seed_path("000"))
    assert response.version == 11 and response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Length") is None
    assert HEADLINES["000"] in body.decode("utf-8")
    assert response.getheader("Server") == "nginx" and response.getheader("Last-Modified")
    assert len(response.headers.get_all("Date") or []) == 1
    response, packed = raw_get(server, "/test/gzip-chunked", **{"Accept-Encoding": "gzip"})
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("Content-Encoding") == "gzip"
    assert b"Gzip and chunked" in gzip.decompress(packed)
    response, plain = raw_get(server, "/test/gzip-chunked")
    assert response.getheader("Content-Encoding") is None and plain == gzip.decompress(packed)
    for seed_id, coding in (("002", "gzip"), ("003", "br"), ("001", "deflate")):
        response, packed = raw_get(server, seed_path(seed_id), **{"Accept-Encoding": coding})
        assert response.getheader("Content-Encoding") == coding
        assert response.getheader("Content-Length") == str(len(packed))
    response, body = raw_get(server, ORISSAPOST_PERMALINK, **{"Accept-Encoding": "gzip, br"})
    assert response.getheader("Content-Encoding") is None
    assert response.getheader("Content-Length") == str(len(body))


def test_real_server_follows_short_link_and_serves_seed_urls(server) -> None:
    for seed in SEEDS:
        with urllib.request.urlopen(local_url(seed.original_url, server.base_url)) as response:
            assert response.status == 200
            html = response.read().decode("utf-8")
        assert HEADLINES[seed.id] in html
        assert f"{server.base_url}/" in html and f"http://localhost:{server.port}/cdn/" in html
    with urllib.request.urlopen(f"{server.base_url}/www.orissapost.com/?p=555484") as response:
        assert response.url == server.base_url + ORISSAPOST_PERMALINK


# ---- robots, errors and test endpoints ----------------------------------------------

def test_robots_txt(server) -> None:
    robots = urllib.robotparser.RobotFileParser(f"{server.base_url}/robots.txt")
    robots.read()
    assert not robots.can_fetch("provenance-crawler", f"{server.base_url}/private/page.html")
    assert robots.can_fetch("provenance-crawler", local_url(SEEDS[0].original_url, server.base_url))
    with urllib.request.urlopen(f"{server.base_url}/private/page.html") as response:
        assert response.status == 200


@pytest.mark.parametrize(("path", "status", "text"), [
    ("/test/404", 404, "Not Found"), ("/test/410", 410, "Gone"),
    ("/test/500", 500, "Internal Server Error"), ("/test/soft404", 200, "Page not found"),
    ("/no/such/page", 404, "Not Found"), ("/cdn/no-such.png", 404, "Not Found")])
def test_status_endpoints(client: Client, path: str, status: int, text: str) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert text in response.get_data(as_text=True)


def test_redirect_home_and_head_and_post(client: Client) -> None:
    response = client.get("/test/redirect-home", headers={"Host": "127.0.0.1:7"})
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:7/www.orissapost.com/"
    head = client.head(ORISSAPOST_PERMALINK)
    assert head.status_code == 200 and head.data == b""
    assert client.post(seed_path("002")).status_code == 405


def test_slow_endpoint(client: Client, server) -> None:
    started = time.monotonic()
    assert client.get("/test/slow").status_code == 200
    assert time.monotonic() - started >= 0.05
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        urllib.request.urlopen(f"{server.base_url}/test/slow", timeout=0.3).read()


def test_nonenglish_and_xss_pages(client: Client) -> None:
    response = client.get("/test/nonenglish")
    html = response.data.decode("utf-8")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<html lang="hi"' in html and "मानसून" in html
    page = parse(get_text(client, "/test/xss"))
    raw = get_text(client, "/test/xss")
    assert "<script>alert" not in raw and "<img src=x" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert any("<script>alert(1)</script>" in p for p in page.paragraphs)
    assert any("<img src=x onerror=alert(2)>" in p for p in page.paragraphs)
    assert "<script>alert(1)</script>" in page.json_ld[0]["headline"]


# ---- page requisites ----------------------------------------------------------------

def requisites(page_url: str, html: str) -> set[str]:
    """Absolute URLs of everything a browser would load for the page."""
    urls: set[str] = set()
    for tag, attrs in parse(html).tags:
        if tag in ("img", "script", "source", "iframe") and attrs.get("src"):
            urls.add(attrs["src"])
        if attrs.get("srcset"):
            urls |= {item.split()[0] for item in attrs["srcset"].split(",") if item.strip()}
        if tag == "link" and attrs.get("rel") in ("stylesheet", "icon", "shortcut icon", "preload"):
            urls.add(attrs["href"])
        if tag == "meta" and attrs.get("property") == "og:image":
            urls.add(attrs["content"])
    return {urljoin(page_url, u) for u in urls}


CSS_REF = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/gif": b"GIF8", "image/jpeg": b"\xff\xd8\xff",
         "image/x-icon": b"\x00\x00\x01\x00", "font/woff2": b"wOF2"}


def test_every_requisite_answers_200(server) -> None:
    pages = [local_url(s.original_url, server.base_url) for s in SEEDS]
    pages += [f"{server.base_url}/www.orissapost.com/", f"{server.base_url}/test/soft404"]
    queue: list[str] = []
    for url in pages:
        with urllib.request.urlopen(url) as response:
            queue += sorted(requisites(response.url, response.read().decode("utf-8")))
    seen: set[str] = set()
    kinds: set[str] = set()
    imports = 0
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        with urllib.request.urlopen(url) as response:
            assert response.status == 200, url
            ctype = response.headers["Content-Type"]
            body = response.read()
        kinds.add(ctype)
        if ctype in MAGIC:
            assert body.startswith(MAGIC[ctype]), url
        if ctype.startswith("text/css"):
            css = body.decode("utf-8")
            imports += css.count("@import")
            for ref in CSS_REF.findall(css):
                queue.append(urljoin(url, ref[0] or ref[1]))
    hosts = {urlsplit(u).hostname for u in seen}
    assert hosts == {"127.0.0.1", "localhost"}
    assert any("-1200.jpg" in u for u in seen)  # reached through srcset only
    assert imports >= 5 and len(seen) >= 40
    assert {"text/css; charset=utf-8", "image/png", "image/gif", "image/jpeg", "image/x-icon",
            "font/woff2", "application/javascript; charset=utf-8"} <= kinds


def test_assets_are_cacheable(client: Client) -> None:
    path = "/cdn/libs/share/share-icons.woff2"
    first = client.get(path)
    assert first.status_code == 200 and first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Last-Modified"] and first.headers["Content-Length"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
