"""Manage the provenance database schema (Alembic migrations)."""

from __future__ import annotations

import argparse

from crawler.commands import Context
from crawler.store.db import current_revision, head_revision, make_engine, safe_url, upgrade

HELP = "create or upgrade the provenance database schema"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("upgrade", "current"),
                        help="upgrade: migrate to the newest schema; current: show the revision")


def run(ctx: Context, args: argparse.Namespace) -> int:
    engine = make_engine(ctx.db_url)
    if args.action == "upgrade":
        rev = upgrade(engine)
        ctx.out.print(f"{safe_url(ctx.db_url)}: schema at revision {rev} (head {head_revision()})")
        return 0
    current = current_revision(engine)
    ctx.out.print(f"{safe_url(ctx.db_url)}: schema at revision {current or 'none'} "
                  f"(head {head_revision()})")
    return 0 if current == head_revision() else 1
