"""The results table: medians of each arm's runs, the Markdown they are printed as, and
writing it into BENCHMARKS.md between the `bench:results` markers.

`Summary.of(round)` computes, once for each size, every median the table shows;
`render` lays out the rows for N and, if there was one, the large N; `write_benchmarks`
replaces the block between the markers and leaves the rest of the file as it was.
Pure: nothing here runs a process or reads a clock.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.arms import ArmRun, Round, VerifyRun

BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
NAN = float("nan")


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else NAN


def ratio(a: float, b: float) -> float:
    return a / b if b else NAN


def fmt_runs(values: Sequence[float], spec: str = ".1f") -> str:
    return " / ".join(format(v, spec) for v in values)


@dataclass(frozen=True)
class ArmSummary:
    """Medians over the runs of one arm at one size (per_k: per 1000 pages fetched)."""

    pps: float
    pps_runs: tuple[float, ...]
    steal_runs: tuple[float, ...]
    seconds: float  # crawl phase
    cpu_k: float  # the crawl process, all threads, and the writer process
    reactor_k: float
    writer_k: float
    commit_k: float  # the writer's commits, wall
    collector_k: float  # the recorder's thread in the crawl process
    switches_k: float  # the reactor thread's voluntary context switches
    gc_k: float  # all generations
    first_response: float  # spider open -> first response, s
    pps_after_first: float  # pages/s from the first response on
    rss_mb: float
    pss_mb: float
    crawl_rss_mb: float  # the crawl process alone (its ru_maxrss)

    @classmethod
    def of(cls, runs: Sequence[ArmRun]) -> ArmSummary:
        def per_k(key: str) -> float:
            return med([r.per_k(key) for r in runs])

        def first(r: ArmRun) -> float:
            return float(r.stats.get("bench/first_response_seconds", 0.0))

        return cls(
            pps=med([r.pps for r in runs]), pps_runs=tuple(r.pps for r in runs),
            steal_runs=tuple(r.steal for r in runs), seconds=med([r.seconds for r in runs]),
            cpu_k=per_k("bench/crawl_cpu_seconds"), reactor_k=per_k("bench/reactor_cpu_seconds"),
            writer_k=per_k("bench/writer_cpu_seconds"),
            commit_k=per_k("archive/writer_commit_seconds"),
            collector_k=per_k("archive/collector_cpu_seconds"),
            switches_k=per_k("bench/thread_switches/MainThread"),
            gc_k=med([sum(r.per_k(f"bench/gc_seconds/{gen}") for gen in range(3))
                      for r in runs]),
            first_response=med([first(r) for r in runs]),
            pps_after_first=med([r.pages / max(r.seconds - first(r), 1e-9) for r in runs]),
            rss_mb=med([r.rss_mb for r in runs]), pss_mb=med([r.pss_mb for r in runs]),
            crawl_rss_mb=med([float(r.stats.get("bench/crawl_maxrss_mb", 0.0)) for r in runs]),
        )


@dataclass(frozen=True)
class VerifySummary:
    """`crawler verify` against `zcat | sha256sum` over the same WARC files."""

    count: int  # verify runs
    megabytes: float
    zcat: float  # median seconds
    verify: float
    inner: float  # median of verify's own timing
    zcat_runs: tuple[float, ...]
    verify_runs: tuple[float, ...]
    bad: tuple[int, ...]  # verify's exit codes other than 0

    @classmethod
    def of(cls, verifies: Sequence[VerifyRun]) -> VerifySummary | None:
        ver = [v for v in verifies if v.tool == "verify"]
        zc = [v for v in verifies if v.tool == "zcat"]
        if not (ver and zc):
            return None
        inner = [v.inner_seconds for v in ver if v.inner_seconds]
        return cls(count=len(ver), megabytes=zc[0].megabytes,
                   zcat=med([v.seconds for v in zc]), verify=med([v.seconds for v in ver]),
                   inner=med(inner), zcat_runs=tuple(v.seconds for v in zc),
                   verify_runs=tuple(v.seconds for v in ver),
                   bad=tuple(v.returncode for v in ver if v.returncode != 0))


@dataclass(frozen=True)
class Summary:
    """Everything the table shows of one size: both arms, the pairs, the verify runs."""

    pages: int
    repeats: int
    plain: ArmSummary
    archive: ArmSummary
    pairs: tuple[float, ...]  # archive pages/s over plain's, per alternated pair
    verify: VerifySummary | None
    first_archive: ArmRun | None  # described below the table

    @classmethod
    def of(cls, round_: Round) -> Summary:
        plain, archive = round_.of("plain"), round_.of("archive")
        return cls(pages=round_.pages, repeats=round_.repeats, plain=ArmSummary.of(plain),
                   archive=ArmSummary.of(archive),
                   pairs=tuple(a.pps / p.pps for p, a in zip(plain, archive, strict=False)
                               if p.pps),
                   verify=VerifySummary.of(round_.verifies),
                   first_archive=archive[0] if archive else None)


@dataclass(frozen=True)
class Context:
    """What the lines around the table say: when, where, with what."""

    when: dt.datetime
    server: str
    machine: Mapping[str, str]
    settings: str  # arms.describe_settings()
    commands: Sequence[str]
    startup: float  # seconds the CLI takes to start
    gen_seconds: float  # generating the site
    loads: Sequence[float]


def _size_rows(s: Summary) -> list[str]:
    n, p, a = s.pages, s.plain, s.archive
    return [
        f"| pages/s, N={n} (median; runs) | {p.pps:.1f} ({fmt_runs(p.pps_runs)}) "
        f"| {a.pps:.1f} ({fmt_runs(a.pps_runs)}) | **{ratio(a.pps, p.pps):.3f}x** |",
        f"| the ratio within each alternated pair, N={n} | | | {fmt_runs(s.pairs, '.2f')} |",
        f"| host steal time during each crawl, CPU s (both CPUs; runs) "
        f"| {fmt_runs(p.steal_runs)} | {fmt_runs(a.steal_runs)} | |",
        f"| crawl phase s, N={n} (median) | {p.seconds:.2f} | {a.seconds:.2f} | |",
        f"| CPU s per 1000 pages, crawl phase (all threads and the writer process) "
        f"| {p.cpu_k:.2f} | {a.cpu_k:.2f} | {ratio(a.cpu_k, p.cpu_k):.2f}x |",
        f"| of which the reactor thread | {p.reactor_k:.2f} | {a.reactor_k:.2f} "
        f"| {ratio(a.reactor_k, p.reactor_k):.2f}x |",
        f"| the reactor thread's voluntary context switches per 1000 pages (it blocked: "
        f"the interpreter lock, a full pipe) | {p.switches_k:.0f} | {a.switches_k:.0f} | |",
        f"| of which the WARC writer process (records, fsync, and the rows' commits: "
        f"{a.commit_k:.2f} s wall per 1000 pages) | - | {a.writer_k:.2f} | |",
        f"| of which the recorder's thread in the crawl process (reads the writer's events) "
        f"| - | {a.collector_k:.2f} | |",
        f"| of which garbage collection in the crawl process (all generations) | {p.gc_k:.2f} "
        f"| {a.gc_k:.2f} | |",
        f"| of which: spider open -> first response, s | {p.first_response:.2f} "
        f"| {a.first_response:.2f} | archive opens its run and records {n} seeds |",
        f"| pages/s from the first response on (median) | {p.pps_after_first:.1f} "
        f"| {a.pps_after_first:.1f} | {ratio(a.pps_after_first, p.pps_after_first):.3f}x |",
        f"| peak RSS MB, N={n} (median; crawl + writer process summed) | {p.rss_mb:.1f} "
        f"| {a.rss_mb:.1f} | {a.rss_mb - p.rss_mb:+.1f} MB |",
        f"| peak PSS MB, N={n} (median; shared pages counted once) | {p.pss_mb:.1f} "
        f"| {a.pss_mb:.1f} | {a.pss_mb - p.pss_mb:+.1f} MB |",
        f"| the crawl process alone (its ru_maxrss) | {p.crawl_rss_mb:.1f} "
        f"| {a.crawl_rss_mb:.1f} | {a.crawl_rss_mb - p.crawl_rss_mb:+.1f} MB |",
    ]


def _large_rows(s: Summary, big: Summary) -> list[str]:
    """The rows of the large N; growth is measured from the small N's medians."""
    n, big_n, p, a, lp, la = s.pages, big.pages, s.plain, s.archive, big.plain, big.archive
    rows = [
        f"| peak RSS MB, N={big_n} | {lp.rss_mb:.1f} | {la.rss_mb:.1f} "
        f"| {la.rss_mb - lp.rss_mb:+.1f} MB |",
        f"| peak PSS MB, N={big_n} | {lp.pss_mb:.1f} | {la.pss_mb:.1f} "
        f"| {la.pss_mb - lp.pss_mb:+.1f} MB (growth beyond plain: "
        f"{(la.pss_mb - a.pss_mb) - (lp.pss_mb - p.pss_mb):+.1f} MB) |",
        f"| RSS growth {n} -> {big_n} | {lp.rss_mb - p.rss_mb:+.1f} MB "
        f"| {la.rss_mb - a.rss_mb:+.1f} MB | archive beyond plain: "
        f"{(la.rss_mb - a.rss_mb) - (lp.rss_mb - p.rss_mb):+.1f} MB |",
        f"| the crawl process alone, N={big_n} | {lp.crawl_rss_mb:.1f} "
        f"| {la.crawl_rss_mb:.1f} | {la.crawl_rss_mb - lp.crawl_rss_mb:+.1f} MB (growth beyond "
        f"plain: {(la.crawl_rss_mb - a.crawl_rss_mb) - (lp.crawl_rss_mb - p.crawl_rss_mb):+.1f}"
        " MB) |",
        f"| pages/s, N={big_n} (median; runs) | {lp.pps:.1f} ({fmt_runs(lp.pps_runs)}) "
        f"| {la.pps:.1f} ({fmt_runs(la.pps_runs)}) | **{ratio(la.pps, lp.pps):.3f}x** |",
        f"| the ratio within each alternated pair, N={big_n} | | "
        f"| {fmt_runs(big.pairs, '.2f')} |",
        f"| host steal time during each crawl, CPU s, N={big_n} "
        f"| {fmt_runs(lp.steal_runs)} | {fmt_runs(la.steal_runs)} | |",
        f"| reactor-thread CPU s per 1000 pages, N={big_n} | {lp.reactor_k:.2f} "
        f"| {la.reactor_k:.2f} | {ratio(la.reactor_k, lp.reactor_k):.2f}x |",
        f"| garbage collection s per 1000 pages, N={big_n} | {lp.gc_k:.2f} | {la.gc_k:.2f} | |",
    ]
    v = big.verify
    if v:
        rows.append(
            f"| verify vs zcat FILE \\| sha256sum, N={big_n}: {v.megabytes:.0f} MB of WARC "
            f"(median of {v.count} alternated; runs) "
            f"| zcat\\|sha256sum {v.zcat:.2f} s ({fmt_runs(v.zcat_runs, '.2f')}) "
            f"| crawler verify {v.verify:.2f} s ({fmt_runs(v.verify_runs, '.2f')}) "
            f"| {ratio(v.zcat, v.verify):.3f}x |")
    return rows


