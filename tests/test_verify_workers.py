"""`crawler verify` with worker processes: several WARC files, the same report either way.

The files are read and checked in worker processes (crawler.audit.workers) that
start before the database is opened; with `--workers 0` everything happens in the
one process. Both must find exactly the same problems, in the same order. A crawl
with a tiny ARCHIVE_MAX_FILE_SIZE gives a collection of several files. A large file
is checked in parts by several workers: cut anywhere, the parts must find what one
walk finds, or fail to join (and the file is walked whole).
"""

from __future__ import annotations

import json
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from test_warc_read import write_warc

from crawler.audit import workers as verify_workers
from crawler.audit.files import (
    FileOutcome,
    FileRow,
    FileTask,
    check_file,
    check_part,
    join_parts,
)
from crawler.audit.workers import FileChecker
from crawler.warc.scan import GZIP_MAGIC, FileScan, scan_file
from helpers import CrawledCollection, crawl_collection, make_collection, run_cli


@pytest.fixture(scope="module")
def rotated(site_server: str, tmp_path_factory: pytest.TempPathFactory) -> CrawledCollection:
    """The five seeds crawled into several small WARC files. Read-only."""
    from crawler.fixture_site import demo_manifest_toml

    root = make_collection(tmp_path_factory.mktemp("rotated"), demo_manifest_toml(site_server))
    result = crawl_collection(root, "-s", "ARCHIVE_MAX_FILE_SIZE=25000")
    assert result.returncode == 0, f"crawl failed:\n{result.stdout}\n{result.stderr}"
    return CrawledCollection(root, result.db_url, site_server, result.stdout, result.stderr, 0)


def files_of(root: Path) -> list[Path]:
    return sorted((root / "archive").glob("*.warc.gz"))


def report(root: Path, db_url: str, *args: str) -> tuple[int, dict[str, Any]]:
    proc = run_cli("verify", "--collection", str(root), "--json", *args, db_url=db_url)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    body = json.loads(proc.stdout)
    body.pop("seconds"), body.pop("mb_per_s")
    return proc.returncode, body


