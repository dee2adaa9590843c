"""The whole flow offline: serve a local copy of the five outlets on 127.0.0.1, make a
fresh collection whose manifest points at it, crawl it, and print what was archived.

The seed copies are taken from the collection given by --collection (by default the
current folder — the repository's own seeds/). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from crawler.capture.job import run_job
from crawler.collection import Collection
from crawler.commands import Context
from crawler.commands._render import print_job, run_summary_printer
from crawler.errors import BadInput

HELP = "archive the five seeds from a local copy of their outlets (offline)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--into", metavar="DIR",
                        help="new collection folder (default: a fresh folder under the "
                             "system's temp directory)")


def _target(into: str | None) -> Path:
    if into:
        root = Path(into).expanduser().resolve()
        if root.exists() and any(root.iterdir()):
            raise BadInput(f"--into {root}: folder exists and is not empty")
        root.mkdir(parents=True, exist_ok=True)
        return root
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(tempfile.mkdtemp(prefix=f"crawler-demo-{stamp}-"))


def run(ctx: Context, args: argparse.Namespace) -> int:
    from crawler.fixture_site import SEEDS, demo_manifest_toml, serve

    source = ctx.collection_path.expanduser().resolve() / "seeds"
    missing = [s.copy for s in SEEDS if s.copy and not (source / s.copy).is_file()]
    if missing:
        raise BadInput(f"seed copies not found in {source}: {', '.join(missing)} "
                       "(run the demo from the repository, or pass --collection REPO)")
    root = _target(args.into)
    (root / "seeds").mkdir(parents=True, exist_ok=True)
    (root / "archive").mkdir(exist_ok=True)
    for seed in SEEDS:
        if seed.copy:
            shutil.copy2(source / seed.copy, root / "seeds" / seed.copy)
    db_url = ctx.db_override or f"sqlite:///{root / 'provenance.db'}"
    with serve() as server:
        (root / "seeds" / "manifest.toml").write_text(
            demo_manifest_toml(server.base_url), encoding="utf-8")
        ctx.out.print(f"demo: local copy of the five outlets at {server.base_url}")
        ctx.out.print(f"demo: collection {root}")
        overrides: dict[str, Any] = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}
        if not args.verbose:
            overrides["LOG_LEVEL"] = "WARNING"
        result = run_job(Collection(root), db_url=db_url, seed_ids=[], url=None,
                         overrides=overrides, show=run_summary_printer(ctx.out, ctx.err))
        print_job(ctx.out, ctx.err, result)
        code = result.exit_code(strict=False)
    ctx.out.print(f"\ndemo collection: {root}")
    ctx.out.print(f"  WARC files: {root / 'archive'}")
    ctx.out.print(f"  database:   {db_url}")
    ctx.out.print("  next, with --collection " + str(root) + ":")
    for command, what in (
        ("captures", "what is on record"),
        ("compare", "each capture against its seed copy, with evidence"),
        ("report", "the comparison as HTML in report/"),
        ("verify", "every record against the archived bytes and the ledger"),
        ("package", "a WACZ of the run"),
        ("replay", "browse the archive on 127.0.0.1"),
        ("cite URL", "a citation that carries its digest"),
    ):
        ctx.out.print(f"    crawler {command:<10} {what}", highlight=False)
    return code
