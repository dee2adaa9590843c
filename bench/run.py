"""The archiving benchmark: plain Scrapy against `crawler crawl`, alternating, same run.

    python bench/run.py                 # N=2000, 5 repeats; also N=20000, 3 repeats
    python bench/run.py --quick         # N=300, 3 repeats, no large run (a check)
    python bench/run.py --pages 5000 --repeats 5 --large-pages 0

Generates the fixture site (bench/site.py) in a temp dir, serves it on 127.0.0.1
(nginx if installed, else a threaded Python server), then per repeat, alternating
which goes first:
  plain    `python -m scrapy crawl seeds -s ARCHIVE_ENABLED=False ...`
  archive  `python -m crawler --collection DIR crawl ...` (WARC + DB, flags off)
and over each archive run's WARC files, alternating: `crawler verify` (when the
command exists) against `zcat FILE | sha256sum`. Pages/s = seed pages fetched /
crawl phase (bench/stats.py: spider open to spider close, start-up excluded). Peak
RSS is the peak of the summed RSS of the child and its descendants (the WARC writer
process), sampled every 0.1 s. Each crawl also records the host's steal time while it
ran (/proc/stat: CPU time the hypervisor gave other guests), and the table gives the
ratio within each alternated pair, so a noisy host shows as such. Prints a table; a
full run (no --quick) writes it into BENCHMARKS.md between the `bench:results` markers.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.serve import Server, start_server  # noqa: E402
from bench.site import manifest_toml, write_site  # noqa: E402

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
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


@dataclass
class CrawlRun:
    arm: str
    pages: int
    seconds: float  # crawl phase
    wall: float  # whole process
    cpu: float  # user + system of the child
    rss_mb: float
    returncode: int
    stats: dict = field(default_factory=dict)
    warcs: list[Path] = field(default_factory=list)
    collection: Path | None = None
    warc_mb: float = 0.0
    pss_mb: float = 0.0  # peak of the summed PSS of the process tree
    steal: float = 0.0  # CPU seconds the hypervisor gave other guests while it ran (all CPUs)

    @property
    def pps(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


@dataclass
class VerifyRun:
    tool: str
    seconds: float  # whole command
    returncode: int
    megabytes: float  # compressed WARC bytes read
    inner_seconds: float | None = None  # verify's own figure (start-up and DB open excluded)

    @property
    def mbps(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CRAWLER_DB_URL", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _sets(settings: dict[str, str]) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def comparison_switches() -> dict[str, str]:
    """Settings that switch comparison/flagging off, if the crawler has grown any."""
    import crawler.settings as cs

    names = [n for n in dir(cs) if n.isupper() and n.endswith("_ENABLED")
             and n.split("_")[0] in ("COMPARE", "COMPARISON", "FLAGS", "FLAG", "FLAGGING")]
    return {n: "False" for n in names}


def command(arm: str, collection: Path, extra: dict[str, str], *,
            via: str = "scrapy") -> list[str]:
    """The crawl of one arm. The archive arm runs the same Scrapy crawl `crawler crawl`
    runs (`via="crawler"`: the CLI itself, which also checks the seeds before and
    compares, summarises and indexes after the crawl, outside the crawl phase)."""
    settings = {**COMMON, **extra, "BENCH_STATS_FILE": str(collection / "stats.json")}
    if arm == "plain":
        return [sys.executable, "-m", "scrapy", "crawl", "seeds", *_sets(settings),
                *_sets({"ARCHIVE_ENABLED": "False", "CRAWLER_COLLECTION_DIR": str(collection)})]
    if via == "scrapy":
        return [sys.executable, "-m", "scrapy", "crawl", "seeds", *_sets(settings),
                *_sets({"CRAWLER_COLLECTION_DIR": str(collection)})]
    return [sys.executable, "-m", "crawler", "--collection", str(collection), "crawl",
            *(["--no-compare"] if cli_can_skip_compare() else []), *_sets(settings)]


def cli_can_skip_compare() -> bool:
    """`crawler crawl --no-compare` exists (comparison after the crawl switched off)."""
    source = REPO / "crawler" / "commands" / "crawl.py"
    return source.exists() and "--no-compare" in source.read_text()


def _tree(pid: int) -> list[int]:
    """pid and its descendants (Linux: /proc/PID/task/TID/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _rss_kb(pid: int) -> int:
    """RSS of one process in kB from /proc/PID/statm (~0.02 ms); 0 once it is gone."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kb(pid: int) -> int:
    """PSS of one process in kB. /proc/PID/smaps_rollup walks every page of the process
    (~6 ms of CPU for a 200 MB crawl, and it holds the process's memory lock): read
    rarely, or the sampler itself slows the crawl it measures."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and all its descendants (the crawl and its
    WARC writer process) every `interval` s, and their summed PSS every `pss_interval`
    s; keeps the peaks. ru_maxrss would give only the largest single process."""

    def __init__(self, pid: int, interval: float = 0.1, pss_interval: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.pss_every = pid, interval, max(1, round(pss_interval /
                                                                              interval))
        self.peak_rss_kb = self.peak_pss_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:
        ticks = 0
        while not self._halt.wait(self.interval):
            pids = _tree(self.pid)
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_rss_kb(pid) for pid in pids))
            ticks += 1
            if ticks % self.pss_every == 0:
                self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(pid) for pid in pids))

    def stop(self) -> None:
        self._halt.set()
        self.join()


def timed_child(cmd: list[str], *, log: Path, stdout: Path | None = None,
                cwd: Path = REPO) -> tuple[float, float, float, float, int]:
    """Run cmd; returns (wall seconds, cpu seconds, peak RSS MB, peak PSS MB, exit code).

    Peak RSS is the largest sum of the RSS of the process and its descendants seen by
    sampling every 0.1 s (at least the child's own ru_maxrss): pages the crawl and its
    writer process share (the interpreter, libraries) count twice. Peak PSS, sampled
    every 2 s (it is costly to read), counts them once (each process is charged its
    share). The CPU includes the descendants
    it waited for."""
    with log.open("wb") as err, (stdout or log).open("ab") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=out,
                                stderr=err if stdout else subprocess.STDOUT)
        sampler = TreeMemory(proc.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            sampler.stop()
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    rss_kb = max(sampler.peak_rss_kb, usage.ru_maxrss)
    return (wall, usage.ru_utime + usage.ru_stime, rss_kb / 1024, sampler.peak_pss_kb / 1024,
            proc.returncode)


def new_collection(work: Path, name: str, base_url: str, pages: int) -> Path:
    root = work / "runs" / name
    if root.exists():
        shutil.rmtree(root)
    (root / "seeds").mkdir(parents=True)
    (root / "archive").mkdir()
    (root / "seeds" / "manifest.toml").write_text(manifest_toml(base_url, pages))
    return root


def steal_seconds() -> float:
    """CPU time the hypervisor ran something else while this guest's CPUs wanted it,
    summed over the CPUs, since boot (Linux /proc/stat; 0 where there is none). On a
    shared virtual machine it is the noise in every timing here made visible."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") if fields[0] == "cpu" else 0.0
    except (OSError, IndexError, ValueError):
        return 0.0


def crawl(arm: str, *, work: Path, name: str, base_url: str, pages: int,
          extra: dict[str, str], via: str) -> CrawlRun:
    root = new_collection(work, name, base_url, pages)
    cmd = command(arm, root, extra, via=via)
    steal = steal_seconds()
    wall, cpu, rss, pss, code = timed_child(cmd, log=root / "output.log")
    steal = steal_seconds() - steal
    stats_file = root / "stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    run = CrawlRun(arm, int(stats.get("bench/pages", 0)),
                   float(stats.get("bench/crawl_seconds", 0)), wall, cpu, rss, code, stats,
                   sorted((root / "archive").glob("*.warc.gz")), root)
    run.warc_mb = sum(p.stat().st_size for p in run.warcs) / 1e6
    run.pss_mb = pss
    run.steal = steal
    if run.pages != pages or code not in (0,):
        tail = (root / "output.log").read_text(errors="replace")[-2000:]
        print(f"  !! {arm} {name}: {run.pages}/{pages} pages, exit {code}\n{tail}", flush=True)
    if arm == "archive":
        db = root / "provenance.db"
        if db.exists():
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                row = conn.execute("select started_at, ended_at, pages, captures from crawl_runs "
                                   "order by id desc limit 1").fetchone()
            if row and row[1]:
                t = (dt.datetime.fromisoformat(row[1]) - dt.datetime.fromisoformat(row[0]))
                run.stats["bench/db_run_seconds"] = t.total_seconds()
                run.stats["bench/db_pages"], run.stats["bench/db_captures"] = row[2], row[3]
    return run


