"""Export the provenance of one crawl run (or all) as W3C PROV or as flat records.

    crawler export --format prov-json --run 3 > run3.prov.json
    crawler export --format prov-n | csv | jsonl [--run N] [--output FILE]

PROV: captures as entities, the crawl run as an activity, the crawler software and
the operator as agents; each capture wasDerivedFrom its URL and, for seed pages,
is alternateOf its seed copy (see crawler.audit.export). Exit 2 on an unknown run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.audit.export import FORMATS, write_export
from crawler.commands import Context
from crawler.errors import BadInput
from crawler.store.db import open_database
from crawler.store.models import CrawlRun

HELP = "export provenance as PROV-JSON, PROV-N, CSV or JSON Lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
    parser.add_argument("--run", type=int, metavar="N", help="only this crawl run")
    parser.add_argument("--output", "-o", type=Path, metavar="FILE", help="default: stdout")


def run(ctx: Context, args: argparse.Namespace) -> int:
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        if args.run is not None and session.get(CrawlRun, args.run) is None:
            raise BadInput(f"--run {args.run}: no such crawl run")
        if args.output:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                write_export(session, out, fmt=args.fmt, run_id=args.run)
        else:
            write_export(session, sys.stdout, fmt=args.fmt, run_id=args.run)
    return 0
