"""Cite an archived page: the capture nearest to --at (default: the latest), with its proof.

The citation names outlet, headline, original URL, publication date (when the manifest
gives it), capture date-time (UTC and 14 digits), the replay URL, the WARC file,
WARC-Record-ID and payload SHA-256 (re-checked against the WARC bytes), and the WACZ
holding the capture with its SHA-256 when one was packaged. Redirects and canonical
URLs are followed. An unknown URL exits 2 and names the closest archived URLs.
"""

from __future__ import annotations

import argparse

from crawler.access.cite import FORMATS
from crawler.access.replay import add_replay_base
from crawler.commands import Context

HELP = "cite the archived capture of a URL (text, bibtex, csl-json, ris, robustlink)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="the page to cite (original or archived URL)")
    parser.add_argument("--at", metavar="DATE",
                        help="cite the capture nearest to this date or date-time "
                             "(ISO 8601 or 14 digits, UTC); default: the latest")
    parser.add_argument("--format", choices=FORMATS, default="text", help="default: text")
    add_replay_base(parser)


def run(ctx: Context, args: argparse.Namespace) -> int:
    # imported when run: building the parser (`crawler cite --help`) needs no database
    from crawler.access.cite import build_citation, render
    from crawler.access.mementos import nearest, parse_when, require_mementos
    from crawler.access.replay import replay_name
    from crawler.store.db import open_database

    collection = ctx.collection
    at = parse_when(args.at) if args.at else None
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        caps = require_mementos(session, args.url, archive_dir=collection.archive_dir)
        citation = build_citation(nearest(caps, at), archive_dir=collection.archive_dir,
                                  collection=replay_name(collection),
                                  replay_base=args.replay_base)
    print(render(citation, args.format))
    return 0