def verify_runs(run: CrawlRun, *, first: str) -> list[VerifyRun]:
    assert run.collection is not None
    mb = run.warc_mb
    out: list[VerifyRun] = []
    tools = ["verify", "zcat"] if first == "verify" else ["zcat", "verify"]
    for tool in tools:
        if tool == "verify":
            if not (REPO / "crawler" / "commands" / "verify.py").exists():
                continue
            cmd = [sys.executable, "-m", "crawler", "--collection", str(run.collection), "verify",
                   "--json"]
        else:
            cmd = ["bash", "-c", 'for f in "$@"; do zcat "$f" | sha256sum; done', "zcat",
                   *map(str, run.warcs)]
        report = run.collection / f"{tool}.out"
        wall, _, _, _, code = timed_child(cmd, log=run.collection / f"{tool}.log", stdout=report)
        inner = None
        if tool == "verify":
            try:
                inner = float(json.loads(report.read_text()).get("seconds"))
            except (ValueError, TypeError, AttributeError):
                inner = None
            if code != 0:
                print(f"  !! crawler verify exit {code}:\n"
                      f"{report.read_text(errors='replace')[-1500:]}", flush=True)
        out.append(VerifyRun(tool, wall, code, mb, inner))
    return out


def say_crawl(label: str, run: CrawlRun) -> None:
    print(f"{label} {run.arm:8s} {run.pages} pages in {run.seconds:6.2f} s = "
          f"{run.pps:6.1f} pages/s, cpu {run.stats.get('bench/crawl_cpu_seconds', 0):6.1f} s, "
          f"peak RSS {run.rss_mb:6.1f} MB, host steal {run.steal:5.1f} s", flush=True)


