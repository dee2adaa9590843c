"""Scrapy adapter of the archive: a downloader middleware that turns every fetch into a
plain `crawler.warc.records.Fetch` and hands it to the run's archive session.

Placed at 950, next to the downloader, it sees each response before
HttpCompressionMiddleware decodes it and before RedirectMiddleware follows it: raw
bodies, every redirect hop, every retry. It reads its settings once, in `from_crawler`
(crawler.capture.config.ArchiveConfig: ARCHIVE_*, PROVENANCE_*, CRAWLER_*);
`ARCHIVE_ENABLED = False` switches it off. The run itself (database, warcinfo, writer,
signing) is crawler.capture.session's, imported when the spider opens: importing this
module, as Scrapy does for every listed middleware before it asks whether it is
enabled, loads none of it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urljoin, urlsplit

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

from crawler.capture.config import ArchiveConfig
from crawler.capture.signals import (
    HOPS,
    OUTLET,
    REDIRECT_FROM,
    ROLE,
    SEED_ID,
    VIA_URL,
    RunSeeds,
    fetch_failed,
    seeds_wanted,
)
from crawler.roles import OTHER, ROBOTS
from crawler.warc.records import Fetch

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from crawler.capture.session import ArchiveSession

log = logging.getLogger(__name__)

_keys = random.Random()  # seeded from os.urandom once


def _fetch_key() -> str:
    """128 random bits as hex, like uuid4().hex without its os.urandom() system call on
    the reactor thread for every fetch."""
    return f"{_keys.getrandbits(128):032x}"


def _headers(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    )


def _provenance(request: Request) -> dict[str, Any]:
    """What a request carries in its meta: seed, outlet, role, hops, origin, redirect."""
    meta = request.meta
    return {
        "seed_id": meta.get(SEED_ID),
        "outlet": meta.get(OUTLET),
        "requested_url": (meta.get("redirect_urls") or [request.url])[0],
        "role": _role(request),
        "hops": meta.get(HOPS, 0),
        "via_url": meta.get(VIA_URL),
        "redirect_from_key": meta.get(REDIRECT_FROM),
    }


def _role(request: Request) -> str:
    """page (a seed or ad-hoc page), requisite, or robots (robots.txt for the policy)."""
    if ROLE in request.meta:
        return str(request.meta[ROLE])
    if request.meta.get("dont_obey_robotstxt") and urlsplit(request.url).path == "/robots.txt":
        return ROBOTS
    return OTHER


def fetch_from(request: Request, response: Response, now: dt.datetime, *, key: str) -> Fetch:
    """The fetch a raw response (`now` when it arrived) records; reads, changes nothing."""
    meta = request.meta
    location = None
    raw_location = response.headers.get(b"Location")
    if 300 <= response.status < 400 and raw_location:
        location = urljoin(request.url, raw_location.decode("latin-1"))
    return Fetch(
        key=key,
        url=response.url,
        fetched_at=now - dt.timedelta(seconds=meta.get("download_latency") or 0.0),
        method=request.method,
        request_headers=_headers(request.headers),
        request_body=request.body,
        protocol=getattr(response, "protocol", None),
        status=response.status,
        response_headers=_headers(response.headers),
        body=response.body,
        ip_address=str(response.ip_address) if response.ip_address else None,
        redirect_location=location,
        **_provenance(request),
    )


def failed_fetch_from(request: Request, failure: Failure, now: dt.datetime, *,
                      key: str) -> Fetch:
    """The fetch a request that got no response records: its error, no records of HTTP."""
    return Fetch(
        key=key,
        url=request.url,
        fetched_at=now,
        method=request.method,
        error=f"{failure.type.__name__}: {failure.getErrorMessage()}",
        **_provenance(request),
    )


def _open_session(config: ArchiveConfig, *, seeds: RunSeeds) -> ArchiveSession:
    from crawler.capture.session import open_session  # the heavy part: only to archive

    return open_session(config, seeds=seeds)


class ArchiveMiddleware:
    def __init__(self, crawler: Crawler, config: ArchiveConfig | None, *,
                 config_error: Exception | None = None,
                 open_session: Callable[..., ArchiveSession] | None = None) -> None:
        self.crawler = crawler
        self.config = config
        self.config_error = config_error  # a bad setting: said when the spider opens
        self.session: ArchiveSession | None = None
        self._open_session = open_session or _open_session  # a test's fake, or the real one
        self._closing: Deferred[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("ARCHIVE_ENABLED"):
            raise NotConfigured("ARCHIVE_ENABLED is off: nothing is archived")
        try:
            mw = cls(crawler, ArchiveConfig.from_settings(crawler.settings))
        except (TypeError, ValueError) as exc:  # the crawl stops as `archive_error`
            mw = cls(crawler, None, config_error=exc)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.on_fetch_failed, signal=fetch_failed)
        return mw

    # -- run lifecycle --------------------------------------------------------------
    def spider_opened(self) -> None:
        try:
            if self.config is None:
                raise self.config_error or ValueError("no archive configuration")
            self.session = self._open_session(self.config, seeds=self._run_seeds())
        except Exception as exc:
            log.error("cannot open the archive, nothing will be fetched: %s", exc)
            self.crawler.stats.set_value("archive/error", str(exc))
            raise CloseSpider("archive_error") from exc
        self.crawler.stats.set_value("archive/run_id", self.session.run_id)
        self.crawler.stats.set_value("archive/run_uuid", self.session.run_uuid)

    def _run_seeds(self) -> RunSeeds:
        """What the spider says the run is a crawl of (nothing, for a spider that does not)."""
        for _receiver, answer in self.crawler.signals.send_catch_log(signal=seeds_wanted):
            if isinstance(answer, RunSeeds):
                return answer
        return RunSeeds()

    def spider_closed(self, reason: str) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        closed = session.close(reason)
        for name, value in closed.stat_values().items():
            self.crawler.stats.set_value(name, value)

    # -- fetches ----------------------------------------------------------------------
    def process_request(self, request: Request) -> None:
        if self.session is None:
            raise IgnoreRequest("the archive is not open: nothing is fetched unarchived")

    def process_response(self, request: Request, response: Response) -> Response:
        if self.session is None:
            raise IgnoreRequest("the archive is not open: response not kept")
        fetch = fetch_from(request, response, dt.datetime.now(dt.UTC), key=_fetch_key())
        meta = request.meta
        meta.pop(REDIRECT_FROM, None)
        self._submit(fetch)
        if fetch.redirect_location:
            meta[REDIRECT_FROM] = fetch.key  # copied into the redirect's request
        stats = self.crawler.stats
        stats.inc_value("archive/fetches")
        stats.inc_value("archive/payload_bytes", len(response.body))
        return response

    def on_fetch_failed(self, request: Request, failure: Failure) -> None:
        if self.session is None:
            return
        self._submit(failed_fetch_from(request, failure, dt.datetime.now(dt.UTC),
                                       key=_fetch_key()))
        self.crawler.stats.inc_value("archive/failures")

    def _submit(self, fetch: Fetch) -> None:
        assert self.session is not None
        try:
            self.session.submit(fetch)
        except Exception as exc:
            log.error("archiving failed, stopping the crawl: %s", exc)
            self.crawler.stats.set_value("archive/error", str(exc))
            engine = self.crawler.engine
            if engine is not None and engine.spider is not None:
                self._closing = deferred_from_coro(
                    engine.close_spider_async(reason="archive_error"))
            raise
