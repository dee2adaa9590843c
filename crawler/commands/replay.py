"""Serve the collection for replay with pywb on 127.0.0.1 and print its URL.

pywb runs from its own virtualenv (<repo>/.venv-replay, made by setup.sh, or the
REPLAY_PYWB setting). The index is brought up to date first; the WARC files are not
copied (pywb's collection folder links to archive/). Serves until interrupted
(Ctrl-C or SIGTERM). Binds 127.0.0.1 unless --host names another address.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from sqlalchemy import select

from crawler import settings as defaults
from crawler.access.cdx import build_index, index_is_current
from crawler.access.replay import (
    find_wayback,
    free_port,
    port_is_free,
    prepare_site,
    replay_url,
    start,
)
from crawler.commands import Context
from crawler.errors import BadInput
from crawler.roles import PAGE
from crawler.store.db import open_database
from crawler.store.models import Capture

HELP = "serve the collection for replay (pywb) on 127.0.0.1 and print the URL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the archive "
                             "to the network)")
    parser.add_argument("--port", type=int, default=defaults.REPLAY_PORT,
                        help="port (default REPLAY_PORT, a free one when taken; 0 = any free)")
    parser.add_argument("--dir", metavar="DIR",
                        help="pywb folder to write and keep (default: a temporary one)")


def _seed_pages(ctx: Context, base: str, name: str) -> list[str]:
    sessions = open_database(ctx.db_url, upgrade_schema=False)
    with sessions() as session:
        caps = session.scalars(
            select(Capture).where(Capture.seed_id.is_not(None), Capture.role == PAGE,
                                  Capture.status >= 200, Capture.status < 300,
                                  Capture.warc_record_id.is_not(None))
            .order_by(Capture.seed_id, Capture.fetched_at)).all()
        latest = {c.seed_id: c for c in caps}
        return [f"  {sid}  {replay_url(base, name, c.fetched_at, c.url)}"
                for sid, c in sorted(latest.items(), key=lambda kv: kv[0] or "")]


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(ctx: Context, args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:  # bad input first: it needs no pywb to be refused
        raise BadInput(f"--port {args.port}: not a TCP port")
    collection = ctx.collection
    wayback = find_wayback(defaults.REPLAY_PYWB)
    if not index_is_current(collection.archive_dir):
        build_index(collection.archive_dir)
    port = args.port
    if port == 0 or not port_is_free(args.host, port):
        if port:
            ctx.err.print(f"port {port} is in use; serving on a free port (pass --replay-base "
                          f"to `crawler cite` for matching URLs)", highlight=False)
        port = free_port(args.host)
    keep = args.dir is not None
    site_dir = Path(args.dir).expanduser() if keep else Path(tempfile.mkdtemp(prefix="replay-"))
    site_dir.mkdir(parents=True, exist_ok=True)
    server = None
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        name = prepare_site(collection, site_dir)
        server = start(wayback, site_dir, name=name, host=args.host, port=port)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            ctx.err.print(f"[yellow]warning:[/] serving on {args.host}: other machines can "
                          f"read this archive", highlight=False)
        ctx.out.print(f"replaying {collection.root} at {server.collection_url}", highlight=False)
        pages = _seed_pages(ctx, server.base_url, name)
        if pages:
            ctx.out.print("seed pages (latest capture):", highlight=False)
            for line in pages:
                ctx.out.print(line, highlight=False, soft_wrap=True)
        ctx.out.print("press Ctrl-C to stop", highlight=False)
        sys.stdout.flush()
        server.process.wait()
        ctx.err.print(f"pywb stopped (exit {server.process.returncode}); log: {server.log_path}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.stop()
        if not keep:
            shutil.rmtree(site_dir, ignore_errors=True)
