"""Write the collection's CDXJ index, archive/index.cdxj (pywb / cdxj-indexer form).

One sorted line per response record of every closed WARC file in archive/: SURT key,
14-digit timestamp and JSON with url, mime, status, digest, length, offset, filename;
and archive/canonical.cdxj beside it, the canonical URLs the archived pages declare,
which `crawler cite` and `crawler timemap` look URLs up in.
`crawler crawl` refreshes both after each crawl; run this after copying WARC files in.
"""

from __future__ import annotations

import argparse

from crawler.access.cdx import build_index
from crawler.commands import Context

HELP = "write the CDXJ index of the collection's WARC files (archive/index.cdxj)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(ctx: Context, args: argparse.Namespace) -> int:
    result = build_index(ctx.collection.archive_dir)
    ctx.out.print(f"indexed {len(result.warc_files)} WARC files: {result.lines} lines "
                  f"in {result.path}", highlight=False)
    return 0
