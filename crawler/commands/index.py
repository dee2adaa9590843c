"""Write the collection's CDXJ index, archive/index.cdxj (pywb / cdxj-indexer form).

One sorted line per response record of every closed WARC file in archive/: SURT key,
14-digit timestamp and JSON with url, mime, status, digest, length, offset, filename.
`crawler crawl` refreshes it after each crawl; run this after copying WARC files in.
"""

from __future__ import annotations

import argparse
from typing import Any

HELP = "write the CDXJ index of the collection's WARC files (archive/index.cdxj)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def refresh_index(ctx: Any) -> bool:
    """Rebuild the index after a crawl; reports a failure instead of raising it."""
    from crawler.access.cdx import build_index  # lazily: cdxj-indexer takes a while to import
    from crawler.errors import CrawlerError

    try:
        result = build_index(ctx.collection.archive_dir)
    except (CrawlerError, OSError, ValueError) as exc:
        ctx.err.print(f"[red]index not updated:[/] {exc}", highlight=False)
        return False
    ctx.out.print(f"index: {result.path} ({result.lines} lines)", highlight=False)
    return True


def run(ctx: Any, args: argparse.Namespace) -> int:
    from crawler.access.cdx import (
        build_index,  # lazily: every command's start-up imports this module
    )

    result = build_index(ctx.collection.archive_dir)
    ctx.out.print(f"indexed {len(result.warc_files)} WARC files: {result.lines} lines "
                  f"in {result.path}", highlight=False)
    return 0
