"""The crawl process's garbage collector, sized for a crawl.

Scrapy allocates a few thousand container objects per response (requests, headers,
Deferreds, asyncio tasks). With CPython's default thresholds (700, 10, 10) the young
generation is collected every 700 allocations, so objects that live for one round
trip (a tenth of a second or so) survive two young collections and are promoted to
the oldest generation; that generation grows by a quarter within a second and is
then collected in full, walking every tracked object of the process (200,000 and
more in a 20,000-page crawl). Measured in `python bench/run.py` (both arms, before
this): full collections took 25-31 % of the reactor thread's CPU.

With a young generation of CRAWL_GC_THRESHOLD allocations (default 20,000) those
objects die young and full collections all but stop; reference cycles are still
collected, a little later. Memory: the same peak within a MB (BENCHMARKS.md).
Applied when the spider opens and undone when it closes (what runs after the crawl
in the same process, such as the comparison, gets Python's own thresholds back).
Reads CRAWL_GC_THRESHOLD (0 = leave the collector as Python sets it). Enabled in
crawler/settings.py for every crawl, archiving on or off, so the benchmark's plain
Scrapy arm runs with it too.
"""

from __future__ import annotations

import gc
import logging
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

log = logging.getLogger(__name__)


def young_threshold(raw: object, *, given_as: str = "setting CRAWL_GC_THRESHOLD") -> int:
    """CRAWL_GC_THRESHOLD as a number of allocations (0: Python's default); for anything
    else a ValueError that names it as `given_as` (the CLI: `--set CRAWL_GC_THRESHOLD`)."""
    try:
        threshold = int(str(raw))
    except ValueError:
        raise ValueError(f"{given_as}={raw!r}: not a whole number") from None
    if threshold < 0:
        raise ValueError(f"{given_as}={threshold}: give 0 (Python's default collector) or a "
                         "number of allocations")
    return threshold


class GcTuning:
    """Sets the young generation's threshold while the spider is open."""

    def __init__(self, crawler: Crawler, threshold: int) -> None:
        self.crawler = crawler
        self.threshold = threshold
        self.saved: tuple[int, ...] | None = None  # the thresholds to give back
        self.full_before = 0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        threshold = young_threshold(crawler.settings.get("CRAWL_GC_THRESHOLD", 0))
        if threshold == 0:
            raise NotConfigured("CRAWL_GC_THRESHOLD is 0: Python's default thresholds")
        return cls(crawler, threshold)

    def spider_opened(self, spider: Spider) -> None:
        self.saved = gc.get_threshold()
        self.full_before = gc.get_stats()[2]["collections"]
        gc.set_threshold(self.threshold, *self.saved[1:])
        self.crawler.stats.set_value("gc/young_threshold", self.threshold)
        log.debug("garbage collector thresholds %s (were %s)", gc.get_threshold(), self.saved)

    def spider_closed(self, spider: Spider) -> None:
        full = gc.get_stats()[2]["collections"] - self.full_before
        self.crawler.stats.set_value("gc/full_collections", full)
        if self.saved is not None:
            gc.set_threshold(*self.saved)
            self.saved = None
