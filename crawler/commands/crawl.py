"""Fetch the seeds of the collection (or one seed, or an ad-hoc URL) and archive them.

Exit code: 0 when every seed was captured, 1 when some fetch failed (each is
recorded), 2 on bad input or configuration.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crawler import settings as defaults
from crawler.capture.crawl import parse_overrides, run_crawl
from crawler.capture.summary import run_failures, seed_outcomes
from crawler.commands._render import print_table, summary_table
from crawler.errors import BadInput
from crawler.manifest import parse_seed_ids
from crawler.store.db import open_database
from crawler.store.signing import key_id, load_private_key

HELP = "fetch and archive the seeds (all, --seed ID, or --url URL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", action="append", default=[], metavar="ID",
                        help="only this seed (repeatable, or comma-separated)")
    parser.add_argument("--url", help="an ad-hoc page to archive")
    parser.add_argument("--ignore-robots", action="store_true",
                        help="do not obey robots.txt (recorded with the run)")
    parser.add_argument("--no-compare", action="store_true",
                        help="do not compare the captures with their seed copies afterwards "
                             "(`crawler compare` does it later)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when any fetch failed, requisites included")
    parser.add_argument("--sign", type=Path, metavar="KEYFILE",
                        help="sign the run's ledger head with this Ed25519 key (crawler keygen)")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a setting of crawler/settings.py")


def _compare_captured(ctx: Any, session: Any, run_id: int,
                      outcomes: list[Any]) -> tuple[dict[str, str] | None, int]:
    """Compare the seeds the run captured with their copies (crawler.compare.recorded)."""
    from crawler.compare.recorded import compare_run, flags_column
    from crawler.errors import CrawlerError

    seed_ids = [o.seed_id for o in outcomes if o.seed_id]
    if not seed_ids:
        return None, 0
    try:
        results, stored = compare_run(ctx.collection, session, run_id, seed_ids)
    except CrawlerError as exc:
        session.rollback()
        ctx.err.print(f"[yellow]comparison skipped:[/] {exc}", highlight=False)
        return None, 0
    return flags_column(results), stored


def _reseal(sessions: Any, run_id: int, key_path: str | None) -> str:
    from crawler.store.models import CrawlRun
    from crawler.store.runs import seal_run
    from crawler.store.signing import head_signer

    sign = head_signer(Path(key_path)) if key_path else None
    with sessions.begin() as session:
        return seal_run(session, session.get_one(CrawlRun, run_id), sign=sign)


def crawl_and_report(ctx: Any, *, seed_ids: list[str], url: str | None,
                     overrides: dict[str, Any], strict: bool, compare: bool = True) -> int:
    result = run_crawl(ctx.collection, db_url=ctx.db_url, seed_ids=seed_ids, url=url,
                       overrides=overrides)
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        outcomes = seed_outcomes(session, result.run_id)
        failures = run_failures(session, result.run_id)
        flags, compared = (_compare_captured(ctx, session, result.run_id, outcomes)
                           if compare else (None, 0))
        print_table(ctx.out, summary_table(outcomes, title=f"crawl run {result.run_id}",
                                           flags=flags))
    for cap in failures:
        ctx.out.print(f"  failed: {cap.url} — {cap.error or cap.status}", highlight=False)
    head = result.ledger_head
    if compared:  # the flags came after the run closed: seal them under the head too
        key = overrides.get("PROVENANCE_SIGNING_KEY") or defaults.PROVENANCE_SIGNING_KEY
        head = _reseal(sessions, result.run_id, key)
    ctx.out.print(f"ledger head: {head}")
    if compared:
        ctx.out.print(f"{compared} flag(s) recorded (`crawler compare` for evidence, "
                      "`crawler report` for the report)", highlight=False)
    from crawler.access.cdx import refresh_index  # keep archive/index.cdxj current

    indexed = refresh_index(ctx)
    missed = [o for o in outcomes if not o.captured]
    return 1 if missed or (strict and failures) or not indexed else 0


def run(ctx: Any, args: argparse.Namespace) -> int:
    seed_ids = parse_seed_ids(args.seed)
    if seed_ids and args.url:
        raise BadInput("--seed and --url: give one or the other")
    overrides: dict[str, Any] = parse_overrides(args.set)
    if "CRAWL_GC_THRESHOLD" in overrides:  # checked here: a bad value is exit 2, not a traceback
        from crawler.capture.gc_tuning import young_threshold

        try:
            young_threshold(overrides["CRAWL_GC_THRESHOLD"], given_as="--set CRAWL_GC_THRESHOLD")
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    if args.ignore_robots:
        overrides["ROBOTSTXT_OBEY"] = False
    if args.sign:
        key = load_private_key(args.sign)  # bad key: exit 2 before anything is fetched
        overrides["PROVENANCE_SIGNING_KEY"] = str(args.sign.resolve())
    if not args.verbose:
        overrides.setdefault("LOG_LEVEL", "WARNING")
    code = crawl_and_report(ctx, seed_ids=seed_ids, url=args.url, overrides=overrides,
                            compare=not args.no_compare,
                            strict=args.strict)
    if args.sign:
        ctx.out.print(f"ledger head signed with Ed25519 key {key_id(key.public_key())}")
    return code