def say_verify(label: str, v: VerifyRun) -> None:
    print(f"{label} {v.tool:8s} {v.megabytes:.0f} MB in {v.seconds:6.2f} s = "
          f"{v.mbps:6.1f} MB/s (exit {v.returncode})", flush=True)


def startup_seconds() -> float:
    """Python + crawler CLI start-up (imports of every command), for reference."""
    times = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "crawler", "--version"], cwd=REPO, env=_env(),
                       capture_output=True, check=False)
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def archive_settings() -> str:
    import crawler.settings as cs
    from crawler.warc.write import DEFLATE_LIBRARY

    return (f"ARCHIVE_GZIP_LEVEL={cs.ARCHIVE_GZIP_LEVEL} with {DEFLATE_LIBRARY}, "
            f"ARCHIVE_COMMIT_BATCH={cs.ARCHIVE_COMMIT_BATCH}, writer in its own process")


def machine() -> dict[str, str]:
    model = "unknown"
    mem = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    versions = []
    for dist in ("Scrapy", "Twisted", "warcio", "SQLAlchemy", "lxml", "parsel"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{dist} {metadata.version(dist)}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    return {
        "cores": str(os.cpu_count()), "cpu": model, "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(), "versions": ", ".join(versions),
        "commit": commit or "unknown",
    }


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_runs(values: list[float], spec: str = ".1f") -> str:
    return " / ".join(format(v, spec) for v in values)


def pairs(plain: list[CrawlRun], arch: list[CrawlRun]) -> str:
    """archive pages/s over plain's within each repeat (the two ran back to back)."""
    return fmt_runs([a.pps / p.pps for p, a in zip(plain, arch, strict=False) if p.pps], ".2f")


def report(*, args: argparse.Namespace, server: Server, extra: dict[str, str],
           archive_extra: dict[str, str],
           switches: dict[str, str], runs: list[CrawlRun], large: list[CrawlRun],
           verifies: list[VerifyRun], large_verifies: list[VerifyRun], startup: float,
           info: dict[str, str],
           gen_seconds: float, loads: list[float]) -> str:
    plain = [r for r in runs if r.arm == "plain"]
    arch = [r for r in runs if r.arm == "archive"]
    p_pps, a_pps = med([r.pps for r in plain]), med([r.pps for r in arch])
    ver = [v for v in verifies if v.tool == "verify"]
    zc = [v for v in verifies if v.tool == "zcat"]
    n = args.pages
    lines = []
    add = lines.append
    add(f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, commit {info['commit']}: "
        f"N = {n} article pages, {args.repeats} repeats (alternating A/B)"
        f"{f'; N = {args.large_pages}, {args.large_repeats} repeats' if large else ''}, "
        f"server: {server.kind}.\n")
    add("| measure | plain Scrapy | crawler crawl (archiving) | ratio |")
    add("|---|---|---|---|")
    add(f"| pages/s, N={n} (median; runs) | {p_pps:.1f} ({fmt_runs([r.pps for r in plain])}) "
        f"| {a_pps:.1f} ({fmt_runs([r.pps for r in arch])}) | **{a_pps / p_pps:.3f}x** |")
    add(f"| the ratio within each alternated pair, N={n} | | | {pairs(plain, arch)} |")
    add(f"| host steal time during each crawl, CPU s (both CPUs; runs) "
        f"| {fmt_runs([r.steal for r in plain])} | {fmt_runs([r.steal for r in arch])} | |")
    add(f"| crawl phase s, N={n} (median) | {med([r.seconds for r in plain]):.2f} "
        f"| {med([r.seconds for r in arch]):.2f} | |")
    p_cpu = med([r.stats.get("bench/crawl_cpu_seconds", 0) / max(r.pages, 1) * 1000
                 for r in plain])
    a_cpu = med([r.stats.get("bench/crawl_cpu_seconds", 0) / max(r.pages, 1) * 1000
                 for r in arch])
    add(f"| CPU s per 1000 pages, crawl phase (all threads and the writer process) "
        f"| {p_cpu:.2f} | {a_cpu:.2f} | {a_cpu / p_cpu:.2f}x |")

    def per_k(run: CrawlRun, key: str) -> float:
        return float(run.stats.get(key, 0.0)) / max(run.pages, 1) * 1000

    p_re = med([per_k(r, "bench/reactor_cpu_seconds") for r in plain])
    a_re = med([per_k(r, "bench/reactor_cpu_seconds") for r in arch])
    a_wr = med([per_k(r, "bench/writer_cpu_seconds") for r in arch])
    add(f"| of which the reactor thread | {p_re:.2f} | {a_re:.2f} | {a_re / p_re:.2f}x |")
    p_sw = med([per_k(r, "bench/thread_switches/MainThread") for r in plain])
    a_sw = med([per_k(r, "bench/thread_switches/MainThread") for r in arch])
    add(f"| the reactor thread's voluntary context switches per 1000 pages (it blocked: "
        f"the interpreter lock, a full pipe) | {p_sw:.0f} | {a_sw:.0f} | |")
    a_co = med([per_k(r, "archive/collector_cpu_seconds") for r in arch])
    a_db = med([per_k(r, "archive/writer_commit_seconds") for r in arch])
    add(f"| of which the WARC writer process (records, fsync, and the rows' commits: "
        f"{a_db:.2f} s wall per 1000 pages) | - | {a_wr:.2f} | |")
    add(f"| of which the recorder's thread in the crawl process (reads the writer's events) "
        f"| - | {a_co:.2f} | |")

    def gc_k(run: CrawlRun) -> float:
        return sum(per_k(run, f"bench/gc_seconds/{gen}") for gen in range(3))

    p_gc, a_gc = med([gc_k(r) for r in plain]), med([gc_k(r) for r in arch])
    add(f"| of which garbage collection in the crawl process (all generations) | {p_gc:.2f} "
        f"| {a_gc:.2f} | |")
    p_first = med([r.stats.get("bench/first_response_seconds", 0.0) for r in plain])
    a_first = med([r.stats.get("bench/first_response_seconds", 0.0) for r in arch])
    add(f"| of which: spider open -> first response, s | {p_first:.2f} | {a_first:.2f} "
        f"| archive opens its run and records {n} seeds |")
    ps = med([r.pages / max(r.seconds - r.stats.get("bench/first_response_seconds", 0.0), 1e-9)
              for r in plain])
    as_ = med([r.pages / max(r.seconds - r.stats.get("bench/first_response_seconds", 0.0), 1e-9)
               for r in arch])
    add(f"| pages/s from the first response on (median) | {ps:.1f} | {as_:.1f} "
        f"| {as_ / ps:.3f}x |")
    p_rss, a_rss = med([r.rss_mb for r in plain]), med([r.rss_mb for r in arch])
    add(f"| peak RSS MB, N={n} (median; crawl + writer process summed) | {p_rss:.1f} "
        f"| {a_rss:.1f} | {a_rss - p_rss:+.1f} MB |")
    p_pss, a_pss = med([r.pss_mb for r in plain]), med([r.pss_mb for r in arch])
    add(f"| peak PSS MB, N={n} (median; shared pages counted once) | {p_pss:.1f} "
        f"| {a_pss:.1f} | {a_pss - p_pss:+.1f} MB |")
    pc = med([r.stats.get("bench/crawl_maxrss_mb", 0.0) for r in plain])
    ac = med([r.stats.get("bench/crawl_maxrss_mb", 0.0) for r in arch])
    add(f"| the crawl process alone (its ru_maxrss) | {pc:.1f} | {ac:.1f} | {ac - pc:+.1f} MB |")
    if large:
        lp = [r for r in large if r.arm == "plain"]
        la = [r for r in large if r.arm == "archive"]
        lp_rss, la_rss = med([r.rss_mb for r in lp]), med([r.rss_mb for r in la])
        add(f"| peak RSS MB, N={args.large_pages} | {lp_rss:.1f} | {la_rss:.1f} "
            f"| {la_rss - lp_rss:+.1f} MB |")
        lp_pss, la_pss = med([r.pss_mb for r in lp]), med([r.pss_mb for r in la])
        add(f"| peak PSS MB, N={args.large_pages} | {lp_pss:.1f} | {la_pss:.1f} "
            f"| {la_pss - lp_pss:+.1f} MB (growth beyond plain: "
            f"{(la_pss - a_pss) - (lp_pss - p_pss):+.1f} MB) |")
        add(f"| RSS growth {n} -> {args.large_pages} | {lp_rss - p_rss:+.1f} MB "
            f"| {la_rss - a_rss:+.1f} MB | archive beyond plain: "
            f"{(la_rss - a_rss) - (lp_rss - p_rss):+.1f} MB |")
        lpc = med([r.stats.get("bench/crawl_maxrss_mb", 0.0) for r in lp])
        lac = med([r.stats.get("bench/crawl_maxrss_mb", 0.0) for r in la])
        add(f"| the crawl process alone, N={args.large_pages} | {lpc:.1f} "
            f"| {lac:.1f} | {lac - lpc:+.1f} MB (growth beyond plain: "
            f"{(lac - ac) - (lpc - pc):+.1f} MB) |")
        lpp, lap = med([r.pps for r in lp]), med([r.pps for r in la])
        add(f"| pages/s, N={args.large_pages} (median; runs) | {lpp:.1f} "
            f"({fmt_runs([r.pps for r in lp])}) | {lap:.1f} ({fmt_runs([r.pps for r in la])}) "
            f"| **{lap / lpp:.3f}x** |")
        add(f"| the ratio within each alternated pair, N={args.large_pages} | | "
            f"| {pairs(lp, la)} |")
        add(f"| host steal time during each crawl, CPU s, N={args.large_pages} "
            f"| {fmt_runs([r.steal for r in lp])} | {fmt_runs([r.steal for r in la])} | |")
        lp_re = med([per_k(r, "bench/reactor_cpu_seconds") for r in lp])
        la_re = med([per_k(r, "bench/reactor_cpu_seconds") for r in la])
        add(f"| reactor-thread CPU s per 1000 pages, N={args.large_pages} | {lp_re:.2f} "
            f"| {la_re:.2f} | {la_re / lp_re:.2f}x |")
        add(f"| garbage collection s per 1000 pages, N={args.large_pages} "
            f"| {med([gc_k(r) for r in lp]):.2f} | {med([gc_k(r) for r in la]):.2f} | |")
        lv = [v for v in large_verifies if v.tool == "verify"]
        lz = [v for v in large_verifies if v.tool == "zcat"]
        if lv and lz:
            lz_s, lv_s = med([v.seconds for v in lz]), med([v.seconds for v in lv])
            add(f"| verify vs zcat FILE \\| sha256sum, N={args.large_pages}: "
                f"{lz[0].megabytes:.0f} MB of WARC (median of {len(lv)} alternated; runs) "
                f"| zcat\\|sha256sum {lz_s:.2f} s ({fmt_runs([v.seconds for v in lz], '.2f')}) "
                f"| crawler verify {lv_s:.2f} s ({fmt_runs([v.seconds for v in lv], '.2f')}) "
                f"| {lz_s / lv_s:.3f}x |")
    if zc:
        z = med([v.seconds for v in zc])
        mb = zc[0].megabytes
        if ver:
            v = med([x.seconds for x in ver])
            inner = [x.inner_seconds for x in ver if x.inner_seconds]
            vi = med(inner) if inner else float("nan")
            add(f"| verify vs zcat FILE \\| sha256sum, {mb:.0f} MB of WARC (median s of "
                f"{len(ver)} alternated; range {min(x.seconds for x in zc):.2f}-"
                f"{max(x.seconds for x in zc):.2f} / {min(x.seconds for x in ver):.2f}-"
                f"{max(x.seconds for x in ver):.2f}) "
                f"| zcat\\|sha256sum {z:.2f} s = {mb / z:.0f} MB/s "
                f"| crawler verify {v:.2f} s = {mb / v:.0f} MB/s whole command; "
                f"{vi:.2f} s = {mb / vi:.0f} MB/s its own timing "
                f"| **{z / v:.3f}x** whole; {z / vi:.3f}x own timing "
                f"(CLI start-up alone: {startup:.2f} s) |")
            bad = [x.returncode for x in ver if x.returncode != 0]
            if bad:
                add(f"| verify exit codes | | {bad} (not 0!) | |")
        else:
            add(f"| verify vs zcat FILE \\| sha256sum, {mb:.0f} MB | zcat\\|sha256sum {z:.2f} s "
                f"= {mb / z:.0f} MB/s | `crawler verify` not available when this ran | |")
    a0 = arch[0] if arch else None
    if a0:
        st = a0.stats
        add("")
        add(f"Archive of one N={n} run: {len(a0.warcs)} WARC file(s), "
            f"{a0.warc_mb:.1f} MB compressed, "
            f"{st.get('archive/payload_bytes', 0) / 1e6:.1f} MB of payload, "
            f"{st.get('archive/fetches', 0)} fetches "
            f"(DB: {st.get('bench/db_pages')} pages, {st.get('bench/db_captures')} captures); "
            f"DB run started->ended {st.get('bench/db_run_seconds', float('nan')):.2f} s.")
    add("")
    add("Settings, both arms: " + ", ".join(f"{k}={v}" for k, v in COMMON.items()
                                            if k != "STATS_CLASS")
        + (", " + ", ".join(f"{k}={v}" for k, v in extra.items()) if extra else "")
        + ". Archive arm: crawler/settings.py as committed (" + archive_settings() + ")"
        + (", " + ", ".join(f"{k}={v}" for k, v in archive_extra.items()
                            if k not in extra) if set(archive_extra) - set(extra) else "")
        + (f"; comparison/flags switched off with {', '.join(switches)}" if switches
           else "; flags off: " + (
               ("`crawler crawl --no-compare` (comparison switched off)"
                if cli_can_skip_compare() else
                "`crawler crawl` compares seeds after the crawl, outside the crawl phase")
               if args.via == "crawler" else
               "the archive arm runs the Scrapy crawl of `crawler crawl` (`scrapy crawl seeds`, "
               "archiving on) without the CLI's preflight before and summary, comparison and "
               "CDXJ index after the crawl phase (minutes at N=20,000); `--via crawler` runs "
               "`crawler crawl" + (" --no-compare`" if cli_can_skip_compare() else "`")))
        + ".")
    add(f"Machine: {info['cores']} cores, {info['cpu']}, {info['memory']}, {info['os']}; "
        f"Python {info['python']}; {info['versions']}. Site generated in {gen_seconds:.1f} s. "
        f"1-min load average sampled between runs: {fmt_runs(loads, '.2f')} "
        "(the machine is shared; other work on it shows here).")
    add("")
    add("Commands (DIR = a fresh collection per run, URL = the served site):")
    add("```")
    demo = Path("DIR")
    for arm in ("plain", "archive"):
        cmd = command(arm, demo, {**extra, **(archive_extra if arm == "archive" else {})},
                      via=args.via)
        cmd[0] = "python"
        add(shlex.join(cmd).replace("DIR/stats.json", "DIR/stats.json"))
    add("python -m crawler --collection DIR verify")
    add("for f in DIR/archive/*.warc.gz; do zcat \"$f\" | sha256sum; done")
    add("```")
    return "\n".join(lines)


def write_benchmarks(path: Path, text: str) -> None:
    block = f"{BEGIN}\n{text}\n{END}"
    if path.exists():
        old = path.read_text()
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            path.write_text(head + block + tail)
            return
        path.write_text(old.rstrip() + "\n\n" + block + "\n")
        return
    path.write_text("# Benchmarks\n\nWritten by `python bench/run.py`.\n\n" + block + "\n")


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set {pair!r}: expected NAME=VALUE")
        out[name] = value
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=None, help="article pages (default 2000)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="repeats of each arm (default 5; --quick: 3)")
    ap.add_argument("--verify-repeats", type=int, default=None,
                    help="alternated verify / zcat pairs per repeat (default 3; --quick: 1)")
    ap.add_argument("--quick", action="store_true", help="N=300, no large run, no BENCHMARKS.md")
    ap.add_argument("--large-repeats", type=int, default=3,
                    help="repeats of each arm at --large-pages (default 3)")
    ap.add_argument("--large-pages", type=int, default=None,
                    help="N of the peak-RSS run of each arm (default 20000; 0 = skip)")
    ap.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    ap.add_argument("--via", choices=("scrapy", "crawler"), default="scrapy",
                    help="archive arm: `scrapy crawl seeds` with archiving on (default), or "
                         "`crawler crawl --no-compare` (adds preflight, summary and index "
                         "around the same crawl phase: minutes more at N=20000)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="an extra setting for both arms")
    ap.add_argument("--archive-set", action="append", default=[], metavar="NAME=VALUE",
                    help="an extra setting for the archive arm only (experiments)")
    ap.add_argument("--work", type=Path, help="work folder (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--out", type=Path,
                    help="write results here (default BENCHMARKS.md unless --quick)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on kill
    if args.pages is None:
        args.pages = 300 if args.quick else 2000
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.verify_repeats is None:
        args.verify_repeats = 1 if args.quick else 3
    if args.large_pages is None:
        args.large_pages = 0 if args.quick else 20000
    out = args.out or (None if args.quick else REPO / "BENCHMARKS.md")
    extra = parse_pairs(args.set)
    switches = comparison_switches()
    archive_extra = {**extra, **switches, **parse_pairs(args.archive_set)}

    work = args.work or Path(tempfile.mkdtemp(prefix="crawler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    server: Server | None = None
    try:
        t0 = time.monotonic()
        total = max(args.pages, args.large_pages)
        write_site(work / "site", total)
        gen = time.monotonic() - t0
        print(f"site: {total} articles in {work / 'site'} ({gen:.1f} s)", flush=True)
        server = start_server(work / "site", work / "server", prefer=args.server)
        print(f"server: {server.kind} at {server.base_url}", flush=True)
        startup = startup_seconds()
        runs: list[CrawlRun] = []
        verifies: list[VerifyRun] = []
        loads = [os.getloadavg()[0]]
        for r in range(args.repeats):
            order = ("plain", "archive") if r % 2 == 0 else ("archive", "plain")
            for arm in order:
                run = crawl(arm, work=work, name=f"{arm}-{args.pages}-{r}",
                            base_url=server.base_url, pages=args.pages,
                            extra=archive_extra if arm == "archive" else extra, via=args.via)
                runs.append(run)
                loads.append(os.getloadavg()[0])
                say_crawl(f"repeat {r + 1}", run)
                if arm == "plain" and run.collection:
                    shutil.rmtree(run.collection, ignore_errors=True)
            archived = next(x for x in reversed(runs) if x.arm == "archive")
            for k in range(args.verify_repeats):
                vs = verify_runs(archived, first="verify" if (r + k) % 2 == 0 else "zcat")
                verifies += vs
                for v in vs:
                    say_verify(f"repeat {r + 1}", v)
            if not args.keep and archived.collection:
                shutil.rmtree(archived.collection, ignore_errors=True)
        if not any(v.tool == "verify" for v in verifies):
            print("crawler verify: not available (crawler/commands/verify.py does not exist)")
        large: list[CrawlRun] = []
        large_verifies: list[VerifyRun] = []
        for r in range(args.large_repeats if args.large_pages else 0):
            order = ("plain", "archive") if r % 2 == 0 else ("archive", "plain")
            for arm in order:
                run = crawl(arm, work=work, name=f"{arm}-{args.large_pages}-{r}",
                            base_url=server.base_url, pages=args.large_pages,
                            extra=archive_extra if arm == "archive" else extra, via=args.via)
                large.append(run)
                loads.append(os.getloadavg()[0])
                say_crawl(f"large {r + 1}", run)
                if r + 1 == args.large_repeats and arm == "archive":
                    # the large archive, twice: start-up weighs less in 10x the bytes
                    for first in ("verify", "zcat"):
                        for v in verify_runs(run, first=first):
                            large_verifies.append(v)
                            say_verify(f"large {r + 1}", v)
                if not args.keep and run.collection:
                    shutil.rmtree(run.collection, ignore_errors=True)
        text = report(args=args, server=server, extra=extra, archive_extra=archive_extra,
                      switches=switches, runs=runs,
                      large=large, verifies=verifies, large_verifies=large_verifies,
                      startup=startup, info=machine(),
                      gen_seconds=gen, loads=loads)
        print()
        print(text)
        if out:
            write_benchmarks(out, text)
            print(f"\nwritten to {out}")
        bad = [r for r in runs + large if r.returncode != 0 or r.pages != (
            args.large_pages if r in large else args.pages)]
        return 1 if bad else 0
    finally:
        if server:
            server.stop()
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
