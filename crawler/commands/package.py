"""Package a crawl run (or the whole collection) as a WACZ 1.1.1 file in archive/.

The WACZ holds the run's WARC files (checked against their recorded SHA-256 first),
a compressed CDXJ index, pages/pages.jsonl with one line per seed capture, and
datapackage.json with every file's SHA-256 and size. `--sign KEY` adds our own Ed25519
signature of datapackage.json (see crawler.access.wacz_sign; not WACZ-auth). `--check FILE`
re-hashes an existing WACZ and checks its signature (`--public-key` names the signer).
The package opens in ReplayWeb.page and passes `wacz validate`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.access.replay import replay_name
from crawler.access.wacz import build_package, packaged_warc_files, seed_pages
from crawler.access.wacz_sign import check_package, signer
from crawler.commands import Context
from crawler.errors import BadInput
from crawler.store.db import open_database
from crawler.store.models import CrawlRun
from crawler.store.signing import load_private_key, load_public_key

HELP = "package a crawl run (or the collection) as a WACZ file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=int, metavar="N", help="only this crawl run")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="WACZ to write (default: archive/<collection>[-run<N>].wacz)")
    parser.add_argument("--sign", metavar="KEYFILE",
                        help="sign datapackage.json with this Ed25519 key (our own signature)")
    parser.add_argument("--check", metavar="WACZ",
                        help="check an existing WACZ's hashes and signature instead")
    parser.add_argument("--public-key", metavar="FILE",
                        help="with --check: the package must be signed by this key")


def run(ctx: Context, args: argparse.Namespace) -> int:
    if args.check:
        expected = load_public_key(Path(args.public_key)) if args.public_key else None
        if not Path(args.check).is_file():
            raise BadInput(f"--check {args.check}: no such file")
        problems = check_package(Path(args.check), public_key=expected)
        for problem in problems:
            ctx.out.print(f"[red]problem:[/] {problem}", highlight=False)
        if not problems:
            ctx.out.print(f"{args.check}: every hash and signature holds", highlight=False)
        return 1 if problems else 0
    collection = ctx.collection
    archive = collection.archive_dir
    sign = signer(load_private_key(Path(args.sign).expanduser())) if args.sign else None
    name = replay_name(collection)
    output = Path(args.output) if args.output else \
        archive / (f"{name}-run{args.run}.wacz" if args.run is not None else f"{name}.wacz")
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        files = packaged_warc_files(session, args.run, archive)
        pages = seed_pages(session, files, archive)
        runs = [session.get(CrawlRun, r) for r in sorted({wf.run_id for wf in files})]
        label = runs[0].collection if runs and runs[0] else name
        extra = {"crawlRuns": [{"id": r.id, "uuid": r.uuid, "started": r.started_at.isoformat(),
                                "ledgerHead": r.ledger_head} for r in runs if r]}
    title = f"{label} — crawl run {args.run}" if args.run is not None else label
    ref = build_package(output, warcs=[archive / wf.name for wf in files], pages=pages,
                        title=title, description=f"Seed pages archived by {label}.",
                        extra=extra, sign=sign)
    ctx.out.print(f"wrote {ref.path}", highlight=False)
    ctx.out.print(f"  {len(files)} WARC files, {len(pages)} pages"
                  + (", signed (Ed25519)" if sign else ""), highlight=False)
    ctx.out.print(f"  sha256 {ref.sha256}", highlight=False)
    return 0
