"""Rebuild the provenance database from the WARC files alone.

Reads every WARC file in archive/ and inserts the crawl runs, WARC files, outlets,
seeds and captures they describe that the database lacks (each with its ledger
entries). Existing rows that disagree with the WARC files are reported and left as
they are. On an intact collection it changes nothing and says so. Comparison flags
are not in the WARC files and cannot be rebuilt. Exit 0: done (or nothing to do);
1: disagreements or unreadable records found; 2: bad input.
"""

from __future__ import annotations

import argparse

from rich.markup import escape

from crawler.audit.reindex import reindex
from crawler.commands import Context
from crawler.store.db import open_database

HELP = "rebuild capture rows (and runs, files, seeds) from the WARC files alone"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="report only; write nothing")


def run(ctx: Context, args: argparse.Namespace) -> int:
    sessions = open_database(ctx.db_url)
    result = reindex(sessions, ctx.collection, dry_run=args.dry_run)
    for line in result.problems:
        ctx.out.print(f"unreadable: {escape(line)}", highlight=False)
    for line in result.differences:
        ctx.out.print(f"differs (not changed): {escape(line)}", highlight=False)
    if result.changed:
        done = ", ".join(f"{n} {table}" for table, n in sorted(result.inserted.items()))
        verb = "would insert" if args.dry_run else "inserted"
        ctx.out.print(f"{verb} {done} from {result.files} WARC files "
                      f"({result.captures} captures read)", highlight=False)
    else:
        ctx.out.print(f"nothing to change: the {result.captures} captures in {result.files} WARC "
                      "files all have their rows", highlight=False)
    if result.differences:
        ctx.out.print(f"{len(result.differences)} rows disagree with the WARC files; run "
                      "`crawler verify` for the details")
    return 1 if result.differences or result.problems else 0