def flip_payload_byte(path: Path) -> int:
    """Change the last payload byte of the file's first response record (re-gzipped,
    so the gzip member stays valid and only the digests can tell); returns its offset."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        record = bytearray(inflater.decompress(data[offset:]))
        end = len(data) - len(inflater.unused_data)
        if b"WARC-Type: response" in record[:2000]:
            record[-5] ^= 0x01
            member = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
            path.write_bytes(data[:offset] + member.compress(bytes(record)) + member.flush()
                             + data[end:])
            return offset
        offset = end
    raise AssertionError(f"no response record in {path}")


def test_several_files_verify_clean(rotated: CrawledCollection) -> None:
    assert len(files_of(rotated.root)) >= 4
    code, body = report(rotated.root, rotated.db_url)
    assert code == 0 and body["ok"], body["problems"]
    assert body["files"] == len(files_of(rotated.root)) and body["records"] > body["files"]


def test_workers_or_not_the_same_problems_in_the_same_order(rotated: CrawledCollection,
                                                            tmp_path: Path) -> None:
    root = tmp_path / "copy"  # the files are tampered with; the database is only read
    shutil.copytree(rotated.root, root)
    files = files_of(root)
    changed = flip_payload_byte(files[1])
    files[2].unlink()
    files[-1].rename(files[-1].with_name(files[-1].name + ".open"))
    forged = root / "archive" / "CRAWL-20000101000000000-00000-forged.warc.gz"
    shutil.copy2(files[0], forged)
    reports = {n: report(root, rotated.db_url, "--workers", n) for n in ("0", "1", "3")}
    reports["default"] = report(root, rotated.db_url)
    code, body = reports["0"]
    assert code == 1
    for other in reports.values():
        assert other == (code, body)
    kinds = {(p["kind"], p["file"]) for p in body["problems"]}
    assert ("payload-sha256", files[1].name) in kinds
    assert ("block-digest", files[1].name) in kinds
    assert ("file-sha256", files[1].name) in kinds
    assert ("file-missing", files[2].name) in kinds and ("record-missing", files[2].name) in kinds
    assert ("file-open", files[-1].name + ".open") in kinds
    assert ("file-unrecorded", forged.name) in kinds
    assert any(p["offset"] == changed for p in body["problems"] if p["file"] == files[1].name)


def test_one_run_with_workers(rotated: CrawledCollection) -> None:
    code, body = report(rotated.root, rotated.db_url, "--run", "1", "--workers", "2")
    assert code == 0 and body["scope"] == "run 1" and body["files"] >= 3


def test_negative_workers_is_bad_input(rotated: CrawledCollection) -> None:
    proc = run_cli("verify", "--collection", str(rotated.root), "--workers", "-1",
                   db_url=rotated.db_url)
    assert proc.returncode == 2 and "--workers -1" in proc.stderr


# -- FileChecker on its own -----------------------------------------------------------------


def task(path: Path) -> FileTask:
    """A file with no rows: every record is reported unreferenced (enough to compare)."""
    return FileTask(path, FileRow(path.name, None, None, "<urn:uuid:none>", "run"), [])


def outcomes(workers: int, paths: list[Path], submit: list[Path]) -> list[Any]:
    with FileChecker(workers) as checker:
        checker.scan(paths)
        for path in submit:
            checker.submit(task(path))
        return [checker.outcome() for _ in submit]


def test_outcomes_follow_submission_not_reading_order(tmp_path: Path) -> None:
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.warc.gz")
        write_warc(paths[-1], [b"x" * i] * (i + 1))
    order = [paths[2], paths[0], paths[3], paths[1]]
    expected = outcomes(0, paths, order)
    assert [o.records for o in expected] == [3, 1, 4, 2]
    for workers in (1, 2, 3):
        assert outcomes(workers, paths, order) == expected
        assert outcomes(workers, paths[:1], order) == expected  # most not read ahead
        assert outcomes(workers, paths[::-1], order) == expected


def test_a_file_read_ahead_then_dropped(tmp_path: Path) -> None:
    a, b = tmp_path / "a.warc.gz", tmp_path / "b.warc.gz"
    write_warc(a, [b"a"] * 3)
    write_warc(b, [b"b"] * 2)
    with FileChecker(1) as checker:
        checker.scan([a, b])
        checker.scan([b])  # a is not wanted after all
        checker.submit(task(b))
        assert checker.outcome().records == 2


def test_records_beyond_the_read_ahead_buffer(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_workers, "BUFFER_RECORDS", 3)  # the fork inherits it
    path = tmp_path / "a.warc.gz"
    write_warc(path, [b"%d" % i for i in range(50)])
    seen: list[int] = []
    with FileChecker(1) as checker:
        checker.on_bytes = seen.append
        checker.scan([path])
        time.sleep(0.3)  # let the worker fill its buffer and wait
        checker.submit(task(path))
        outcome = checker.outcome()
    assert outcome.records == 50 and outcome.bytes == path.stat().st_size
    assert sum(seen) == path.stat().st_size


@pytest.mark.parametrize("workers", [0, 1])
def test_an_unreadable_file_raises_in_the_caller(tmp_path: Path, workers: int) -> None:
    gone = tmp_path / "gone.warc.gz"
    with pytest.raises(FileNotFoundError), FileChecker(workers) as checker:
        checker.scan([gone])
        checker.submit(task(gone))
        checker.outcome()


# -- one file checked in parts --------------------------------------------------------------


def crawled_task(crawled: CrawledCollection, path: Path) -> FileTask:
    """The file's task as `crawler verify` builds it: its row and its captures' rows."""
    from sqlalchemy import select

    from crawler.audit.verify import _capture_rows
    from crawler.store.db import open_database
    from crawler.store.models import CrawlRun, WarcFile

    sessions = open_database(crawled.db_url, upgrade_schema=False)
    try:
        with sessions() as session:
            warc = session.scalars(select(WarcFile)).one()
            run = session.get(CrawlRun, warc.run_id)
            assert run is not None
            row = FileRow(warc.name, warc.sha256, warc.size, warc.warcinfo_id, run.uuid)
            return FileTask(path, row, _capture_rows(session, warc))
    finally:
        sessions.kw["bind"].dispose()


def member_offsets(path: Path) -> list[int]:
    data, offsets, offset = path.read_bytes(), [], 0
    while offset < len(data):
        offsets.append(offset)
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        inflater.decompress(data[offset:])
        offset = len(data) - len(inflater.unused_data)
    return offsets


def in_two_parts(task: FileTask, cut: int) -> FileOutcome | None:
    parts = []
    for start, stop in ((0, cut), (cut, None)):
        scan = FileScan(task.path)
        parts.append(check_part(task, scan, scan_file(task.path, scan, start=start, stop=stop)))
    return join_parts(task, parts)


def one_walk(task: FileTask) -> FileOutcome:
    scan = FileScan(task.path)
    return check_file(task, scan, scan_file(task.path, scan))


def test_cut_anywhere_the_parts_join_into_the_one_walk(crawled: CrawledCollection) -> None:
    path = files_of(crawled.root)[0]
    task = crawled_task(crawled, path)
    whole = one_walk(task)
    assert whole.problems == [] and whole.records > 50
    offsets = member_offsets(path)
    cuts = {1, path.stat().st_size - 1, path.stat().st_size + 10}
    for at in offsets[1::7]:  # at a member, just after its first byte, just before it
        cuts |= {at, at + 1, at - 1}
    for cut in sorted(cuts):
        assert in_two_parts(task, cut) == whole, f"cut at {cut}"


def stored_with_false_magic(data: bytes, offset: int) -> tuple[bytes, int]:
    """The member at `offset` re-written stored (deflate level 0), its record's last
    bytes made a gzip header: a whole member with a gzip magic inside it. Returns the
    file and where that inner magic is."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    record = bytearray(inflater.decompress(data[offset:]))
    end = len(data) - len(inflater.unused_data)
    record[-12:-4] = GZIP_MAGIC + b"\x00" * 5
    member = zlib.compressobj(0, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    stored = member.compress(bytes(record)) + member.flush()
    inner = stored.index(GZIP_MAGIC, 3)
    return data[:offset] + stored + data[end:], offset + inner


def stored_with_inner_member(data: bytes, offset: int, inner_member: bytes) -> tuple[bytes, int]:
    """The member at `offset` re-written stored, the end of its record replaced by a whole
    gzip member of another record (a WARC record archived inside a record). Returns the
    file and where that inner member is."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    record = bytearray(inflater.decompress(data[offset:]))
    end = len(data) - len(inflater.unused_data)
    record[-len(inner_member) - 4:-4] = inner_member
    member = zlib.compressobj(0, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    stored = member.compress(bytes(record)) + member.flush()
    inner = stored.index(inner_member)  # a stored block holds it whole
    return data[:offset] + stored + data[end:], offset + inner


def test_damage_at_a_cut(crawled: CrawledCollection, tmp_path: Path) -> None:
    """A gzip magic inside a whole member joins up wherever the cut is (a part begins
    only where a member inflates to "WARC/"), and so does a corrupt member cut inside
    (both parts resume at the same next member). A cut just before a corrupt member, a
    whole WARC record's member stored inside another member, or one record written
    twice make the parts fail to join — and the file is then walked whole."""
    source = files_of(crawled.root)[0]
    offsets = member_offsets(source)
    data = source.read_bytes()
    bad_at, dup = offsets[len(offsets) // 2], offsets[len(offsets) // 3]
    broken = bytearray(data)
    broken[bad_at + 30: bad_at + 60] = b"\xff" * 30
    dup_end = offsets[offsets.index(dup) + 1]
    false_magic, inner = stored_with_false_magic(data, bad_at)
    small = min(range(len(offsets) - 1), key=lambda i: offsets[i + 1] - offsets[i])
    nested, nested_at = stored_with_inner_member(
        data, bad_at, data[offsets[small]:offsets[small + 1]])
    cases = {  # name: (content, cuts that join, cuts that must not)
        # a part does not begin at a member that does not inflate to "WARC/", so a cut
        # just before a corrupt one is read whole; cuts inside it join
        "corrupt": (bytes(broken), [bad_at + 20, bad_at + 40, bad_at + 200], [bad_at]),
        "false magic": (false_magic, [bad_at, bad_at + 1, inner - 1, inner, inner + 1], []),
        "a record inside a record": (nested, [bad_at, nested_at + 1],
                                     [bad_at + 1, nested_at - 1, nested_at]),
        "duplicated": (data[:dup_end] + data[dup:], [dup, dup_end + 1], [dup_end]),
    }
    for name, (content, joining, failing) in cases.items():
        path = tmp_path / source.name
        path.write_bytes(content)
        task = crawled_task(crawled, path)
        whole = one_walk(task)
        assert whole.problems, name
        for cut in joining:
            assert in_two_parts(task, cut) == whole, f"{name}: cut at {cut}"
        for cut in failing:
            assert in_two_parts(task, cut) is None, f"{name}: cut at {cut}"
        cut = (failing or joining)[0]
        with FileChecker(2, min_part=1) as checker:
            checker._plans[path] = [verify_workers.Part(path, 0, cut),
                                    verify_workers.Part(path, cut, None)]
            checker.scan([path])
            checker.submit(task)
            assert checker.outcome() == whole, name


def test_a_large_file_is_read_by_every_worker(crawled: CrawledCollection, tmp_path: Path) -> None:
    path = files_of(crawled.root)[0]
    task = crawled_task(crawled, path)
    size = path.stat().st_size
    assert verify_workers.plan_parts(path, 4, min_part=size + 1) == [verify_workers.Part(path)]
    parts = verify_workers.plan_parts(path, 4, min_part=size // 4)
    assert [p.start for p in parts] == [0, size // 4, size // 2, size * 3 // 4]
    assert [p.stop for p in parts] == [size // 4, size // 2, size * 3 // 4, None]
    seen: list[int] = []
    with FileChecker(4, min_part=size // 4) as checker:
        checker.on_bytes = seen.append
        checker.scan([path])
        checker.submit(task)
        outcome = checker.outcome()
    assert outcome == one_walk(task) and outcome.problems == []
    assert sum(seen) == size  # every byte counted once, by the part it lies in


def test_more_parts_than_workers_go_out_in_snake_order(crawled: CrawledCollection,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = files_of(crawled.root)[0]
    task = crawled_task(crawled, path)
    size = path.stat().st_size
    chosen: list[int] = []
    least_loaded = FileChecker._least_loaded

    def spy(self: FileChecker) -> Any:
        worker = least_loaded(self)
        chosen.append(self._workers.index(worker))
        return worker

    monkeypatch.setattr(FileChecker, "_least_loaded", spy)
    with FileChecker(2, min_part=size // 8) as checker:
        assert len(checker.parts(path)) == 8
        checker.scan([path])
        checker.submit(task)
        outcome = checker.outcome()
    assert outcome == one_walk(task) and outcome.problems == []
    assert chosen == [0, 1, 1, 0, 0, 1, 1, 0]


@pytest.mark.parametrize("workers", [1, 2])
def test_one_file_submitted_twice_is_checked_against_each_tasks_rows(
        crawled: CrawledCollection, workers: int) -> None:
    """Two warc_files rows may name one file: each submission is checked against its own
    rows, even by a worker that holds the rows of the same path already."""
    path = files_of(crawled.root)[0]
    with_rows, without = crawled_task(crawled, path), task(path)
    size = path.stat().st_size
    with FileChecker(workers, min_part=size // 4) as checker:
        checker.scan([path, path])
        checker.submit(with_rows)
        checker.submit(without)
        first, second = checker.outcome(), checker.outcome()
    assert first == one_walk(with_rows) and first.problems == []
    assert second == one_walk(without)
    assert {p.kind for p in second.problems} >= {"record-unreferenced"}
