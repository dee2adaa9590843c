"""Running a crawl of a collection in this process (the CLI's `crawl` and `demo`).

Everything that can be checked before fetching is checked first — manifest, seed
copies, the database and the seeds on record — so bad input exits 2 with nothing
fetched or written. Then Scrapy runs the `seeds` spider with crawler.settings plus
the overrides, exactly as `scrapy crawl seeds` would.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.collection import Collection
from crawler.errors import ArchiveError, BadInput
from crawler.manifest import Seed, check_url, load_manifest
from crawler.store.db import open_database
from crawler.store.runs import record_seeds

log = logging.getLogger(__name__)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`NAME=VALUE` setting overrides (`crawl -s`, the bench's --set) as a dict."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--set {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


@dataclass(frozen=True)
class CrawlResult:
    run_id: int
    ledger_head: str | None
    stats: Mapping[str, Any]


def preflight(collection: Collection, *, db_url: str, seed_ids: list[str], url: str | None) -> None:
    """Refuse bad input before anything is fetched (raises BadInput subclasses)."""
    seeds: tuple[Seed, ...] = ()
    if collection.manifest_path.exists() or not url:
        manifest = load_manifest(collection.manifest_path)
        seeds = tuple(manifest.seed(s) for s in seed_ids) if seed_ids else manifest.seeds
    if url:
        problem = check_url(url)
        if problem:
            from crawler.errors import BadInput

            raise BadInput(f"--url: {problem}")
    sessions = open_database(db_url)
    from crawler.capture.recorder import writer_connection

    writer_connection(sessions.kw["bind"])  # a database the writer process cannot write
    with sessions() as session:  # the same check start_run makes, without keeping anything
        record_seeds(session, seeds, now=dt.datetime.now(dt.UTC))
        session.rollback()


def scrapy_settings(collection: Collection, *, db_url: str, overrides: Mapping[str, Any]) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("CRAWLER_COLLECTION_DIR", str(collection.root), priority="cmdline")
    settings.set("PROVENANCE_DB_URL", db_url, priority="cmdline")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def _show_progress() -> None:
    progress = logging.getLogger("crawler.capture.progress")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False


def run_crawl(
    collection: Collection,
    *,
    db_url: str,
    seed_ids: list[str] | None = None,
    url: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> CrawlResult:
    """Preflight, then one Scrapy crawl; returns the run id the archive recorded."""
    from scrapy.crawler import CrawlerProcess

    from spiders.seeds import SeedsSpider

    seed_ids = seed_ids or []
    preflight(collection, db_url=db_url, seed_ids=seed_ids, url=url)
    settings = scrapy_settings(collection, db_url=db_url, overrides=overrides or {})
    if settings.get("LOG_LEVEL") != "INFO":
        _show_progress()
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SeedsSpider)
    kwargs = {"seed": ",".join(seed_ids)} if seed_ids else {}
    if url:
        kwargs["url"] = url
    process.crawl(crawler, **kwargs)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    if stats.get("archive/error"):
        raise ArchiveError(f"the crawl stopped because archiving failed: {stats['archive/error']}")
    if "archive/run_id" not in stats:
        raise ArchiveError("the crawl recorded no run: see the log above for why")
    return CrawlResult(int(stats["archive/run_id"]), stats.get("archive/ledger_head"), stats)
