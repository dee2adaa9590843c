"""The benchmark's results table (bench/table.py): the medians and ratios it prints, the
rows and columns earlier results are compared by, and BENCHMARKS.md's block. No crawl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from bench.arms import ArmRun, Round, VerifyRun
from bench.table import BEGIN, END, Context, Summary, render, write_benchmarks

PAGES = 100


def _run(arm: str, seconds: float, pages: int = PAGES, **figures: float) -> ArmRun:
    """A crawl of `pages` pages; `figures` are bench/stats.py's counters per 1000 pages."""
    stats = {key.replace("__", "/"): value * pages / 1000 for key, value in figures.items()}
    return ArmRun(arm=arm, pages=pages, wanted=pages, seconds=seconds,
                  rss_mb=figures.get("rss", 0.0), pss_mb=figures.get("pss", 0.0),
                  stats=stats, warcs=(Path("a.warc.gz"),), warc_mb=12.5)


def _round(pages: int = PAGES) -> Round:
    """Three alternated pairs. At PAGES, pages/s: plain 100, 50, 25; archive 50, 40, 20."""
    plain = [_run("plain", s, pages, bench__crawl_cpu_seconds=c, rss=r, pss=r - 10)
             for s, c, r in ((1.0, 4.0, 120.0), (2.0, 5.0, 121.0), (4.0, 6.0, 125.0))]
    archive = [_run("archive", s, pages, bench__crawl_cpu_seconds=c, rss=r, pss=r - 20)
               for s, c, r in ((2.0, 6.0, 150.0), (2.5, 7.5, 151.0), (5.0, 9.0, 149.0))]
    runs = (plain[0], archive[0], archive[1], plain[1], plain[2], archive[2])
    verifies = (VerifyRun("verify", 1.0, 0, 112.0, 0.5), VerifyRun("zcat", 0.8, 0, 112.0),
                VerifyRun("zcat", 0.9, 0, 112.0), VerifyRun("verify", 1.2, 3, 112.0, 0.7))
    return Round(pages=pages, repeats=3, runs=runs, verifies=verifies)


CTX = Context(when=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), server="nginx 1.22.1",
              machine={"cores": "2", "cpu": "CPU", "memory": "1.0 GiB", "os": "Linux 6",
                       "python": "3.11.7", "versions": "Scrapy 2.19.0", "commit": "abc1234"},
              settings="Settings, both arms: X=1.", commands=["python -m scrapy crawl seeds"],
              startup=0.11, gen_seconds=1.5, loads=[0.5, 1.25])

#: the first cell of every row, in order: earlier results are compared row by row
SMALL_ROWS = [
    "pages/s, N=100 (median; runs)",
    "the ratio within each alternated pair, N=100",
    "host steal time during each crawl, CPU s (both CPUs; runs)",
    "crawl phase s, N=100 (median)",
    "CPU s per 1000 pages, crawl phase (all threads and the writer process)",
    "of which the reactor thread",
    "the reactor thread's voluntary context switches per 1000 pages",
    "of which the WARC writer process (records, fsync, and the rows' commits:",
    "of which the recorder's thread in the crawl process (reads the writer's events)",
    "of which garbage collection in the crawl process (all generations)",
    "of which: spider open -> first response, s",
    "pages/s from the first response on (median)",
    "peak RSS MB, N=100 (median; crawl + writer process summed)",
    "peak PSS MB, N=100 (median; shared pages counted once)",
    "the crawl process alone (its ru_maxrss)",
]
LARGE_ROWS = [
    "peak RSS MB, N=1000",
    "peak PSS MB, N=1000",
    "RSS growth 100 -> 1000",
    "the crawl process alone, N=1000",
    "pages/s, N=1000 (median; runs)",
    "the ratio within each alternated pair, N=1000",
    "host steal time during each crawl, CPU s, N=1000",
    "reactor-thread CPU s per 1000 pages, N=1000",
    "garbage collection s per 1000 pages, N=1000",
    "verify vs zcat FILE \\| sha256sum, N=1000:",
]
VERIFY_ROWS = ["verify vs zcat FILE \\| sha256sum, 112 MB of WARC", "verify exit codes"]


def _rows(text: str) -> list[list[str]]:
    """The table's rows as cells (an escaped \\| stays inside its cell)."""
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            for line in text.splitlines() if line.startswith("| ")]


