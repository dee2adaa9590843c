"""Print the Memento TimeMap (RFC 7089, application/link-format) of an archived URL.

Every capture reached from the URL is listed, following its redirects and canonical
URL, oldest first, as replay URLs of `crawler replay`. An unknown URL exits 2 and
names the closest archived URLs.
"""

from __future__ import annotations

import argparse

from crawler.access.replay import add_replay_base
from crawler.commands import Context

HELP = "print the Memento TimeMap (RFC 7089 link format) of a URL's captures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="original or archived URL")
    add_replay_base(parser)


def run(ctx: Context, args: argparse.Namespace) -> int:
    # imported when run: building the parser (`crawler timemap --help`) needs no database
    from crawler.access.mementos import require_mementos
    from crawler.access.replay import replay_name
    from crawler.access.timemap import timemap
    from crawler.store.db import open_database

    collection = ctx.collection
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        caps = require_mementos(session, args.url, archive_dir=collection.archive_dir)
        text = timemap(args.url, caps, base=args.replay_base, name=replay_name(collection))
    print(text, end="")
    return 0
