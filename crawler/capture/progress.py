"""Crawl progress: pages done and queued, bytes archived, errors — every few seconds.

Reads PROGRESS_INTERVAL (seconds; 0 switches it off). Logs through this module's
logger; the CLI shows those lines on stderr.
"""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

log = logging.getLogger(__name__)


class CrawlProgress:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("PROGRESS_INTERVAL is 0")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.loop = task.LoopingCall(self.report)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.report()

    def report(self) -> None:
        stats = self.crawler.stats
        done = stats.get_value("archive/fetches", 0) + stats.get_value("archive/failures", 0)
        queued = stats.get_value("scheduler/enqueued", 0) - stats.get_value("scheduler/dequeued", 0)
        mb = stats.get_value("archive/payload_bytes", 0) / 1e6
        errors = stats.get_value("archive/failures", 0)
        log.info("progress: %d fetched, %d queued, %.2f MB, %d errors", done, queued, mb, errors)