def _verify_rows(v: VerifySummary, startup: float) -> list[str]:
    mb = v.megabytes
    rows = [
        f"| verify vs zcat FILE \\| sha256sum, {mb:.0f} MB of WARC (median s of "
        f"{v.count} alternated; range {min(v.zcat_runs):.2f}-{max(v.zcat_runs):.2f} / "
        f"{min(v.verify_runs):.2f}-{max(v.verify_runs):.2f}) "
        f"| zcat\\|sha256sum {v.zcat:.2f} s = {ratio(mb, v.zcat):.0f} MB/s "
        f"| crawler verify {v.verify:.2f} s = {ratio(mb, v.verify):.0f} MB/s whole command; "
        f"{v.inner:.2f} s = {ratio(mb, v.inner):.0f} MB/s its own timing "
        f"| **{ratio(v.zcat, v.verify):.3f}x** whole; {ratio(v.zcat, v.inner):.3f}x own timing "
        f"(CLI start-up alone: {startup:.2f} s) |"]
    if v.bad:
        rows.append(f"| verify exit codes | | {list(v.bad)} (not 0!) | |")
    return rows


def _archive_line(run: ArmRun, pages: int) -> str:
    st = run.stats
    return (f"Archive of one N={pages} run: {len(run.warcs)} WARC file(s), "
            f"{run.warc_mb:.1f} MB compressed, "
            f"{st.get('archive/payload_bytes', 0) / 1e6:.1f} MB of payload, "
            f"{st.get('archive/fetches', 0)} fetches "
            f"(DB: {st.get('bench/db_pages')} pages, {st.get('bench/db_captures')} captures); "
            f"DB run started->ended {st.get('bench/db_run_seconds', NAN):.2f} s.")


