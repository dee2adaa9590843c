"""The `seeds` spider: fetches each seed article and everything it needs to replay.

    scrapy crawl seeds                      # every seed in seeds/manifest.toml
    scrapy crawl seeds -a seed=002          # one seed (ids may be comma-separated)
    scrapy crawl seeds -a url=https://...   # an ad-hoc page

A thin adapter: the manifest, requisite extraction and archiving live in the
`crawler` package; it meets the archive only through crawler.capture.signals. Reads
CRAWLER_COLLECTION_DIR and REQUISITES_MAX_DEPTH, and makes USER_AGENT from
CRAWLER_CONTACT unless USER_AGENT is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler import SOFTWARE_NAME, __version__, roles
from crawler.capture import signals as capture
from crawler.capture.requisites import css_requisites, html_requisites
from crawler.collection import Collection
from crawler.errors import ManifestError
from crawler.manifest import Manifest, Seed, check_url, load_manifest, parse_seed_ids


def user_agent(contact: str | None) -> str:
    """The User-Agent of a crawl whose operator is reached at `contact` (CRAWLER_CONTACT)."""
    reach = f"+{contact}; " if contact else ""
    return f"{SOFTWARE_NAME}/{__version__} ({reach}archival crawler)"


class SeedsSpider(Spider):
    name = "seeds"
    manifest: Manifest | None
    seeds: tuple[Seed, ...] = ()
    max_depth: int  # REQUISITES_MAX_DEPTH

    def __init__(self, seed: str | None = None, url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.only_seeds = parse_seed_ids([seed]) if seed else []
        self.adhoc_url = url

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # only Scrapy's default (a USER_AGENT given anywhere is sent as it is); set as the
        # spider's own settings are, so that CrawlerRunner's settings do not undo it
        if settings.getpriority("USER_AGENT") == SETTINGS_PRIORITIES["default"]:
            settings.set("USER_AGENT", user_agent(settings.get("CRAWLER_CONTACT")),
                         priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        folder = crawler.settings.get("CRAWLER_COLLECTION_DIR") or "."
        collection = Collection(Path(folder).resolve())
        spider.max_depth = crawler.settings.getint("REQUISITES_MAX_DEPTH")
        spider.manifest, spider.seeds = spider._select(collection)
        crawler.signals.connect(spider.run_seeds, signal=capture.seeds_wanted)
        return spider

    def run_seeds(self) -> capture.RunSeeds:
        """What this crawl's run is of (the archive asks as it opens the run)."""
        name = self.manifest.name if self.manifest else None
        return capture.RunSeeds(seeds=self.seeds, collection=name)

    def _select(self, collection: Collection) -> tuple[Manifest | None, tuple[Seed, ...]]:
        manifest = None
        if collection.manifest_path.exists() or not self.adhoc_url:
            manifest = load_manifest(collection.manifest_path)
        if self.adhoc_url:
            problem = check_url(self.adhoc_url)
            if problem:
                raise ManifestError("--url", problem)
            known = [s for s in (manifest.seeds if manifest else ()) if s.url == self.adhoc_url]
            return manifest, tuple(known)
        assert manifest is not None
        if self.only_seeds:
            return manifest, tuple(manifest.seed(seed_id) for seed_id in self.only_seeds)
        return manifest, manifest.seeds

    async def start(self) -> AsyncIterator[Request]:
        for seed in self.seeds:
            yield self._page_request(seed.url, seed_id=seed.id, outlet=seed.outlet)
        if self.adhoc_url and not self.seeds:
            host = urlsplit(self.adhoc_url).hostname or "unknown"
            yield self._page_request(self.adhoc_url, seed_id=None, outlet=host)

    def _page_request(self, url: str, *, seed_id: str | None, outlet: str) -> Request:
        meta = {capture.SEED_ID: seed_id, capture.OUTLET: outlet, capture.HOPS: 0,
                capture.ROLE: roles.PAGE}
        return Request(url, callback=self.parse, errback=self.on_error, meta=meta,
                       dont_filter=True, priority=10)

    def parse(self, response: Response) -> Iterator[Request]:
        """The requisites of a page or a stylesheet (a page's and a requisite's callback)."""
        hops = response.meta.get(capture.HOPS, 0)
        if hops >= self.max_depth or not isinstance(response, TextResponse):
            return
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        if "css" in ctype or response.url.split("?")[0].endswith(".css"):
            urls = css_requisites(response.text, response.url)
        elif "html" in ctype:
            urls = html_requisites(response.text, response.url)
        else:
            return
        meta = {
            capture.SEED_ID: response.meta.get(capture.SEED_ID),
            capture.OUTLET: response.meta.get(capture.OUTLET),
            capture.HOPS: hops + 1,
            capture.ROLE: roles.REQUISITE,
            capture.VIA_URL: response.url,
        }
        for url in urls:
            yield Request(url, callback=self.parse_requisite, errback=self.on_error,
                          meta=dict(meta))

    def parse_requisite(self, response: Response) -> Iterator[Request]:
        """A requisite's callback: the same as a page's. Kept apart because requests whose
        callback is the spider's own `parse` cost Scrapy more: one callback for both took
        6.5 % more instructions in a 300-page crawl (callgrind, BENCHMARKS.md stop 14)."""
        return self.parse(response)

    def on_error(self, failure: Failure) -> None:
        if failure.check(HttpError):
            return  # the response itself was archived; its status is on record
        request = failure.request  # type: ignore[attr-defined]
        self.logger.warning("fetch failed: %s: %s", request.url, failure.getErrorMessage())
        self.crawler.signals.send_catch_log(signal=capture.fetch_failed, request=request,
                                            failure=failure)
