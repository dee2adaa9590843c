"""List what is on record: one row per capture (fetch), newest run first."""

from __future__ import annotations

import argparse
import json

from sqlalchemy import select

from crawler.commands import Context
from crawler.commands._render import captures_table, print_table
from crawler.roles import PAGE
from crawler.store.db import open_database
from crawler.store.ledger import row_dict
from crawler.store.models import Capture

HELP = "list the captures on record"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=int, help="only this crawl run")
    parser.add_argument("--seed", help="only this seed")
    parser.add_argument("--pages", action="store_true", help="only seed pages (no requisites)")
    parser.add_argument("--json", action="store_true", help="JSON Lines, every column")


def run(ctx: Context, args: argparse.Namespace) -> int:
    ctx.collection  # noqa: B018 - refuses a missing collection folder
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    query = select(Capture).order_by(Capture.run_id.desc(), Capture.id)
    if args.run is not None:
        query = query.where(Capture.run_id == args.run)
    if args.seed:
        query = query.where(Capture.seed_id == args.seed)
    if args.pages:
        query = query.where(Capture.role == PAGE)
    with sessions() as session:
        captures = session.scalars(query).all()
        if args.json:
            for cap in captures:
                row = row_dict(cap)
                row["warc_file"] = cap.warc_file.name if cap.warc_file else None
                print(json.dumps(row, ensure_ascii=False))
            return 0
        print_table(ctx.out, captures_table(captures, title=f"{len(captures)} captures"))
    return 0
