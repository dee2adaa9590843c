"""The benchmark's arms (bench/arms.py): the plain arm is plain Scrapy with the archive
arm's spider and settings, and bad --set input is refused. No crawl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.conf import build_component_list

import crawler.settings as cs
from bench.arms import ARCHIVE_MIDDLEWARE, Arms, command, describe_settings
from bench.run import _overrides


def _settings(cmd: list[str]) -> dict[str, str]:
    """The -s NAME=VALUE of a command, later ones winning (as Scrapy reads them)."""
    values = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "-s"]
    return dict(value.split("=", 1) for value in values)


def test_plain_arm_differs_from_the_archive_arm_only_in_archiving() -> None:
    arms = Arms(extra={"FOO": "1"}, archive_only={"BAR": "2"})
    plain = _settings(command("plain", Path("DIR"), arms))
    archive = _settings(command("archive", Path("DIR"), arms))
    assert plain.pop("ARCHIVE_ENABLED") == "False"
    middlewares = json.loads(plain.pop("DOWNLOADER_MIDDLEWARES"))
    assert archive.pop("BAR") == "2"
    assert plain == archive
    assert plain["FOO"] == "1" and plain["BENCH_STATS_FILE"] == "DIR/stats.json"
    assert middlewares == {**cs.DOWNLOADER_MIDDLEWARES, ARCHIVE_MIDDLEWARE: None}


def _middlewares(arm: str) -> list[str]:
    """The downloader middlewares Scrapy builds from crawler.settings and the arm's -s."""
    settings = Settings()
    settings.setmodule(cs, priority="project")
    settings.setdict(_settings(command(arm, Path("DIR"), Arms())), priority="cmdline")
    return build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))


def test_scrapy_does_not_list_the_archive_middleware_in_the_plain_arm() -> None:
    plain, archive = _middlewares("plain"), _middlewares("archive")
    assert ARCHIVE_MIDDLEWARE not in plain and ARCHIVE_MIDDLEWARE in archive
    assert "crawler.capture.robots.RobotsTxtMiddleware" in plain
    assert [m for m in archive if m != ARCHIVE_MIDDLEWARE] == plain


def test_via_crawler_runs_the_cli_without_comparison() -> None:
    cmd = command("archive", Path("DIR"), Arms(via="crawler"))
    assert cmd[1:6] == ["-m", "crawler", "--collection", "DIR", "crawl"]
    assert "--no-compare" in cmd
    assert "`crawler crawl --no-compare`" in describe_settings(Arms(via="crawler"), "A")


def test_bad_set_is_refused_with_the_pair() -> None:
    assert _overrides(["A=1", "B==2"]) == {"A": "1", "B": "=2"}
    with pytest.raises(SystemExit, match="'NOEQUALS': expected NAME=VALUE"):
        _overrides(["NOEQUALS"])
