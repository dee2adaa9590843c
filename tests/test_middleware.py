"""crawler.capture.middleware: the archive's Scrapy adapter, unit-tested with Scrapy's
get_crawler and a fake session (the session itself: tests/test_session.py)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, Spider, signals
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import CloseSpider, IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import settings as project_settings
from crawler.capture.config import ArchiveConfig
from crawler.capture.middleware import ArchiveMiddleware, fetch_from
from crawler.capture.session import ClosedRun
from crawler.capture.signals import (
    HOPS,
    OUTLET,
    REDIRECT_FROM,
    ROLE,
    SEED_ID,
    RunSeeds,
    fetch_failed,
    seeds_wanted,
)
from crawler.errors import ArchiveError
from crawler.roles import PAGE
from crawler.warc.records import Fetch

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 22, 10, 30, 15, tzinfo=dt.UTC)
PAGE_META = {SEED_ID: "001", OUTLET: "Outlet", HOPS: 0, ROLE: PAGE}


class FakeSession:
    run_id = 7
    run_uuid = "run-7"

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.fetches: list[Fetch] = []
        self.closed_with: str | None = None

    def submit(self, fetch: Fetch) -> None:
        if self.fail:
            raise ArchiveError("the WARC writer stopped: disk full")
        self.fetches.append(fetch)

    def close(self, reason: str) -> ClosedRun:
        self.closed_with = reason
        return ClosedRun(run_id=7, ledger_head="ab" * 32, submit_seconds=0.12345,
                         submit_cpu_seconds=0.1, collector_cpu_seconds=0.2,
                         writer_fsync_seconds=0.3, writer_commit_seconds=0.4, commits=2)


class FakeEngine:
    spider = Spider("t")

    def __init__(self) -> None:
        self.closed_with: list[str] = []

    async def close_spider_async(self, *, reason: str = "cancelled") -> None:
        self.closed_with.append(reason)


def _settings(**extra: Any) -> dict[str, Any]:
    """crawler/settings.py's own settings (get_crawler adds Scrapy's defaults)."""
    project = {name: getattr(project_settings, name) for name in dir(project_settings)
               if name.isupper()}
    return {**project, "CRAWLER_COLLECTION_DIR": str(REPO), **extra}


def _middleware(session: FakeSession | None = None, **settings: Any) -> ArchiveMiddleware:
    opened: list[RunSeeds] = []

    def open_session(config: ArchiveConfig, *, seeds: RunSeeds) -> Any:
        opened.append(seeds)
        return session or FakeSession()

    crawler = get_crawler(settings_dict=_settings(**settings))
    mw = ArchiveMiddleware.from_crawler(crawler)
    mw._open_session = open_session
    mw.opened = opened  # type: ignore[attr-defined]
    return mw


def _response(request: Request, *, status: int = 200, body: bytes = b"<p>hi</p>",
              **headers: str) -> Response:
    return Response(request.url, status=status, body=body, request=request,
                    headers={"Content-Type": "text/html", **headers}, protocol="HTTP/1.1",
                    ip_address=None)


def test_off_means_not_configured() -> None:
    crawler = get_crawler(settings_dict=_settings(ARCHIVE_ENABLED=False))
    with pytest.raises(NotConfigured, match="ARCHIVE_ENABLED"):
        ArchiveMiddleware.from_crawler(crawler)


def test_settings_are_read_once_as_typed_values() -> None:
    mw = ArchiveMiddleware.from_crawler(get_crawler(settings_dict=_settings(
        ARCHIVE_GZIP_LEVEL="4", ARCHIVE_COMMIT_SECONDS="0.5", PROVENANCE_DB_URL="",
        PROVENANCE_SIGNING_KEY="keys/k.pem", USER_AGENT="agent/1")))
    config = mw.config
    assert config is not None
    assert config.collection_dir == REPO
    assert config.db_url == f"sqlite:///{REPO / 'provenance.db'}"
    assert config.writer.archive_dir == REPO / "archive"
    assert (config.writer.gzip_level, config.writer.batch_seconds) == (4, 0.5)
    assert config.writer.max_file_size == 1_000_000_000
    assert config.signing_key == Path("keys/k.pem")
    assert (config.user_agent, config.robots_obey) == ("agent/1", True)
    assert config.recorded_settings["ARCHIVE_GZIP_LEVEL"] == 4  # as a number
    assert isinstance(config.recorded_settings["DEFAULT_REQUEST_HEADERS"], dict)


def test_a_bad_setting_stops_the_crawl_as_archive_error_when_the_spider_opens() -> None:
    mw = _middleware(ARCHIVE_MAX_FILE_SIZE="lots")
    with pytest.raises(CloseSpider) as stopped:
        mw.spider_opened()
    assert stopped.value.reason == "archive_error"
    assert "lots" in mw.crawler.stats.get_value("archive/error")
    assert mw.session is None and mw.opened == []  # type: ignore[attr-defined]


def test_nothing_is_fetched_or_kept_while_no_archive_is_open() -> None:
    mw = _middleware()
    request = Request("http://127.0.0.1/a", meta=dict(PAGE_META))
    with pytest.raises(IgnoreRequest, match="not open"):
        mw.process_request(request)
    with pytest.raises(IgnoreRequest, match="not open"):
        mw.process_response(request, _response(request))


def test_the_run_is_opened_with_the_seeds_the_spider_names_and_closed_with_its_stats() -> None:
    session = FakeSession()
    mw = _middleware(session)
    seeds = RunSeeds(seeds=(), collection="The collection")
    mw.crawler.signals.connect(lambda: seeds, signal=seeds_wanted, weak=False)
    mw.crawler.signals.send_catch_log(signal=signals.spider_opened, spider=Spider("t"))
    assert mw.opened == [seeds]  # type: ignore[attr-defined]
    assert mw.session is session
    stats = mw.crawler.stats
    assert (stats.get_value("archive/run_id"), stats.get_value("archive/run_uuid")) == (7,
                                                                                       "run-7")
    assert mw.process_request(Request("http://127.0.0.1/a")) is None
    mw.crawler.signals.send_catch_log(signal=signals.spider_closed, spider=Spider("t"),
                                      reason="finished")
    assert session.closed_with == "finished"
    assert stats.get_value("archive/ledger_head") == "ab" * 32
    assert stats.get_value("archive/submit_seconds") == 0.123
    assert stats.get_value("archive/commits") == 2
    assert mw.session is None


def test_a_spider_that_names_no_seeds_opens_a_run_of_none() -> None:
    mw = _middleware()
    mw.spider_opened()
    assert mw.opened == [RunSeeds()]  # type: ignore[attr-defined]


def test_fetch_from_a_raw_response() -> None:
    request = Request("http://127.0.0.1/a", meta={**PAGE_META, "download_latency": 0.25},
                      headers={"Accept": "text/html"})
    response = _response(request, body=b"\x1f\x8b raw", **{"Content-Encoding": "gzip"})
    fetch = fetch_from(request, response, NOW, key="k")
    assert fetch == Fetch(
        key="k", url="http://127.0.0.1/a", fetched_at=NOW - dt.timedelta(seconds=0.25),
        method="GET", request_headers=(("Accept", "text/html"),), request_body=b"",
        protocol="HTTP/1.1", status=200,
        response_headers=(("Content-Type", "text/html"), ("Content-Encoding", "gzip")),
        body=b"\x1f\x8b raw", ip_address=None, seed_id="001", outlet="Outlet",
        requested_url="http://127.0.0.1/a", role="page", hops=0,
    )
    assert request.meta == {**PAGE_META, "download_latency": 0.25}  # read, not changed


@pytest.mark.parametrize("meta, role", [
    (PAGE_META, "page"),
    ({ROLE: "requisite", HOPS: 1}, "requisite"),
    ({"dont_obey_robotstxt": True}, "robots"),  # RobotsTxtMiddleware's own request
    ({}, "other"),
])
def test_the_role_of_a_fetch(meta: dict[str, Any], role: str) -> None:
    url = "http://127.0.0.1/robots.txt" if "dont_obey_robotstxt" in meta else "http://h/x"
    request = Request(url, meta=dict(meta))
    assert fetch_from(request, _response(request), NOW, key="k").role == role


def test_a_redirect_chain_links_each_hop_to_the_one_before() -> None:
    """As Scrapy runs them: the archive (950) sees each raw response before
    RedirectMiddleware (600) turns it into the next hop's request."""
    session = FakeSession()
    mw = _middleware(session)
    mw.spider_opened()
    redirects = RedirectMiddleware.from_crawler(mw.crawler)
    request = Request("http://127.0.0.1/r1", meta=dict(PAGE_META))
    for status, location in ((301, "/r2"), (302, "http://localhost/final"), (200, None)):
        headers = {"Location": location} if location else {}
        response = _response(request, status=status, body=b"", **headers)
        assert mw.process_response(request, response) is response
        after = redirects.process_response(request, response)
        if location is None:
            assert after is response
            break
        assert isinstance(after, Request)
        request = after
    first, second, final = session.fetches
    assert (first.redirect_from_key, first.redirect_location) == (None,
                                                                  "http://127.0.0.1/r2")
    assert (second.redirect_from_key, second.redirect_location) == (first.key,
                                                                    "http://localhost/final")
    assert (final.redirect_from_key, final.redirect_location) == (second.key, None)
    assert {f.requested_url for f in session.fetches} == {"http://127.0.0.1/r1"}
    assert {(f.role, f.seed_id) for f in session.fetches} == {("page", "001")}
    assert REDIRECT_FROM not in request.meta  # the last hop leaves nothing behind
    assert len({f.key for f in session.fetches}) == 3
    assert mw.crawler.stats.get_value("archive/fetches") == 3


