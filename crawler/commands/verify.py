"""Verify a collection: every provenance row against the archived bytes, and the ledger.

Reads every WARC file (in worker processes, one per CPU, that start reading while
the database is still being opened; a large file in parts, several per worker);
recomputes file SHA-256 and size, every record's block and payload digests, and
compares them with the WARC headers and the database; recomputes the ledger chain
and every row against its newest entry.
Prints one line per problem (kind, file, offset, record id, capture id, what differs)
and a summary with throughput. Exit 0: all holds; 1: problems found; 2: bad input.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.audit.workers import GC_THRESHOLD, FileChecker, default_workers
from crawler.collection import Collection
from crawler.commands import Context
from crawler.errors import BadInput

if TYPE_CHECKING:
    from crawler.audit.report import Report

HELP = "check every capture, WARC file and ledger entry against the archived bytes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=int, metavar="N", help="only this crawl run's files and rows")
    parser.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    parser.add_argument("--expect-head", metavar="HASH",
                        help="a ledger head published earlier: it must still be in the chain")
    parser.add_argument("--public-key", type=Path, metavar="FILE",
                        help="Ed25519 public key (PEM): check every run's signed head")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="processes that read and check the WARC files while the "
                             "database is read (default: one per CPU, at most one per "
                             "file; 0: everything in this process)")


def _print(ctx: Context, report: Report) -> None:
    from rich.markup import escape

    for problem in report.problems:
        ctx.out.print(escape(problem.line()), highlight=False, soft_wrap=True)
    mb = report.bytes / 1e6
    ctx.out.print(
        f"verified {report.scope}: {report.files} WARC files, {report.records} records, "
        f"{report.captures} captures, {report.ledger.entries} ledger entries; "
        f"{mb:.1f} MB in {report.seconds:.2f} s ({report.mb_per_s:.1f} MB/s)", highlight=False)
    ctx.out.print(f"ledger head: {report.ledger.head}", highlight=False)
    for note in report.notes:
        ctx.out.print(f"note: {escape(note)}", highlight=False)
    if report.ok:
        ctx.out.print("[green]OK[/]: every record, file and ledger entry checked holds")
    else:
        ctx.out.print(f"[bold red]{len(report.problems)} problems[/]")


def run(ctx: Context, args: argparse.Namespace) -> int:
    if args.expect_head and not re.fullmatch(r"[0-9a-f]{64}", args.expect_head):
        raise BadInput(f"--expect-head {args.expect_head!r}: not a 64-digit hex SHA-256")
    if args.workers is not None and args.workers < 0:
        raise BadInput(f"--workers {args.workers}: give 0 or more")
    collection = ctx.collection
    # Start reading the WARC files before the database stack is imported (it takes a
    # second): workers fork now, small, and the imports below overlap their reading.
    # One run's files are known only from the database; the whole collection's are on disk.
    on_disk = [] if args.run is not None else collection.warc_files(include_open=True)
    workers = args.workers
    if workers is None:
        workers = default_workers(None if args.run is not None else on_disk)
    with FileChecker(workers) as checker:
        checker.scan(on_disk)
        return _verify(ctx, args, collection, checker)


def _verify(ctx: Context, args: argparse.Namespace, collection: Collection,
            checker: FileChecker) -> int:
    # What the imports below make lives until the end: the collector need not look at
    # it while they run, nor walk it again and again while the ledger is read (as in
    # the workers; 0.05 CPU-s here, a tenth of this process's own work).
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    # imported once the workers are reading (see run)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from crawler.audit.report import ProgressHooks
    from crawler.audit.verify import verify_collection
    from crawler.store.db import open_database

    gc.freeze()

    public_key = None
    if args.public_key:
        from crawler.store.signing import load_public_key  # cryptography: only with a key

        public_key = load_public_key(args.public_key)
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    try:
        with Progress("[progress.description]{task.description}", BarColumn(),
                      DownloadColumn(), TransferSpeedColumn(), console=ctx.err,
                      transient=True) as bar:
            task = bar.add_task("verifying", total=None)
            hooks = ProgressHooks(start=lambda total: bar.update(task, total=total),
                                  advance=lambda n: bar.advance(task, n))
            report = verify_collection(sessions, collection, run_id=args.run,
                                       expect_head=args.expect_head, public_key=public_key,
                                       progress=hooks, checker=checker)
    finally:
        sessions.kw["bind"].dispose()  # close the connection now, not when the process ends
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        _print(ctx, report)
    # All that is left is exiting: spare the interpreter's last garbage collections a
    # walk over the million objects the imports made (0.3-0.5 s after SQLAlchemy). The
    # connection is closed above; nothing else here needs collecting to be released.
    gc.freeze()
    return 0 if report.ok else 1
