"""The commands of the `crawler` command line, one module each.

A command module has HELP, `add_arguments(parser)` and `run(ctx, args) -> int`, and is
thin: it parses, calls one of the packages (capture, access, audit, compare, store,
warc) and prints. It imports no other command; `_render.py` (tables and summaries) and
`_args.py` (options several commands share) are helpers, not commands. `Context` is
what crawler.cli hands every command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.collection import Collection

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class Context:
    """What every command gets: the collection, the database URL and two consoles."""

    collection_path: Path
    db_override: str | None
    out: Console
    err: Console

    @property
    def collection(self) -> Collection:
        return Collection.at(self.collection_path)

    @property
    def db_url(self) -> str:
        return self.db_override or Collection(self.collection_path.resolve()).default_db_url
