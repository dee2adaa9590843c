"""Options that several commands share, spelled once."""

from __future__ import annotations

import argparse


def add_selection(parser: argparse.ArgumentParser) -> None:
    """--seed and --run: which captures a comparison or report covers."""
    parser.add_argument("--seed", action="append", default=[], metavar="ID",
                        help="only this seed (repeatable, or comma-separated)")
    parser.add_argument("--run", type=int, metavar="N",
                        help="the captures of this crawl run (default: each seed's newest)")