def render(small: Summary, large: Summary | None, ctx: Context) -> str:
    """The Markdown of one benchmark run: a line saying what ran, the table, and the
    archive, settings, machine and commands below it."""
    m = ctx.machine
    also = f"; N = {large.pages}, {large.repeats} repeats" if large else ""
    lines = [
        f"Run {ctx.when:%Y-%m-%d %H:%M} UTC, commit {m['commit']}: N = {small.pages} article "
        f"pages, {small.repeats} repeats (alternating A/B){also}, server: {ctx.server}.\n",
        "| measure | plain Scrapy | crawler crawl (archiving) | ratio |",
        "|---|---|---|---|",
        *_size_rows(small),
        *(_large_rows(small, large) if large else []),
        *(_verify_rows(small.verify, ctx.startup) if small.verify else []),
    ]
    if small.first_archive:
        lines += ["", _archive_line(small.first_archive, small.pages)]
    lines += [
        "",
        ctx.settings,
        f"Machine: {m['cores']} cores, {m['cpu']}, {m['memory']}, {m['os']}; "
        f"Python {m['python']}; {m['versions']}. Site generated in {ctx.gen_seconds:.1f} s. "
        f"1-min load average sampled between runs: {fmt_runs(ctx.loads, '.2f')} "
        "(the machine is shared; other work on it shows here).",
        "",
        "Commands (DIR = a fresh collection per run, URL = the served site):",
        "```",
        *ctx.commands,
        "```",
    ]
    return "\n".join(lines)


def write_benchmarks(path: Path, text: str) -> None:
    """Put `text` between the markers of `path`; the rest of the file stays as it is. A
    file without the markers gets them at its end; a missing file is created."""
    block = f"{BEGIN}\n{text}\n{END}"
    if not path.exists():
        path.write_text("# Benchmarks\n\nWritten by `python bench/run.py`.\n\n" + block + "\n")
        return
    old = path.read_text()
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        path.write_text(head + block + rest.split(END, 1)[1])
    else:
        path.write_text(old.rstrip() + "\n\n" + block + "\n")
