"""The command line's start-up: commands found without importing them, help complete.

`crawler.cli` reads each command's NAME, HELP and docstring from its source and
imports only the command being run; these tests hold it to what importing every
module would say.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from crawler.cli import build_parser, command_registry
from helpers import run_cli


def test_registry_says_what_the_modules_say() -> None:
    registry = command_registry()
    assert {"crawl", "verify", "ledger", "reindex"} <= set(registry)
    for name, command in registry.items():
        module = command.load()
        assert getattr(module, "NAME", name.replace("_", "-")) == name
        assert command.help == module.HELP
        assert command.description == module.__doc__
        assert callable(module.add_arguments) and callable(module.run)


def test_top_level_help_lists_every_command() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name, command in command_registry().items():
        assert name in proc.stdout
        assert command.help and command.help.split()[0] in proc.stdout


@pytest.mark.parametrize("name", ["verify", "crawl", "ledger"])
def test_command_help_has_its_own_options(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    full, _ = build_parser()  # every command imported, as the CLI did before
    with pytest.raises(SystemExit):
        full.parse_args([name, "--help"])
    expected = capsys.readouterr().out
    proc = run_cli(name, "--help")
    assert proc.returncode == 0
    assert "--collection" in proc.stdout and proc.stdout.split() == expected.split()


def test_only_the_command_run_is_imported() -> None:
    code = ("import sys; from crawler.cli import build_parser; build_parser(['verify', '--help']);"
            "print(sorted(m for m in sys.modules if m.startswith('crawler.commands.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "['crawler.commands.verify']"


def test_a_value_that_names_a_command_does_not_confuse_the_parse() -> None:
    argv = ["--collection", "crawl", "verify", "--run", "3"]
    parser, modules = build_parser(argv)
    args = parser.parse_args(argv)
    assert (args.command, args.collection, args.run) == ("verify", "crawl", 3)
    assert "verify" in modules


def test_unknown_command_is_bad_input() -> None:
    proc = run_cli("no-such-command")
    assert proc.returncode == 2
    assert "invalid choice: 'no-such-command'" in proc.stderr
