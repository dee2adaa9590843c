"""The two arms of the benchmark and the verify runs: their commands, one crawl, its result.

    plain    `python -m scrapy crawl seeds` with crawler/settings.py, but ARCHIVE_ENABLED=False
             and the archive middleware taken out of DOWNLOADER_MIDDLEWARES, so that Scrapy
             does not even load it (it loads every listed class before from_crawler can
             raise NotConfigured): plain Scrapy with the same spider and settings
    archive  the same crawl with archiving on (`--via crawler`: `crawler crawl --no-compare`)

Both arms get COMMON, the bench's stats collector (bench/stats.py) and --set; the archive
arm also --archive-set. `verify_runs` times `crawler verify` against `zcat | sha256sum`
over an archive run's WARC files. Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import REPO, child_env, steal_seconds, timed_child
from bench.site import manifest_toml

#: the settings both arms use
COMMON = {
    "AUTOTHROTTLE_ENABLED": "False",
    "ROBOTSTXT_OBEY": "True",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "LOG_LEVEL": "WARNING",
    "PROGRESS_INTERVAL": "0",
    "STATS_CLASS": "bench.stats.BenchStats",
}
#: the downloader middleware that archives; the plain arm lists it as None
ARCHIVE_MIDDLEWARE = "crawler.capture.middleware.ArchiveMiddleware"
ARMS = ("plain", "archive")


@dataclass(frozen=True)
class Arms:
    """How the two arms are run: settings for both (--set), settings for the archive arm
    only (--archive-set), and whether the archive arm is `scrapy crawl seeds` or the CLI."""

    extra: Mapping[str, str] = field(default_factory=dict)
    archive_only: Mapping[str, str] = field(default_factory=dict)
    via: str = "scrapy"

    def settings(self, arm: str) -> dict[str, str]:
        return {**COMMON, **self.extra, **(self.archive_only if arm == "archive" else {})}


@dataclass(frozen=True)
class ArmRun:
    """One crawl of one arm (named so as not to be taken for crawler.store's CrawlRun)."""

    arm: str
    pages: int  # seed pages fetched (bench/pages)
    wanted: int  # seed pages in the manifest
    seconds: float  # crawl phase (bench/crawl_seconds)
    wall: float = 0.0  # whole process
    cpu: float = 0.0  # user + system of the child
    rss_mb: float = 0.0  # peak of the summed RSS of the process tree
    pss_mb: float = 0.0  # peak of the summed PSS of the process tree
    steal: float = 0.0  # CPU seconds the hypervisor gave other guests while it ran (all CPUs)
    returncode: int = 0
    stats: Mapping[str, Any] = field(default_factory=dict)
    warcs: tuple[Path, ...] = ()
    warc_mb: float = 0.0
    collection: Path | None = None

    @property
    def pps(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.pages == self.wanted

    def per_k(self, key: str) -> float:
        """A stats figure per 1000 pages fetched."""
        return float(self.stats.get(key, 0.0)) / max(self.pages, 1) * 1000


@dataclass(frozen=True)
class VerifyRun:
    """One timed `crawler verify` or `zcat | sha256sum` over one archive run's WARC files."""

    tool: str  # "verify" or "zcat"
    seconds: float  # whole command
    returncode: int
    megabytes: float  # compressed WARC bytes read
    inner_seconds: float | None = None  # verify's own figure (start-up and DB open excluded)
    output: Path | None = None  # its report (verify --json) or digests

    @property
    def mbps(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0


def _sets(settings: Mapping[str, str]) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def plain_middlewares() -> str:
    """crawler/settings.py's DOWNLOADER_MIDDLEWARES with the archive middleware set to None
    (JSON, as `-s` takes a dict setting), so that Scrapy never loads it."""
    import crawler.settings as cs

    middlewares: dict[str, int | None] = dict(cs.DOWNLOADER_MIDDLEWARES)
    if ARCHIVE_MIDDLEWARE not in middlewares:
        raise RuntimeError(f"{ARCHIVE_MIDDLEWARE} is not in crawler.settings."
                           "DOWNLOADER_MIDDLEWARES: the plain arm would not be plain")
    middlewares[ARCHIVE_MIDDLEWARE] = None
    return json.dumps(middlewares, separators=(",", ":"))


def command(arm: str, collection: Path, arms: Arms, *, python: str = sys.executable) -> list[str]:
    """The crawl of one arm. The archive arm runs the same Scrapy crawl `crawler crawl`
    runs (`via="crawler"`: the CLI itself, which also checks the seeds before and
    summarises and indexes after the crawl, outside the crawl phase)."""
    settings = {**arms.settings(arm), "BENCH_STATS_FILE": str(collection / "stats.json")}
    if arm == "plain":
        return [python, "-m", "scrapy", "crawl", "seeds", *_sets(settings),
                *_sets({"ARCHIVE_ENABLED": "False",
                        "DOWNLOADER_MIDDLEWARES": plain_middlewares(),
                        "CRAWLER_COLLECTION_DIR": str(collection)})]
    if arms.via == "scrapy":
        return [python, "-m", "scrapy", "crawl", "seeds", *_sets(settings),
                *_sets({"CRAWLER_COLLECTION_DIR": str(collection)})]
    return [python, "-m", "crawler", "--collection", str(collection), "crawl", "--no-compare",
            *_sets(settings)]


def new_collection(work: Path, name: str, base_url: str, pages: int) -> Path:
    """A fresh collection under work/runs/ whose manifest lists the site's first `pages`."""
    root = work / "runs" / name
    if root.exists():
        shutil.rmtree(root)
    (root / "seeds").mkdir(parents=True)
    (root / "archive").mkdir()
    (root / "seeds" / "manifest.toml").write_text(manifest_toml(base_url, pages))
    return root


def _db_run(root: Path) -> dict[str, Any]:
    """The archive run's own record of itself: started -> ended, pages and captures."""
    db = root / "provenance.db"
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("select started_at, ended_at, pages, captures from crawl_runs "
                           "order by id desc limit 1").fetchone()
    if not row or not row[1]:
        return {}
    span = dt.datetime.fromisoformat(row[1]) - dt.datetime.fromisoformat(row[0])
    return {"bench/db_run_seconds": span.total_seconds(), "bench/db_pages": row[2],
            "bench/db_captures": row[3]}


def crawl(arm: str, *, work: Path, name: str, base_url: str, pages: int, arms: Arms) -> ArmRun:
    """One crawl of `arm` over the site's first `pages` articles, in a fresh collection."""
    root = new_collection(work, name, base_url, pages)
    steal = steal_seconds()
    child = timed_child(command(arm, root, arms), log=root / "output.log")
    steal = steal_seconds() - steal
    stats_file = root / "stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    if arm == "archive":
        stats.update(_db_run(root))
    warcs = tuple(sorted((root / "archive").glob("*.warc.gz")))
    return ArmRun(arm=arm, pages=int(stats.get("bench/pages", 0)), wanted=pages,
                  seconds=float(stats.get("bench/crawl_seconds", 0)), wall=child.wall,
                  cpu=child.cpu, rss_mb=child.rss_mb, pss_mb=child.pss_mb, steal=steal,
                  returncode=child.returncode, stats=stats, warcs=warcs,
                  warc_mb=sum(p.stat().st_size for p in warcs) / 1e6, collection=root)


def verify_command(tool: str, run: ArmRun) -> list[str]:
    assert run.collection is not None
    if tool == "verify":
        return [sys.executable, "-m", "crawler", "--collection", str(run.collection), "verify",
                "--json"]
    return ["bash", "-c", 'for f in "$@"; do zcat "$f" | sha256sum; done', "zcat",
            *map(str, run.warcs)]


def verify_runs(run: ArmRun, *, first: str) -> list[VerifyRun]:
    """`crawler verify` and `zcat | sha256sum` over the WARC files of `run`, `first` first."""
    assert run.collection is not None
    out: list[VerifyRun] = []
    for tool in (first, "zcat" if first == "verify" else "verify"):
        report = run.collection / f"{tool}.out"
        child = timed_child(verify_command(tool, run), log=run.collection / f"{tool}.log",
                            stdout=report)
        inner = None
        if tool == "verify":
            try:
                inner = float(json.loads(report.read_text()).get("seconds"))
            except (ValueError, TypeError, AttributeError):
                inner = None
        out.append(VerifyRun(tool, child.wall, child.returncode, run.warc_mb, inner, report))
    return out


def startup_seconds() -> float:
    """Python + crawler CLI start-up (imports of every command), for reference."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "crawler", "--version"], cwd=REPO,
                       env=child_env(), capture_output=True, check=False)
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def archive_settings() -> str:
    """What the archive arm's crawler/settings.py sets that its speed depends on."""
    import crawler.settings as cs
    from crawler.warc.write import DEFLATE_LIBRARY

    return (f"ARCHIVE_GZIP_LEVEL={cs.ARCHIVE_GZIP_LEVEL} with {DEFLATE_LIBRARY}, "
            f"ARCHIVE_COMMIT_BATCH={cs.ARCHIVE_COMMIT_BATCH}, writer in its own process")


def describe_settings(arms: Arms, archive: str) -> str:
    """The sentence of the results that says what each arm was run with (`archive`:
    archive_settings())."""
    both = [f"{k}={v}" for k, v in {**COMMON, **arms.extra}.items() if k != "STATS_CLASS"]
    archive_arm = f"crawler/settings.py as committed ({archive})" + "".join(
        f", {k}={v}" for k, v in arms.archive_only.items())
    if arms.via == "crawler":
        how = "`crawler crawl --no-compare` (comparison switched off)"
    else:
        how = ("the archive arm runs the Scrapy crawl of `crawler crawl` (`scrapy crawl seeds`, "
               "archiving on) without the CLI's preflight before and summary, comparison and "
               "CDXJ index after the crawl phase (minutes at N=20,000); `--via crawler` runs "
               "`crawler crawl --no-compare`")
    return f"Settings, both arms: {', '.join(both)}. Archive arm: {archive_arm}; flags off: {how}."


def example_commands(arms: Arms) -> list[str]:
    """The commands of the results, with DIR for a collection."""
    crawls = [shlex.join(command(arm, Path("DIR"), arms, python="python")) for arm in ARMS]
    return [*crawls, "python -m crawler --collection DIR verify",
            'for f in DIR/archive/*.warc.gz; do zcat "$f" | sha256sum; done']


@dataclass(frozen=True)
class Round:
    """The alternated crawls of both arms at one size, and the verify runs over them."""

    pages: int
    repeats: int
    runs: tuple[ArmRun, ...]
    verifies: tuple[VerifyRun, ...] = ()

    def of(self, arm: str) -> list[ArmRun]:
        return [r for r in self.runs if r.arm == arm]
