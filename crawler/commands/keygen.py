"""Make an Ed25519 key pair for signing ledger heads (`crawl --sign KEYFILE`).

Writes KEYFILE (the private key, PEM, mode 0600; keep it off the crawl database's
machine if you can) and KEYFILE.pub (the public key, PEM; give it to auditors for
`verify --public-key`). Refuses to overwrite either. Exit 2 if one exists.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.commands import Context
from crawler.store.signing import key_id, load_public_key, write_keypair

HELP = "make an Ed25519 key pair that signs ledger heads"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("keyfile", type=Path, help="where to write the private key (and .pub)")


def run(ctx: Context, args: argparse.Namespace) -> int:
    private, public = write_keypair(args.keyfile)
    ctx.out.print(f"private key: {private} (keep it secret; crawl --sign {private})",
                  highlight=False)
    ctx.out.print(f"public key:  {public} (key id {key_id(load_public_key(public))}; "
                  f"verify --public-key {public})", highlight=False)
    return 0
