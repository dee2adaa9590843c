"""A whole crawl job, as `crawler crawl` and `crawler demo` run it.

1. the crawl (crawler.capture.crawl.run_crawl: preflight, then Scrapy);
2. the seed pages' outcomes and the run's failed fetches (crawler.capture.summary);
3. the comparison of what the run captured with the seed copies, its flags recorded
   (crawler.compare.recorded.compare_run), unless switched off;
4. the run's ledger head sealed again, so that it covers the flags too, and signed
   with the key the crawl signed with (PROVENANCE_SIGNING_KEY);
5. the collection's CDXJ index rebuilt (crawler.access.cdx).

Nothing here prints: the command shows the summary through `show`, called while the
rows it holds can still be read, and renders the JobResult. Reads the crawl's
settings (crawler.settings plus the overrides) only for the signing key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.capture.crawl import run_crawl, scrapy_settings
from crawler.capture.summary import SeedOutcome, run_failures, seed_outcomes
from crawler.collection import Collection
from crawler.errors import CrawlerError
from crawler.store.db import open_database

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.access.cdx import IndexResult
    from crawler.compare.recorded import SeedResult
    from crawler.store.models import Capture


@dataclass(frozen=True)
class RunSummary:
    """What the run captured, for the summary table: valid only inside `show`."""

    run_id: int
    outcomes: Sequence[SeedOutcome]
    failures: Sequence[Capture]
    compared: Sequence[SeedResult] | None  # None: the comparison did not run
    comparison_problem: str | None  # why it was skipped


@dataclass(frozen=True)
class JobResult:
    run_id: int
    ledger_head: str | None
    flags_recorded: int
    seeds_missed: int  # seed pages whose chain did not end in a 2xx answer
    fetches_failed: int
    index: IndexResult | None
    index_problem: str | None  # why the index was not rebuilt

    def exit_code(self, *, strict: bool) -> int:
        """0 every seed captured; 1 a seed failed (with --strict: any fetch), or the
        index could not be rebuilt."""
        failed = self.seeds_missed or (strict and self.fetches_failed)
        return 1 if failed or self.index is None else 0


def run_job(collection: Collection, *, db_url: str, seed_ids: list[str], url: str | None,
            overrides: Mapping[str, Any], compare: bool = True,
            show: Callable[[RunSummary], None]) -> JobResult:
    crawl = run_crawl(collection, db_url=db_url, seed_ids=seed_ids, url=url,
                      overrides=overrides)
    sessions = open_database(db_url, upgrade_schema=False)
    problem, stored = None, 0
    with sessions() as session:
        outcomes = seed_outcomes(session, crawl.run_id)
        failures = run_failures(session, crawl.run_id)
        compared: list[SeedResult] | None = None
        captured = [o.seed_id for o in outcomes if o.seed_id]
        if compare and captured:
            compared, stored, problem = _compare(collection, session, crawl.run_id, captured)
        show(RunSummary(crawl.run_id, outcomes, failures, compared, problem))
        missed = sum(1 for o in outcomes if not o.captured)
        failed = len(failures)
    head = crawl.ledger_head
    if stored:  # the flags came after the run closed: seal them under the head too
        key = scrapy_settings(collection, db_url=db_url, overrides=overrides).get(
            "PROVENANCE_SIGNING_KEY")
        head = _reseal(sessions, crawl.run_id, key or None)
    index, index_problem = _refresh_index(collection)
    return JobResult(crawl.run_id, head, stored, missed, failed, index, index_problem)


def _compare(collection: Collection, session: Session, run_id: int,
             seed_ids: list[str]) -> tuple[list[SeedResult] | None, int, str | None]:
    from crawler.compare.recorded import compare_run

    try:
        results, stored = compare_run(collection, session, run_id, seed_ids)
    except CrawlerError as exc:
        session.rollback()
        return None, 0, str(exc)
    return results, stored, None


def _reseal(sessions: sessionmaker[Session], run_id: int, key_path: str | None) -> str:
    from crawler.store.models import CrawlRun
    from crawler.store.runs import seal_run
    from crawler.store.signing import head_signer

    sign = head_signer(Path(key_path)) if key_path else None
    with sessions.begin() as session:
        return seal_run(session, session.get_one(CrawlRun, run_id), sign=sign)


def _refresh_index(collection: Collection) -> tuple[IndexResult | None, str | None]:
    """The index rebuilt after the crawl; a failure is reported, not raised."""
    from crawler.access.cdx import build_index

    try:
        return build_index(collection.archive_dir), None
    except (CrawlerError, OSError, ValueError) as exc:
        return None, str(exc)
