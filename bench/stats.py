"""A Scrapy stats collector for the benchmark: counts seed pages fetched, times the
crawl phase, and writes the stats as JSON when the spider closes.

Used by both arms (`-s STATS_CLASS=bench.stats.BenchStats -s BENCH_STATS_FILE=...`):
    bench/pages           seed pages (role "page") answered 200
    bench/crawl_seconds   from the engine opening the spider to the engine closing the
                          stats, i.e. after every spider_closed handler (the archive's
                          recorder drain, fsync and run close included); Python and
                          Scrapy start-up excluded
    bench/first_response_seconds  from the same start to the first response (the
                          archive opens its run, records the seeds, before any fetch)
    bench/last_response_seconds   ... to the last response (the rest is closing: the
                          archive drains its queue, fsyncs, commits and closes the run)
    bench/crawl_maxrss_mb peak RSS of the process up to the close of the crawl
    bench/reactor_cpu_seconds  CPU of the reactor thread alone over the same span
    bench/writer_cpu_seconds   CPU of the WARC writer process (archive arm) over it
    bench/crawl_cpu_seconds  user + system CPU of the process (all threads) and of the
                          WARC writer process over the same span
    bench/thread_cpu/NAME CPU seconds of each thread since it started (Linux), e.g.
                          the reactor ("MainThread") and the recorder's collector
                          ("warc-collector"); bench/thread_system_cpu/NAME the system
                          (kernel) part of it, and
                          bench/thread_switches/NAME its voluntary context switches (it
                          blocked: on a read, a lock, the interpreter lock) and
                          bench/thread_preempted/NAME its involuntary ones
    bench/gc_seconds/GEN  time the crawl process spent in the cyclic garbage collector,
                          per generation (0, 1, 2), and bench/gc_collections/GEN how often
    bench/gc_objects      objects the collector tracks when the crawl closes
    elapsed_time_seconds  Scrapy's own figure, for reference
"""

from __future__ import annotations

import gc
import json
import os
import resource
import threading
import time
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.statscollectors import MemoryStatsCollector


def _thread_cpu() -> dict[str, dict[str, float]]:
    """Per live thread of this process, by Python thread name (Linux): CPU seconds
    (user + system), the system part, and voluntary and involuntary context switches."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, dict[str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
            status = (task / "status").read_text()
        except OSError:
            continue
        name = names.get(int(task.name), "other")
        fields = stat[stat.rindex(")") + 2:].split()
        switches = dict(line.split(":\t") for line in status.splitlines()
                        if line.endswith(tuple("0123456789")) and "ctxt_switches" in line)
        sums = out.setdefault(name, dict.fromkeys(
            ("thread_cpu", "thread_system_cpu", "thread_switches", "thread_preempted"), 0.0))
        sums["thread_cpu"] += (int(fields[11]) + int(fields[12])) / tick
        sums["thread_system_cpu"] += int(fields[12]) / tick
        sums["thread_switches"] += int(switches.get("voluntary_ctxt_switches", 0))
        sums["thread_preempted"] += int(switches.get("nonvoluntary_ctxt_switches", 0))
    return out


def _children_cpu() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _cpu() -> float:
    """This process's CPU and its waited-for children's: the WARC writer process is
    waited for when the archive closes, before the stats close."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + _children_cpu()


class BenchStats(MemoryStatsCollector):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._path = crawler.settings.get("BENCH_STATS_FILE")
        self._t0 = 0.0
        self._cpu0 = self._reactor0 = self._children0 = 0.0
        crawler.signals.connect(self._response, signal=signals.response_received)
        self._gc_began = 0.0
        self._gc_seconds = [0.0, 0.0, 0.0]
        self._gc_count = [0, 0, 0]
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_began = time.perf_counter()
            return
        generation = info["generation"]
        self._gc_seconds[generation] += time.perf_counter() - self._gc_began
        self._gc_count[generation] += 1

    def _response(self, response: Any, request: Any, spider: Any) -> None:
        now = time.monotonic() - self._t0
        if "bench/first_response_seconds" not in self._stats:
            self.set_value("bench/first_response_seconds", now)
        self.set_value("bench/last_response_seconds", now)
        if request.meta.get("role") == "page" and response.status == 200:
            self.inc_value("bench/pages")

    def open_spider(self, *args: Any, **kwargs: Any) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = _cpu()
        self._reactor0 = time.thread_time()  # called on the reactor thread
        self._children0 = _children_cpu()
        super().open_spider(*args, **kwargs)

    def close_spider(self, *args: Any, **kwargs: Any) -> None:
        self.set_value("bench/crawl_seconds", time.monotonic() - self._t0)
        self.set_value("bench/crawl_cpu_seconds", _cpu() - self._cpu0)
        self.set_value("bench/reactor_cpu_seconds", time.thread_time() - self._reactor0)
        self.set_value("bench/writer_cpu_seconds", _children_cpu() - self._children0)
        for generation in range(3):
            self.set_value(f"bench/gc_seconds/{generation}", self._gc_seconds[generation])
            self.set_value(f"bench/gc_collections/{generation}", self._gc_count[generation])
        self.set_value("bench/gc_objects", len(gc.get_objects()))
        for name, counts in _thread_cpu().items():
            for what, value in counts.items():
                self.set_value(f"bench/{what}/{name}", value)
        self.set_value("bench/crawl_maxrss_mb",
                       resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        super().close_spider(*args, **kwargs)

    def _persist_stats(self, stats: dict[str, Any], *args: Any) -> None:
        super()._persist_stats(stats, *args)
        if self._path:
            with open(self._path, "w", encoding="utf-8") as fh:
                json.dump(stats, fh, default=str, sort_keys=True, indent=1)
