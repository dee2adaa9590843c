"""Write the comparison report as static HTML: report/index.html and a page per seed.

Each seed's latest capture is read back from the WARC file and compared with its seed
copy (as `crawler compare` does); the pages open from disk with no server, and every
archived text is escaped. Exit code: 0 when the report was written, 2 on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.access.report import write_report
from crawler.commands import Context
from crawler.commands._args import add_selection
from crawler.compare.recorded import compare_collection
from crawler.manifest import load_manifest, parse_seed_ids
from crawler.store.db import open_database

HELP = "write the comparison report (static HTML) of captures and seed copies"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder to write (default: <collection>/report)")
    add_selection(parser)


def run(ctx: Context, args: argparse.Namespace) -> int:
    seed_ids = parse_seed_ids(args.seed)
    collection = ctx.collection
    manifest = load_manifest(collection.manifest_path)
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        results = compare_collection(collection, session, seed_ids=seed_ids, run_id=args.run)
        out_dir = args.out or collection.root / "report"
        written = write_report(results, out_dir, title=f"Comparison report — {manifest.name}")
    ctx.out.print(f"wrote {len(written)} pages to {out_dir}", highlight=False)
    ctx.out.print(f"open: file://{(out_dir / 'index.html').resolve()}", highlight=False)
    return 0
