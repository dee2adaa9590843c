"""Reading and checking WARC files in worker processes while the database is read.

`crawler verify` has two independent halves: the database (importing SQLAlchemy,
the queries, the ledger chain) and the bytes (inflating and hashing every record,
crawler.warc.scan). `FileChecker` runs the byte half in worker processes, forked
when the command starts — before the database stack is imported — so the first
file is being read while the main process is still importing. (Threads would not
do: inflating and hashing release the GIL, but the Python between records needs it
back, and the main process's imports and queries hold it.)

The main process names the files it will want, in order (`scan`). A file of at
least 2 x MIN_PART bytes is cut into parts at byte offsets (`plan_parts`), up to
PARTS_PER_WORKER per worker, so that one large file keeps every CPU busy to the end
(the records of a crawl's WARC file are not spread evenly: pages first, their
images later; the parts go out in snake order, see `_least_loaded`): each part is
walked from the first gzip member at or after its start that inflates to the start
of a WARC record (crawler.warc.scan.scan_file), and the part from offset 0 also hashes the whole
file. Each part is given to a worker, which starts reading the first of its parts
at once and keeps the records (at most BUFFER_RECORDS of them) until that file's
rows arrive. Then the main process hands over each file's rows (`submit`, a
crawler.audit.files.FileTask, pickled once and sent once to each worker that
checks a part of the file) and one small message per part; the workers compare the
records they kept and, streaming, the rest of their parts
(crawler.audit.files.check_part) and send back only the problems. The parts'
outcomes are joined in the main process (crawler.audit.files.join_parts), which
checks that each part began where the one before it ended: if they do not join (a
whole record's member stored inside another just after a cut, a corrupt member
there, a record written twice across it), the file is checked again in one walk, so
a file's problems are the same however it was cut. Outcomes come back in submission
order (`outcome`). Memory stays flat in the size of the archive: a worker holds one
file's rows and a bounded number of records.
With no workers (one CPU, or no fork on this platform) everything runs in the
calling process, in the same order, with the same results. Reads no settings.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from types import TracebackType
from typing import Any

from crawler.audit.files import (
    FileOutcome,
    FileTask,
    PartOutcome,
    RowIndex,
    check_file,
    check_part,
    join_parts,
)
from crawler.warc.scan import FileScan, ScannedRecord, scan_file

BUFFER_RECORDS = 20_000  # records kept per worker before its file's rows arrive (~100 MB)
READ_AHEAD = 1  # parts given to a worker beyond the one it is checking
MAX_WORKERS = 8  # by default: more would wait on the disk, and their buffers add up
GC_THRESHOLD = 50_000  # allocations between young collections in a worker (default 700)
MIN_PART = 8 << 20  # bytes: a smaller part costs more in start-up than it saves
PARTS_PER_WORKER = 4  # a large file is cut into up to this many parts per worker


@dataclass(frozen=True)
class Part:
    """The gzip members of `path` that start in [start, stop) (stop None: to the end)."""

    path: Path
    start: int = 0
    stop: int | None = None


def plan_parts(path: Path, parts: int, min_part: int = MIN_PART) -> list[Part]:
    """The file cut into up to `parts` parts of at least `min_part` bytes each."""
    try:
        size = path.stat().st_size
    except OSError:  # gone: the check reports it
        return [Part(path)]
    n = max(1, min(parts, size // max(1, min_part)))
    cuts = [size * i // n for i in range(1, n)]
    return [Part(path, start, stop) for start, stop in zip([0, *cuts], [*cuts, None], strict=True)]


def default_workers(files: Iterable[Path] | None = None) -> int:
    """One worker per CPU, at most MAX_WORKERS and one per part the files will be cut
    into. None on one CPU, nor where processes cannot be forked (forking is what lets
    them start before the imports; macOS can fork but its system libraries do not
    support it)."""
    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin":
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cpus or cpus < 2:
        return 0
    most = min(cpus, MAX_WORKERS)
    if files is None:
        return most
    return min(most, sum(len(plan_parts(path, most)) for path in files))


# -- in the worker process ---------------------------------------------------------------


class _Reading:
    """One part being read ahead of its rows: the records so far, and the rest to come."""

    def __init__(self, part: Part, on_bytes: Callable[[int], None] | None) -> None:
        self.part = part
        self.scan = FileScan(part.path)
        self.kept: list[ScannedRecord] = []
        self.error: Exception | None = None
        self._rest: Iterator[ScannedRecord] = scan_file(
            part.path, self.scan, on_bytes=on_bytes, start=part.start, stop=part.stop)
        self.done = False

    def read_some(self, n: int = 64) -> None:
        try:
            chunk = list(itertools.islice(self._rest, n))
        except Exception as exc:  # noqa: BLE001 - raised when the file is checked
            self.error, chunk = exc, []
        self.kept += chunk
        self.done = self.error is not None or len(chunk) < n or len(self.kept) >= BUFFER_RECORDS

    def records(self) -> Iterator[ScannedRecord]:
        if self.error is not None:
            raise self.error
        yield from self.kept
        self.kept = []
        yield from self._rest


def _serve(conn: Connection, progress: Any) -> None:
    """Answer the main process: ("scan", part), ("drop", part), ("rows", task) — the
    file whose parts the checks that follow are of —, ("check", part), ("stop",)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    # Records are kept by the thousand and make no reference cycles: collect rarely, and
    # never walk what was inherited from the main process (measured: ~15 % of the CPU).
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)

    def advance(n: int) -> None:
        progress.value += n

    queued: deque[Part] = deque()
    reading: _Reading | None = None
    task: FileTask | None = None
    rows: RowIndex | None = None
    while True:
        if reading is None and queued:
            reading = _Reading(queued.popleft(), advance)
        if reading is not None and not reading.done and not conn.poll():
            reading.read_some()
            continue
        try:
            message = conn.recv()
        except EOFError:  # the main process is gone
            return
        if message[0] == "stop":
            return
        if message[0] == "scan":
            queued.append(message[1])
            continue
        if message[0] == "drop":
            if reading is not None and reading.part == message[1]:
                reading = None
            elif message[1] in queued:
                queued.remove(message[1])
            continue
        if message[0] == "rows":
            task, rows = message[1], None
            continue
        part: Part = message[1]
        if reading is not None and reading.part == part:
            current, reading = reading, None
        else:  # not read ahead here: read it now (what was read ahead stays kept)
            current = _Reading(part, advance)
            if part in queued:
                queued.remove(part)
        try:
            assert task is not None and task.path == part.path, "a check before its rows"
            rows = rows or RowIndex(task)
            conn.send(("done", check_part(task, current.scan, current.records(), rows)))
        except Exception as exc:  # noqa: BLE001 - the main process raises it
            conn.send(("error", exc))


