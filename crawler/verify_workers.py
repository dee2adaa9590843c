"""Reading and checking WARC files in worker processes while the database is read.

`crawler verify` has two independent halves: the database (importing SQLAlchemy,
the queries, the ledger chain) and the bytes (inflating and hashing every record,
crawler.verify_scan). `FileChecker` runs the byte half in worker processes, forked
when the command starts — before the database stack is imported — so the first
file is being read while the main process is still importing. (Threads would not
do: inflating and hashing release the GIL, but the Python between records needs it
back, and the main process's imports and queries hold it.)

The main process names the files it will want, in order (`scan`): each is given to
a worker, which starts reading the first of its files at once and keeps the records
(at most BUFFER_RECORDS of them) until that file's rows arrive. Then the main
process hands over each file's rows (`submit`, a crawler.verify_files.FileTask);
the worker compares the records it kept and, streaming, the rest of the file
(crawler.verify_files.check_file) and sends back only the problems. Outcomes come
back in submission order (`outcome`). Memory stays flat in the size of the archive:
a worker holds one file's rows and a bounded number of records.
With no workers (one CPU, or no fork on this platform) everything runs in the
calling process, in the same order, with the same results. Reads no settings.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any

from crawler.verify_files import FileOutcome, FileTask, check_file
from crawler.verify_scan import FileScan, ScannedRecord, scan_file

BUFFER_RECORDS = 20_000  # records kept per worker before its file's rows arrive (~100 MB)
READ_AHEAD = 1  # files given to a worker beyond the one it is checking
MAX_WORKERS = 8  # by default: more would wait on the disk, and their buffers add up


def default_workers(files: int | None = None) -> int:
    """One worker per CPU, at most MAX_WORKERS and one per file. None on one CPU, nor
    where processes cannot be forked (forking is what lets them start before the
    imports; macOS can fork but its system libraries do not support it)."""
    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin":
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cpus or cpus < 2:
        return 0
    return min(cpus, MAX_WORKERS, files if files is not None else cpus)


def files_on_disk(archive_dir: Path) -> list[Path]:
    """The WARC files in archive/, closed or still open, by name: the files a check of
    the whole collection will ask for, in about that order (names start with the time)."""
    return sorted(path for path in archive_dir.glob("*.warc.gz*")
                  if path.name.endswith((".warc.gz", ".warc.gz.open")))


# -- in the worker process ---------------------------------------------------------------


class _Reading:
    """One file being read ahead of its rows: the records so far, and the rest to come."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None]) -> None:
        self.path = path
        self.scan = FileScan(path)
        self.kept: list[ScannedRecord] = []
        self.error: Exception | None = None
        self._rest: Iterator[ScannedRecord] = scan_file(path, self.scan, on_bytes=on_bytes)
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
    """Answer the main process: ("scan", path), ("drop", path), ("check", task), ("stop",)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C

    def advance(n: int) -> None:
        progress.value += n

    queued: deque[Path] = deque()
    reading: _Reading | None = None
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
            if reading is not None and reading.path == message[1]:
                reading = None
            elif message[1] in queued:
                queued.remove(message[1])
            continue
        task: FileTask = message[1]
        if reading is not None and reading.path == task.path:
            current, reading = reading, None
        else:  # not read ahead here: read it now (what was read ahead stays kept)
            current = _Reading(task.path, advance)
            if task.path in queued:
                queued.remove(task.path)
        try:
            conn.send(("done", check_file(task, current.scan, current.records())))
        except Exception as exc:  # noqa: BLE001 - the main process raises it
            conn.send(("error", exc))


# -- in the main process -----------------------------------------------------------------


@dataclass
class _Worker:
    process: Any
    conn: Connection
    progress: Any
    reported: int = 0  # bytes read that on_bytes was told about
    given: list[Path] = field(default_factory=list)  # asked to read, not yet submitted
    busy: bool = False  # a check was sent and its outcome not yet received


class FileChecker:
    """Worker processes that read WARC files ahead and check them against their rows.

    Use it as a context manager: leaving it stops the workers (kills them after an
    error). `on_bytes`, when set, is told how many bytes were read as they are read.
    """

    def __init__(self, workers: int) -> None:
        self.on_bytes: Callable[[int], None] | None = None
        self._workers: list[_Worker] = []
        self._given: dict[Path, _Worker] = {}
        self._wanted: list[Path] = []
        self._submitted: deque[tuple[_Worker | None, FileOutcome | None]] = deque()
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

    def scan(self, paths: Iterable[Path]) -> None:
        """The files that will be submitted, in this order: workers start reading them.

        A later call replaces the list: files given out before and not on it any
        more are dropped by their workers.
        """
        wanted = list(paths)
        for path in set(self._given) - set(wanted):
            worker = self._given.pop(path)
            worker.given.remove(path)
            worker.conn.send(("drop", path))
        self._wanted = [path for path in wanted if path not in self._given]
        self._give()

    def _give(self) -> None:
        """Hand wanted files to the workers with the fewest, up to READ_AHEAD + 1 each."""
        while self._workers and self._wanted:
            worker = min(self._workers, key=lambda w: len(w.given) + w.busy)
            if len(worker.given) + worker.busy > READ_AHEAD:
                return
            path = self._wanted.pop(0)
            worker.given.append(path)
            self._given[path] = worker
            worker.conn.send(("scan", path))

    def submit(self, task: FileTask) -> None:
        """Check this file against its rows; waits only while its worker is busy."""
        if not self._workers:
            scan = FileScan(task.path)
            records = scan_file(task.path, scan, on_bytes=self.on_bytes)
            self._submitted.append((None, check_file(task, scan, records)))
            return
        worker = self._given.pop(task.path, None)
        if worker is None:
            worker = min(self._workers, key=lambda w: len(w.given) + w.busy)
        else:
            worker.given.remove(task.path)
        if task.path in self._wanted:
            self._wanted.remove(task.path)
        while worker.busy:  # one check per worker at a time: no pipe can fill up both ways
            self._receive_oldest()
        worker.conn.send(("check", task))
        worker.busy = True
        self._submitted.append((worker, None))
        self._give()

    def outcome(self) -> FileOutcome:
        """The outcome of the oldest submitted file not yet taken."""
        while self._submitted[0][1] is None:
            self._receive_oldest()
        outcome = self._submitted.popleft()[1]
        assert outcome is not None
        return outcome

    def _receive_oldest(self) -> None:
        for index, (worker, outcome) in enumerate(self._submitted):
            if worker is not None and outcome is None:
                self._submitted[index] = (None, self._receive(worker))
                self._give()
                return

    def _receive(self, worker: _Worker) -> FileOutcome:
        while not worker.conn.poll(0.1):
            self._report_progress()
            if not worker.process.is_alive():
                raise RuntimeError(f"verify worker process {worker.process.pid} died "
                                   f"(exit code {worker.process.exitcode})")
        status, value = worker.conn.recv()
        worker.busy = False
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
