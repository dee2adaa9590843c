"""The `crawler` command line: a thin layer over the package's modules.

Every command takes `--collection DIR` and `--db URL`, before or after its name.
Commands live in crawler/commands/, one module each, found at start-up: a module
there defines HELP, `add_arguments(parser)` and `run(ctx, args) -> int` (modules
whose name starts with `_` are helpers). Start-up reads each command's NAME, HELP
and docstring from its source without importing it, and imports only the command
being run: most commands pull in heavy libraries (trafilatura, lxml, SQLAlchemy,
pywb's helpers) that would otherwise cost every command over a second.
Exit codes: 0 all well, 1 problems found, 2 bad input (crawler.errors).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import logging
import sys
from collections.abc import Collection as Names
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from crawler import __version__, commands
from crawler import settings as defaults
from crawler.commands import Context
from crawler.errors import EXIT_BAD_INPUT, CrawlerError

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Command:
    """A command module as its source declares it; `load()` imports it."""

    name: str
    module: str
    help: str | None
    description: str | None

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


def _constants(tree: ast.Module, names: Names[str]) -> dict[str, object]:
    """Module-level `NAME = <literal>` assignments among `names`."""
    found: dict[str, object] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in names):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # not a literal: read from the imported module instead
    return found


def _describe(path: Path) -> Command:
    module = f"{commands.__name__}.{path.stem}"
    tree = ast.parse(path.read_bytes(), filename=str(path))
    found = _constants(tree, ("NAME", "HELP"))
    if not isinstance(found.get("HELP"), str) or not isinstance(found.get("NAME", ""), str):
        # HELP or NAME is computed: import the module to read them (slower, still right)
        loaded = importlib.import_module(module)
        found = {"HELP": loaded.HELP, "NAME": getattr(loaded, "NAME", None)}
    name = found.get("NAME") or path.stem.replace("_", "-")
    return Command(str(name), module, str(found["HELP"]), ast.get_docstring(tree, clean=False))


def command_registry() -> dict[str, Command]:
    """Every command in crawler/commands/, by name, sorted; none of them imported."""
    folder = Path(commands.__file__).parent
    found = [_describe(path) for path in sorted(folder.glob("*.py"))
             if not path.name.startswith("_")]
    return {command.name: command for command in sorted(found, key=lambda c: c.name)}


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


def build_parser(
    argv: Sequence[str] | None = None,
) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The parser, and the command modules it imported to add their arguments.

    Only commands named somewhere in `argv` are imported (all of them if `argv` is
    None): argparse needs a command's own arguments only when it parses or explains
    that command. Every word of argv that names a command counts, so a value that
    happens to be a command's name (`--collection crawl verify`) costs an extra
    import, never a wrong parse.
    """
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Archival web crawler with provenance tracking.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None if argv is None else set(argv)
    modules: dict[str, ModuleType] = {}
    for name, command in command_registry().items():
        p = sub.add_parser(name, help=command.help, description=command.description)
        _global_options(p, suppress=True)
        if wanted is None or name in wanted:
            modules[name] = command.load()
            modules[name].add_arguments(p)
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
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, modules = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    _setup_logging(verbose=args.verbose)
    from rich.console import Console  # here, not at the top: `--help` needs no rich
    from rich.markup import escape

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