# -- in the main process -----------------------------------------------------------------


@dataclass
class _Worker:
    process: Any
    conn: Connection
    progress: Any
    reported: int = 0  # bytes read that on_bytes was told about
    given: list[Part] = field(default_factory=list)  # asked to read, not yet submitted
    pending: int = 0  # checks sent whose outcomes are not yet received
    holds: FileTask | None = None  # the task whose rows it was sent last (two rows may
    # name one file: each task is sent, not each path)
    chosen: int = 0  # when it was last given a part (FileChecker._least_loaded)


@dataclass
class _Submitted:
    """A submitted file: its parts' outcomes as they come back (None: not yet)."""

    task: FileTask
    workers: list[_Worker | None]
    parts: list[PartOutcome | None]


class FileChecker:
    """Worker processes that read WARC files ahead and check them against their rows.

    Use it as a context manager: leaving it stops the workers (kills them after an
    error). `on_bytes`, when set, is told how many bytes were read as they are read.
    Files of at least 2 x `min_part` bytes are checked in parts by several workers.
    """

    def __init__(self, workers: int, *, min_part: int = MIN_PART) -> None:
        self.on_bytes: Callable[[int], None] | None = None
        self.min_part = min_part
        self._workers: list[_Worker] = []
        self._plans: dict[Path, list[Part]] = {}
        self._given: dict[Part, _Worker] = {}
        self._wanted: list[Part] = []
        self._submitted: deque[_Submitted] = deque()
        self._chosen = 0  # parts handed out so far (_least_loaded)
        if workers:
            context = multiprocessing.get_context("fork")
            for _ in range(workers):
                here, there = context.Pipe()
                progress = context.RawValue("q", 0)
                process = context.Process(target=_serve, args=(there, progress), daemon=True,
                                          name="crawler-verify")
                process.start()
                there.close()
                self._workers.append(_Worker(process, here, progress))

    @property
    def workers(self) -> int:
        return len(self._workers)

    def __enter__(self) -> FileChecker:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for worker in self._workers:
            if kind is None:
                worker.conn.send(("stop",))
            else:
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join()
            worker.conn.close()
        self._workers = []

    def parts(self, path: Path) -> list[Part]:
        """How this file is (or will be) cut: planned once, when it is first named."""
        if path not in self._plans:
            self._plans[path] = plan_parts(path, max(1, self.workers) * PARTS_PER_WORKER,
                                           self.min_part)
        return self._plans[path]

    def scan(self, paths: Iterable[Path]) -> None:
        """The files that will be submitted, in this order: workers start reading them.

        A later call replaces the list: parts given out before and not on it any
        more are dropped by their workers.
        """
        wanted = [part for path in paths for part in self.parts(path)]
        for part in set(self._given) - set(wanted):
            worker = self._given.pop(part)
            worker.given.remove(part)
            worker.conn.send(("drop", part))
        self._wanted = [part for part in wanted if part not in self._given]
        self._give()

    def _least_loaded(self) -> _Worker:
        """The worker with the fewest parts to read or check; of equals, the one given a
        part last. The parts of a large file then go out in snake order (two workers:
        0 1 1 0 0 1 1 0), which evens out a file whose records grow or shrink along it
        (a crawl fetches pages first and their images later)."""
        worker = min(self._workers, key=lambda w: (len(w.given) + w.pending, -w.chosen))
        self._chosen += 1
        worker.chosen = self._chosen
        return worker

    def _give(self) -> None:
        """Hand wanted parts to the workers with the fewest, up to READ_AHEAD + 1 each."""
        while self._workers and self._wanted:
            if min(len(w.given) + w.pending for w in self._workers) > READ_AHEAD:
                return
            worker = self._least_loaded()
            part = self._wanted.pop(0)
            worker.given.append(part)
            self._given[part] = worker
            worker.conn.send(("scan", part))

    def submit(self, task: FileTask) -> None:
        """Check this file against its rows. Each worker that checks a part of it is
        sent the rows once (pickled once for all of them), then one small message per
        part; before the rows, it waits for the worker's earlier checks to come back
        (a large message both ways at once could fill both pipes)."""
        if not self._workers:
            scan = FileScan(task.path)
            records = scan_file(task.path, scan, on_bytes=self.on_bytes)
            self._submitted.append(_Submitted(task, [None], [check_part(task, scan, records)]))
            return
        entry = _Submitted(task, [], [])
        self._submitted.append(entry)
        rows: bytes | None = None
        for part in self.parts(task.path):
            worker = self._given.pop(part, None)
            if worker is None:
                worker = self._least_loaded()
            else:
                worker.given.remove(part)
            if part in self._wanted:
                self._wanted.remove(part)
            if worker.holds is not task:
                while worker.pending:
                    self._receive_oldest()
                if rows is None:
                    rows = bytes(ForkingPickler.dumps(("rows", task)))
                worker.conn.send_bytes(rows)
                worker.holds = task
            worker.conn.send(("check", part))
            worker.pending += 1
            entry.workers.append(worker)
            entry.parts.append(None)
        self._give()

    def outcome(self) -> FileOutcome:
        """The outcome of the oldest submitted file not yet taken."""
        entry = self._submitted[0]
        while None in entry.parts:
            self._receive_oldest()
        self._submitted.popleft()
        parts = [part for part in entry.parts if part is not None]
        joined = join_parts(entry.task, parts)
        if joined is not None:
            return joined
        # The parts do not join up (see join_parts): one walk decides.
        path = entry.task.path
        scan = FileScan(path)
        return check_file(entry.task, scan, scan_file(path, scan))

    def _receive_oldest(self) -> None:
        for entry in self._submitted:
            for index, worker in enumerate(entry.workers):
                if worker is not None and entry.parts[index] is None:
                    entry.parts[index] = self._receive(worker)
                    entry.workers[index] = None
                    self._give()
                    return

    def _receive(self, worker: _Worker) -> PartOutcome:
        while not worker.conn.poll(0.1):
            self._report_progress()
            if not worker.process.is_alive():
                raise RuntimeError(f"verify worker process {worker.process.pid} died "
                                   f"(exit code {worker.process.exitcode})")
        status, value = worker.conn.recv()
        worker.pending -= 1
        self._report_progress()
        if status == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def _report_progress(self) -> None:
        if self.on_bytes is None:
            return
        for worker in self._workers:
            now = worker.progress.value
            if now > worker.reported:
                self.on_bytes(now - worker.reported)
                worker.reported = now