def test_summary_takes_medians_and_pairs() -> None:
    s = Summary.of(_round())
    assert (s.plain.pps, s.archive.pps) == (50.0, 40.0)
    assert s.plain.pps_runs == (100.0, 50.0, 25.0)  # in the order they ran
    assert s.pairs == (0.5, 0.8, 0.8)
    assert (s.plain.seconds, s.archive.seconds) == (2.0, 2.5)
    assert s.plain.cpu_k == pytest.approx(5.0) and s.archive.cpu_k == pytest.approx(7.5)
    assert (s.plain.rss_mb, s.archive.pss_mb) == (121.0, 130.0)
    v = s.verify
    assert v is not None
    assert (v.count, v.bad, v.megabytes) == (2, (3,), 112.0)
    assert (v.zcat, v.verify, v.inner) == pytest.approx((0.85, 1.1, 0.6))


def test_table_rows_columns_and_ratios() -> None:
    text = render(Summary.of(_round()), None, CTX)
    assert text.splitlines()[0] == ("Run 2026-01-02 03:04 UTC, commit abc1234: N = 100 article "
                                    "pages, 3 repeats (alternating A/B), server: nginx 1.22.1.")
    rows = _rows(text)
    assert rows[0] == ["measure", "plain Scrapy", "crawler crawl (archiving)", "ratio"]
    assert all(len(row) == 4 for row in rows)
    labels = [row[0] for row in rows[1:]]
    assert len(labels) == len(SMALL_ROWS + VERIFY_ROWS)
    assert all(label.startswith(want) for label, want in zip(labels, SMALL_ROWS + VERIFY_ROWS,
                                                             strict=True))
    by_label = {row[0]: row[1:] for row in rows}
    assert by_label[SMALL_ROWS[0]] == ["50.0 (100.0 / 50.0 / 25.0)", "40.0 (50.0 / 40.0 / 20.0)",
                                       "**0.800x**"]
    assert by_label[SMALL_ROWS[1]] == ["", "", "0.50 / 0.80 / 0.80"]
    assert by_label[SMALL_ROWS[4]] == ["5.00", "7.50", "1.50x"]
    assert by_label[SMALL_ROWS[12]] == ["121.0", "150.0", "+29.0 MB"]
    verify = next(cells for label, cells in by_label.items() if label.startswith(VERIFY_ROWS[0]))
    assert verify[0] == "zcat\\|sha256sum 0.85 s = 132 MB/s"
    assert verify[2].startswith("**0.773x** whole; 1.417x own timing")
    assert by_label["verify exit codes"] == ["", "[3] (not 0!)", ""]
    assert "Archive of one N=100 run: 1 WARC file(s), 12.5 MB compressed" in text
    assert text.endswith("```\npython -m scrapy crawl seeds\n```")


def test_large_rows_follow_the_small_ones() -> None:
    large = dataclasses.replace(_round(pages=1000), verifies=_round().verifies[:2])
    text = render(Summary.of(_round()), Summary.of(large), CTX)
    assert "(alternating A/B); N = 1000, 3 repeats, server:" in text.splitlines()[0]
    rows = _rows(text)
    assert all(len(row) == 4 for row in rows)
    labels = [row[0] for row in rows[1:]]
    assert all(label.startswith(want) for label, want in
               zip(labels, SMALL_ROWS + LARGE_ROWS + VERIFY_ROWS, strict=True))
    by_label = {row[0]: row[1:] for row in rows}
    # growth is measured from the small N's medians: plain 121 -> 121, archive 150 -> 150
    assert by_label["RSS growth 100 -> 1000"] == ["+0.0 MB", "+0.0 MB",
                                                  "archive beyond plain: +0.0 MB"]


def test_a_failed_plain_arm_gives_nan_not_an_error() -> None:
    runs = (ArmRun(arm="plain", pages=0, wanted=PAGES, seconds=0.0, returncode=1),
            _run("archive", 2.0))
    text = render(Summary.of(Round(pages=PAGES, repeats=1, runs=runs)), None, CTX)
    assert "| 0.0 (0.0) | 50.0 (50.0) | **nanx** |" in text
    assert "| of which the reactor thread | 0.00 | 0.00 | nanx |" in text


def test_write_benchmarks_replaces_only_the_block(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    head = "# Benchmarks\n\nBy hand, before.\n\n"
    tail = "\n\n## By hand, after\n\nkept as it is\n"
    path.write_text(f"{head}{BEGIN}\nold results\nmore old results\n{END}{tail}")
    write_benchmarks(path, "new results")
    assert path.read_text() == f"{head}{BEGIN}\nnew results\n{END}{tail}"
    write_benchmarks(path, "newer")
    assert path.read_text() == f"{head}{BEGIN}\nnewer\n{END}{tail}"


def test_write_benchmarks_without_markers(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Notes\n\ntext\n\n")
    write_benchmarks(path, "results")
    assert path.read_text() == f"# Notes\n\ntext\n\n{BEGIN}\nresults\n{END}\n"
    fresh = tmp_path / "new.md"
    write_benchmarks(fresh, "results")
    assert fresh.read_text().endswith(f"\n\n{BEGIN}\nresults\n{END}\n")
