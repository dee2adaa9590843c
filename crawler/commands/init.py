"""Create an empty collection: seeds/manifest.toml, archive/ and the database."""

from __future__ import annotations

import argparse

from crawler.collection import Collection, init_collection
from crawler.commands import Context
from crawler.store.db import open_database

HELP = "create an empty collection folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", help="folder to create the collection in")
    parser.add_argument("--name", help="collection name (default: the folder's name)")


def run(ctx: Context, args: argparse.Namespace) -> int:
    collection = init_collection(args.dir, name=args.name)
    db_url = ctx.db_override or Collection(collection.root).default_db_url
    open_database(db_url)
    ctx.out.print(f"created collection {collection.root}")
    ctx.out.print(f"  seeds:    {collection.manifest_path} (add [[seed]] tables and seed copies)",
                  markup=False)
    ctx.out.print(f"  archive:  {collection.archive_dir}")
    ctx.out.print(f"  database: {db_url}")
    return 0
