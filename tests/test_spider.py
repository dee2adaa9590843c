"""spiders/seeds.py: the requests it makes from a real response, the run it names, and
the User-Agent it makes from CRAWLER_CONTACT."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.crawler import AsyncCrawlerRunner
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from crawler import __version__
from crawler.capture.crawl import scrapy_settings
from crawler.capture.signals import HOPS, OUTLET, ROLE, SEED_ID, VIA_URL, RunSeeds, seeds_wanted
from crawler.collection import Collection
from spiders.seeds import SeedsSpider

REPO = Path(__file__).resolve().parents[1]
PAGE_URL = "http://site.test/news/a"
PAGE = b"""<html><head><link rel="stylesheet" href="/css/main.css">
<link rel="canonical" href="http://site.test/news/a"></head>
<body><img src="pic.jpg"><a href="/other-article">another article</a></body></html>"""


def _spider(tmp_path: Path, **settings: object) -> SeedsSpider:
    crawler = get_crawler(SeedsSpider, {"CRAWLER_COLLECTION_DIR": str(tmp_path),
                                        "REQUISITES_MAX_DEPTH": 2, **settings})
    return SeedsSpider.from_crawler(crawler, url=PAGE_URL)


def _page(meta: dict[str, object]) -> HtmlResponse:
    request = Request(PAGE_URL, meta=meta)
    return HtmlResponse(PAGE_URL, body=PAGE, request=request,
                        headers={"Content-Type": "text/html; charset=utf-8"})


def test_a_page_asks_for_its_requisites(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    requests = list(spider.parse(_page({SEED_ID: "001", OUTLET: "site.test", HOPS: 0,
                                        ROLE: "page"})))
    assert sorted(r.url for r in requests) == ["http://site.test/css/main.css",
                                               "http://site.test/news/pic.jpg"]
    for request in requests:
        assert request.meta == {SEED_ID: "001", OUTLET: "site.test", HOPS: 1,
                                ROLE: "requisite", VIA_URL: PAGE_URL}
        assert request.callback == spider.parse_requisite and request.errback == spider.on_error
    assert requests[0].meta is not requests[1].meta


def test_a_stylesheet_asks_for_what_it_imports(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    url = "http://site.test/css/main.css"
    css = TextResponse(url, body=b"@import 'print.css'; .x { background: url(bg.png) }",
                       headers={"Content-Type": "text/css"},
                       request=Request(url, meta={SEED_ID: "001", HOPS: 1, ROLE: "requisite"}))
    requests = list(spider.parse(css))
    assert sorted(r.url for r in requests) == ["http://site.test/css/bg.png",
                                               "http://site.test/css/print.css"]
    assert {(r.meta[HOPS], r.meta[VIA_URL]) for r in requests} == {(2, url)}


def test_nothing_below_the_depth_limit_nor_in_what_is_not_text(tmp_path: Path) -> None:
    spider = _spider(tmp_path)  # REQUISITES_MAX_DEPTH = 2
    assert spider.max_depth == 2
    assert list(spider.parse(_page({HOPS: 2, ROLE: "requisite"}))) == []
    image = Response("http://site.test/pic.jpg", body=b"\x89PNG",
                     headers={"Content-Type": "image/png"},
                     request=Request("http://site.test/pic.jpg", meta={HOPS: 1}))
    assert list(spider.parse(image)) == []


def test_the_run_is_of_the_seeds_the_spider_selected(tmp_path: Path) -> None:
    crawler = get_crawler(SeedsSpider, {"CRAWLER_COLLECTION_DIR": str(REPO)})
    spider = SeedsSpider.from_crawler(crawler, seed="000,002")
    manifest = spider.manifest
    assert manifest is not None
    answers = [a for _, a in crawler.signals.send_catch_log(signal=seeds_wanted)]
    assert answers == [RunSeeds(seeds=(manifest.seed("000"), manifest.seed("002")),
                                collection=manifest.name)]
    adhoc = SeedsSpider.from_crawler(get_crawler(SeedsSpider, {
        "CRAWLER_COLLECTION_DIR": str(tmp_path)}), url=PAGE_URL)
    assert adhoc.run_seeds() == RunSeeds()  # no manifest: the folder names the run


def _user_agent(**overrides: str) -> str:
    """USER_AGENT as `crawler crawl -s NAME=VALUE` runs the spider (crawler.capture.crawl:
    a crawler created first, then handed to the runner, which applies its settings again)."""
    settings = scrapy_settings(Collection(REPO), db_url="sqlite://", overrides=overrides)
    runner = AsyncCrawlerRunner(settings)
    return runner.create_crawler(runner.create_crawler(SeedsSpider)).settings["USER_AGENT"]


@pytest.mark.parametrize("overrides, expected", [
    ({}, f"provenance-crawler/{__version__} (+mailto:archivist@example.org; archival crawler)"),
    ({"CRAWLER_CONTACT": "https://example.net/crawler"},
     f"provenance-crawler/{__version__} (+https://example.net/crawler; archival crawler)"),
    ({"CRAWLER_CONTACT": ""}, f"provenance-crawler/{__version__} (archival crawler)"),
    ({"CRAWLER_CONTACT": "mailto:x@y", "USER_AGENT": "my-agent/2"}, "my-agent/2"),
])
def test_the_user_agent_names_crawler_contact_unless_one_is_set(
        overrides: dict[str, str], expected: str) -> None:
    assert _user_agent(**overrides) == expected
