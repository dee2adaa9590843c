"""Fetch the seeds of the collection (or one seed, or an ad-hoc URL) and archive them.

Exit code: 0 when every seed was captured, 1 when some fetch failed (each is
recorded), 2 on bad input or configuration.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crawler.capture.crawl import parse_overrides
from crawler.capture.job import run_job
from crawler.commands import Context
from crawler.commands._render import print_job, run_summary_printer
from crawler.errors import BadInput
from crawler.manifest import parse_seed_ids
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


def run(ctx: Context, args: argparse.Namespace) -> int:
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
    result = run_job(ctx.collection, db_url=ctx.db_url, seed_ids=seed_ids, url=args.url,
                     overrides=overrides, compare=not args.no_compare,
                     show=run_summary_printer(ctx.out, ctx.err))
    print_job(ctx.out, ctx.err, result)
    code = result.exit_code(strict=args.strict)
    if args.sign:
        ctx.out.print(f"ledger head signed with Ed25519 key {key_id(key.public_key())}")
    return code