def test_a_fetch_that_got_no_response_is_recorded_as_a_failure() -> None:
    session = FakeSession()
    mw = _middleware(session)
    mw.spider_opened()
    request = Request("http://127.0.0.1/gone", meta={ROLE: "requisite", HOPS: 1,
                                                     "via_url": "http://127.0.0.1/a"})
    failure = Failure(ConnectionRefusedError("connection refused"))
    mw.crawler.signals.send_catch_log(signal=fetch_failed, request=request, failure=failure)
    (fetch,) = session.fetches
    assert fetch.failed and fetch.error == "ConnectionRefusedError: connection refused"
    assert (fetch.role, fetch.hops, fetch.via_url) == ("requisite", 1, "http://127.0.0.1/a")
    assert mw.crawler.stats.get_value("archive/failures") == 1


def test_a_writer_that_stopped_stops_the_crawl() -> None:
    mw = _middleware(FakeSession(fail=True))
    mw.crawler.engine = engine = FakeEngine()  # type: ignore[assignment]
    mw.spider_opened()
    request = Request("http://127.0.0.1/a", meta=dict(PAGE_META))
    with pytest.raises(ArchiveError, match="disk full"):
        mw.process_response(request, _response(request))
    assert engine.closed_with == ["archive_error"]
    assert "disk full" in mw.crawler.stats.get_value("archive/error")
    assert mw.crawler.stats.get_value("archive/fetches") is None


def test_importing_the_spider_and_the_middleware_loads_no_archive_stack() -> None:
    """Scrapy imports every listed middleware, archiving on or off: the plain crawl (the
    bench's baseline) must not pay for SQLAlchemy, the models, the recorder or the signing
    module. (cryptography itself cannot be left out: Scrapy's TLS stack, pyOpenSSL,
    imports it with Scrapy.)"""
    heavy = ("sqlalchemy", "crawler.store.models", "crawler.store.signing",
             "crawler.capture.recorder", "crawler.capture.session", "crawler.capture.writer")
    code = ("import sys, spiders.seeds, crawler.capture.middleware, crawler.capture.robots; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
