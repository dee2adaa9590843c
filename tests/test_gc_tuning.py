"""crawler.capture.gc_tuning: the crawl's garbage collector thresholds, applied and undone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy import Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.capture.gc_tuning import GcTuning, young_threshold
from helpers import run_cli


@pytest.fixture(autouse=True)
def restore_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_project_settings_enable_it_for_every_crawl() -> None:
    settings = Settings()
    settings.setmodule(project_settings)
    assert "crawler.capture.gc_tuning.GcTuning" in settings.getdict("EXTENSIONS")
    assert settings.getint("CRAWL_GC_THRESHOLD") == 20_000
    # archiving off (the benchmark's plain Scrapy arm) changes nothing here
    crawler = get_crawler(settings_dict={"ARCHIVE_ENABLED": False, "CRAWL_GC_THRESHOLD":
                                         settings.get("CRAWL_GC_THRESHOLD")})
    assert GcTuning.from_crawler(crawler).threshold == 20_000


def test_thresholds_hold_while_the_spider_runs_and_are_restored() -> None:
    gc.set_threshold(700, 10, 10)
    crawler = get_crawler(settings_dict={"CRAWL_GC_THRESHOLD": 12_345})
    ext = GcTuning.from_crawler(crawler)
    spider = Spider("t")
    crawler.signals.send_catch_log(signal=signals.spider_opened,
                                   spider=spider)
    assert gc.get_threshold() == (12_345, 10, 10)
    assert crawler.stats.get_value("gc/young_threshold") == 12_345
    gc.collect()  # one full collection while it runs is counted
    crawler.signals.send_catch_log(signal=signals.spider_closed,
                                   spider=spider, reason="finished")
    assert gc.get_threshold() == (700, 10, 10)
    assert crawler.stats.get_value("gc/full_collections") >= 1
    assert ext.saved is None


def test_zero_leaves_the_collector_alone() -> None:
    with pytest.raises(NotConfigured):
        GcTuning.from_crawler(get_crawler(settings_dict={"CRAWL_GC_THRESHOLD": 0}))


@pytest.mark.parametrize("raw, threshold", [("20000", 20_000), ("20_000", 20_000), (0, 0),
                                            (5, 5)])
def test_threshold_values(raw: object, threshold: int) -> None:
    assert young_threshold(raw) == threshold


@pytest.mark.parametrize("raw, why", [("abc", "not a whole number"), ("1.5", "not a whole"),
                                      ("-1", "give 0")])
def test_bad_thresholds_name_the_setting(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"CRAWL_GC_THRESHOLD.*{why}"):
        young_threshold(raw)


def test_crawl_refuses_a_bad_threshold_before_fetching(tmp_path: Path) -> None:
    root = tmp_path / "c"
    assert run_cli("init", str(root)).returncode == 0
    proc = run_cli("--collection", str(root), "crawl", "--url", "http://127.0.0.1:9/x",
                   "--set", "CRAWL_GC_THRESHOLD=lots")
    assert proc.returncode == 2
    assert "CRAWL_GC_THRESHOLD='lots': not a whole number" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list((root / "archive").glob("*.warc.gz*"))
