"""The `crawler` command line: a thin layer over the package's modules.

Every command takes `--collection DIR` and `--db URL`, before or after its name.
Commands live in crawler/commands/, one module each, found at start-up: a module
there defines HELP, `add_arguments(parser)` and `run(ctx, args) -> int`.
Exit codes: 0 all well, 1 problems found, 2 bad input (crawler.errors).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from rich.console import Console
from rich.markup import escape

from crawler import __version__, commands
from crawler import settings as defaults
from crawler.collection import Collection
from crawler.errors import EXIT_BAD_INPUT, CrawlerError


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


def _command_modules() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"crawler.commands.{info.name}")
        found[getattr(module, "NAME", info.name.replace("_", "-"))] = module
    return found


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--collection", metavar="DIR", default=default if suppress else ".",
                        help="collection folder (seeds/, archive/, provenance.db); default: .")
    parser.add_argument("--db", metavar="URL", default=default,
                        help="SQLAlchemy database URL (default: CRAWLER_DB_URL or "
                             "sqlite:///<collection>/provenance.db)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="log what the crawler does")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Archival web crawler with provenance tracking.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _command_modules()
    for name, module in modules.items():
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        _global_options(p, suppress=True)
        module.add_arguments(p)
    return parser, modules


class _BriefFormatter(logging.Formatter):
    """One line per message: tracebacks only with --verbose."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(*, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setLevel(logging.WARNING)
        handler.setFormatter(_BriefFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    _setup_logging(verbose=args.verbose)
    ctx = Context(
        collection_path=Path(args.collection).expanduser(),
        db_override=args.db or defaults.PROVENANCE_DB_URL or None,
        out=Console(width=None if sys.stdout.isatty() else 200),
        err=Console(stderr=True, width=None if sys.stderr.isatty() else 200),
    )
    try:
        return int(modules[args.command].run(ctx, args))
    except CrawlerError as exc:
        ctx.err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
