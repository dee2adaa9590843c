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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from crawler.access.archived_page import page_info, read_response
from crawler.access.mementos import is_memento
from crawler.access.replay import replay_name
from crawler.access.wacz import Page, build_package
from crawler.access.wacz_sign import check_package, load_private_key, signer
from crawler.digests import sha256_file
from crawler.errors import BadInput, IntegrityError
from crawler.store.db import open_database
from crawler.store.models import Capture, CrawlRun, WarcFile
from crawler.store.signing import load_public_key

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


def _warc_files(session: Session, run: int | None, archive: Path) -> list[WarcFile]:
    query = select(WarcFile).order_by(WarcFile.name)
    if run is not None:
        if session.get(CrawlRun, run) is None:
            known = ", ".join(str(r) for r in session.scalars(select(CrawlRun.id))) or "none"
            raise BadInput(f"--run {run}: no such crawl run (known: {known})")
        query = query.where(WarcFile.run_id == run)
    files = list(session.scalars(query))
    if not files:
        raise BadInput("nothing to package: no WARC files on record"
                       + (f" for run {run}" if run is not None else ""))
    for wf in files:
        path = archive / wf.name
        if wf.sha256 is None or not path.exists():
            raise BadInput(f"{path}: not closed yet or missing (is a crawl still running?)")
        actual = sha256_file(path)
        if actual != wf.sha256:
            raise IntegrityError(f"{path}: SHA-256 {actual} differs from the recorded "
                                 f"{wf.sha256}; not packaging altered bytes")
    return files


def _pages(session: Session, files: list[WarcFile], archive: Path) -> list[Page]:
    ids = [wf.id for wf in files]
    caps = session.scalars(
        select(Capture).options(joinedload(Capture.warc_file))
        .where(Capture.warc_file_id.in_(ids), Capture.seed_id.is_not(None),
               Capture.role == "page").order_by(Capture.fetched_at, Capture.id)).all()
    pages = []
    for cap in caps:
        if not is_memento(cap) or not (cap.status and 200 <= cap.status < 300):
            continue
        assert cap.warc_file is not None
        rec = read_response(archive / cap.warc_file.name, int(cap.response_offset or 0),
                            record_id=cap.warc_record_id, payload_sha256=cap.payload_sha256)
        title = page_info(rec.body, content_type=rec.content_type).title \
            if "html" in rec.content_type else None
        pages.append(Page(id=f"capture-{cap.id}", url=cap.url, when=cap.fetched_at,
                          title=title, seed_id=cap.seed_id))
    return pages


def run(ctx: Any, args: argparse.Namespace) -> int:
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
        files = _warc_files(session, args.run, archive)
        pages = _pages(session, files, archive)
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
