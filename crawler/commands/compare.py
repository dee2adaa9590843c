"""Compare the latest capture of every seed with its seed copy and flag what differs.

The capture is read back from the WARC file; the flags are stored in the provenance
database (with the software version and the inputs' digests) and printed with their
evidence, or as JSON with --json. `--seed-copy COPY --html PAGE [--url URL]` compares
any pair offline, without a collection or database.
Exit code: 0 when nothing at warning or above was found, 1 when something was, 2 on bad
input (missing file, a copy that is not UTF-8, an unknown seed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.markup import escape

from crawler.commands import Context
from crawler.commands._args import add_selection
from crawler.commands._render import SEVERITY_STYLE
from crawler.compare.comparison import Comparison, compare
from crawler.compare.flags import Flag
from crawler.compare.live_page import extract_page
from crawler.compare.recorded import SeedResult, compare_collection, store_flags
from crawler.compare.seed_copy import load_seed_copy
from crawler.errors import BadInput
from crawler.manifest import parse_seed_ids
from crawler.store.db import open_database
from crawler.warc.read import decode_html

HELP = "compare captures with their seed copies and flag what differs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable, one object per seed")
    parser.add_argument("--no-store", action="store_true",
                        help="do not record the flags in the database")
    parser.add_argument("--seed-copy", type=Path, metavar="COPY",
                        help="offline: a seed copy (UTF-8 text) to compare with --html")
    parser.add_argument("--html", type=Path, metavar="PAGE", help="offline: an HTML page")
    parser.add_argument("--url", help="offline: the page's URL (for relative links and dates)")


def flag_lines(flag: Flag) -> list[str]:
    """Rich markup lines for one flag and its evidence (all archived text escaped)."""
    style = SEVERITY_STYLE[flag.severity]
    out = [f"  [{style}]{flag.severity:8}[/] [bold]{flag.kind}[/]: {escape(flag.message)}"]
    for ev in flag.evidence:
        text = ev.text if len(ev.text) <= 160 else ev.text[:157] + "..."
        out.append(f"      {ev.source} {escape(ev.where)}: {escape(repr(text))}")
    return out


def _print_one(ctx: Context, title: str, comparison: Comparison | None,
               problem: str | None) -> None:
    ctx.out.print(f"[bold]{escape(title)}[/]", highlight=False)
    if comparison is None:
        ctx.out.print(f"  [red]not compared[/]: {escape(problem or '')}", highlight=False)
        return
    if not comparison.copy.lines:
        ctx.out.print("  the seed has no copy: only the fetch itself was checked",
                      highlight=False)
    if not comparison.flags:
        what = "the capture matches the copy" if comparison.copy.lines else "the fetch succeeded"
        ctx.out.print(f"  [green]no flags[/]: {what}", highlight=False)
    for flag in comparison.flags:
        for line in flag_lines(flag):
            ctx.out.print(line, highlight=False, soft_wrap=True)


def _offline(ctx: Context, args: argparse.Namespace) -> int:
    if args.seed_copy is None or args.html is None:
        raise BadInput("--seed-copy and --html go together: give both for an offline comparison")
    if args.seed or args.run is not None:
        raise BadInput("--seed/--run compare captures on record; not with --seed-copy/--html")
    copy = load_seed_copy(args.seed_copy)
    try:
        data = args.html.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"--html {args.html}: file not found") from None
    except OSError as exc:
        raise BadInput(f"--html {args.html}: cannot be read ({exc.strerror})") from None
    page = extract_page(decode_html(data), url=args.url)
    comparison = compare(copy, live=page)
    if args.json:
        print(json.dumps([comparison.to_json(seed=None, url=args.url, capture=None)],
                         ensure_ascii=False, indent=2))
    else:
        _print_one(ctx, f"{args.seed_copy} vs {args.html}", comparison, None)
    return 1 if comparison.has_problems else 0


def results_exit_code(results: list[SeedResult]) -> int:
    bad = any(r.comparison is None or r.comparison.has_problems for r in results)
    return 1 if bad else 0


def run(ctx: Context, args: argparse.Namespace) -> int:
    if args.seed_copy is not None or args.html is not None:
        return _offline(ctx, args)
    seed_ids = parse_seed_ids(args.seed)
    collection = ctx.collection
    sessions = open_database(ctx.db_url, upgrade_schema=not args.no_store)
    with sessions() as session:
        results = compare_collection(collection, session, seed_ids=seed_ids, run_id=args.run)
        stored = 0
        if not args.no_store:
            stored = store_flags(session, results)
            session.commit()
        if args.json:
            print(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
        else:
            for r in results:
                cap = r.capture
                status = (str(cap.status) if cap and cap.status is not None
                          else (cap.error if cap else "not captured"))
                _print_one(ctx, f"seed {r.seed.id} ({r.seed.outlet}) — {r.seed.url} — {status}",
                           r.comparison, r.problem)
            ctx.out.print(f"{stored} new flag(s) recorded" if not args.no_store
                          else "flags not recorded (--no-store)", highlight=False)
    return results_exit_code(results)
