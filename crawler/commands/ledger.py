"""The provenance ledger: `crawler ledger head` prints its current head hash.

Publish the head (or hand it to an auditor): `crawler verify --expect-head HASH`
later proves that nothing recorded up to it has been changed. With `--verify` the
chain is recomputed first and the head is printed only if it holds (exit 1 if not).
"""

from __future__ import annotations

import argparse

from sqlalchemy import select

from crawler.commands import Context
from crawler.store import ledger
from crawler.store.db import open_database
from crawler.store.models import CrawlRun

HELP = "print the provenance ledger's head hash (and each run's recorded head)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("head",), help="head: the newest entry's hash")
    parser.add_argument("--runs", action="store_true", help="also each run's head and signature")
    parser.add_argument("--verify", action="store_true",
                        help="recompute the chain first; exit 1 if it does not hold")


def run(ctx: Context, args: argparse.Namespace) -> int:
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        if args.verify:
            walk = ledger.walk_chain(session)
            for issue in walk.issues:
                ctx.err.print(f"{issue.kind}: seq {issue.seq}: {issue.message}", highlight=False)
            if walk.issues:
                return 1
        print(ledger.head(session))
        if args.runs:
            for run_row in session.scalars(select(CrawlRun).order_by(CrawlRun.id)):
                signed = "signed" if run_row.head_signature else "unsigned"
                ctx.out.print(f"run {run_row.id} {run_row.uuid} {run_row.status}: "
                              f"{run_row.ledger_head or '-'} ({signed})", highlight=False)
    return 0
