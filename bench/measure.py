"""Measuring one child process and the host it runs on (Linux /proc; no Scrapy).

`timed_child` runs a command and returns its wall time, CPU, and the peaks of the summed
RSS and PSS of the process and its descendants (`TreeMemory` samples them from
/proc/PID/statm and /proc/PID/smaps_rollup). `steal_seconds` reads the host's steal
time from /proc/stat, `machine` describes the host for the results table.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

#: the repository: the children run here, with it first on their import path
REPO = Path(__file__).resolve().parents[1]
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def child_env() -> dict[str, str]:
    """The environment of every child: this one, the repository on the import path, and
    no CRAWLER_DB_URL (each collection keeps its own SQLite database)."""
    env = dict(os.environ)
    env.pop("CRAWLER_DB_URL", None)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


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
        self.pid, self.interval = pid, interval
        self.pss_every = max(1, round(pss_interval / interval))
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


@dataclass(frozen=True)
class ChildRun:
    """What `timed_child` measured of one command."""

    wall: float  # seconds, start to exit
    cpu: float  # user + system seconds of the child and the descendants it waited for
    rss_mb: float  # peak summed RSS of the process tree (at least the child's ru_maxrss)
    pss_mb: float  # peak summed PSS of the process tree
    returncode: int


def timed_child(cmd: list[str], *, log: Path, stdout: Path | None = None,
                cwd: Path = REPO) -> ChildRun:
    """Run cmd, its stderr (and stdout, unless `stdout` names a file) into `log`.

    Peak RSS is the largest sum of the RSS of the process and its descendants seen by
    sampling every 0.1 s (at least the child's own ru_maxrss): pages the crawl and its
    writer process share (the interpreter, libraries) count twice. Peak PSS, sampled
    every 2 s (it is costly to read), counts them once (each process is charged its
    share). The CPU includes the descendants it waited for."""
    with log.open("wb") as err, (stdout or log).open("ab") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=out,
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
    return ChildRun(wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mb=rss_kb / 1024,
                    pss_mb=sampler.peak_pss_kb / 1024, returncode=proc.returncode)


def steal_seconds() -> float:
    """CPU time the hypervisor ran something else while this guest's CPUs wanted it,
    summed over the CPUs, since boot (Linux /proc/stat; 0 where there is none). On a
    shared virtual machine it is the noise in every timing here made visible."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") if fields[0] == "cpu" else 0.0
    except (OSError, IndexError, ValueError):
        return 0.0


def load_average() -> float:
    """The host's 1-minute load average (other work on a shared machine shows here)."""
    return os.getloadavg()[0]


def machine() -> dict[str, str]:
    """The host, the Python and the libraries the results were measured with."""
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
