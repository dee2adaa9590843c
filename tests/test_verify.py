"""`crawler verify` on the crawled fixture collection: clean, then tampered one way per test.

Every tamper must be caught with exit 1 and a problem line that names it (kind,
file, offset, record id or capture id). Each test tampers with its own copy.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from helpers import CrawledCollection, crawl_collection, make_collection, postgres_database, run_cli


def verify(coll: CrawledCollection, *args: str) -> tuple[int, str]:
    proc = run_cli("verify", "--collection", str(coll.root), *args, db_url=coll.db_url)
    return proc.returncode, proc.stdout + proc.stderr


def sql(coll: CrawledCollection, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(coll.db_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def a_capture(coll: CrawledCollection, where: str = "warc_record_id IS NOT NULL") -> Any:
    """A capture with a response record that no other row depends on."""
    return sql(coll, f"""
        SELECT c.id, c.warc_record_id, c.response_offset, c.response_length, w.name,
               c.payload_sha256
        FROM captures c JOIN warc_files w ON w.id = c.warc_file_id
        WHERE {where} AND c.role = 'requisite'
          AND c.id NOT IN (SELECT redirect_from_id FROM captures WHERE redirect_from_id IS NOT NULL)
        ORDER BY c.id LIMIT 1""")[0]


def warc_path(coll: CrawledCollection, name: str | None = None) -> Path:
    if name:
        return coll.root / "archive" / name
    return sorted((coll.root / "archive").glob("*.warc.gz"))[0]


def problem_lines(output: str, kind: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(kind + " ")]


def test_clean_collection_verifies(crawled: CrawledCollection) -> None:
    code, out = verify(crawled)
    assert code == 0, out
    assert "OK" in out and "MB/s" in out
    assert "anchored" in out or "--expect-head" in out  # explains the ledger's limits


def test_json_report_for_one_run(crawled: CrawledCollection) -> None:
    proc = run_cli("verify", "--collection", str(crawled.root), "--run", "1", "--json",
                   db_url=crawled.db_url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["scope"] == "run 1"
    assert report["records"] > 3 * 5 and report["captures"] >= 5 and report["bytes"] > 0
    assert report["mb_per_s"] > 0


def test_unknown_run_and_bad_head_are_bad_input(crawled: CrawledCollection) -> None:
    assert verify(crawled, "--run", "999")[0] == 2
    assert verify(crawled, "--expect-head", "not-a-hash")[0] == 2


def test_published_head_is_found_and_a_foreign_one_is_not(crawled: CrawledCollection) -> None:
    head = run_cli("ledger", "head", "--collection", str(crawled.root),
                   db_url=crawled.db_url).stdout.split()[0]
    code, out = verify(crawled, "--expect-head", head)
    assert code == 0, out
    code, out = verify(crawled, "--expect-head", "ab" * 32)
    assert code == 1 and problem_lines(out, "head-not-found"), out


def test_flipped_payload_byte_is_caught(crawled_copy: CrawledCollection) -> None:
    """A byte of a response payload changed and the member re-gzipped: valid gzip, wrong bytes."""
    cap_id, rid, offset, length, name, _ = a_capture(crawled_copy)
    path = warc_path(crawled_copy, name)
    data = path.read_bytes()
    record = bytearray(zlib.decompress(data[offset:offset + length], zlib.MAX_WBITS | 16))
    record[-5] ^= 0x01  # last payload byte, before the closing CRLF CRLF
    member = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    path.write_bytes(data[:offset] + member.compress(bytes(record)) + member.flush()
                     + data[offset + length:])
    code, out = verify(crawled_copy)
    assert code == 1
    lines = problem_lines(out, "payload-sha256")
    assert lines and f"record={rid}" in lines[0] and f"capture={cap_id}" in lines[0], out
    assert any(f"record={rid}" in line for line in problem_lines(out, "block-digest")), out
    assert problem_lines(out, "file-sha256"), out


def test_flipped_byte_on_disk_is_caught(crawled_copy: CrawledCollection) -> None:
    cap_id, rid, offset, length, name, _ = a_capture(crawled_copy)
    path = warc_path(crawled_copy, name)
    data = bytearray(path.read_bytes())
    data[offset + length // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    code, out = verify(crawled_copy)
    assert code == 1
    assert any(f"offset={offset} " in line for line in problem_lines(out, "gzip-corrupt")), out
    assert any(f"record={rid}" in line for line in problem_lines(out, "record-missing")), out


def test_record_cut_out_is_caught(crawled_copy: CrawledCollection) -> None:
    cap_id, rid, offset, length, name, _ = a_capture(crawled_copy)
    path = warc_path(crawled_copy, name)
    data = path.read_bytes()
    path.write_bytes(data[:offset] + data[offset + length:])
    code, out = verify(crawled_copy)
    assert code == 1
    missing = problem_lines(out, "record-missing")
    assert any(f"record={rid}" in line and f"capture={cap_id}" in line for line in missing), out
    assert problem_lines(out, "record-moved") and problem_lines(out, "file-size"), out


def test_truncated_file_is_caught(crawled_copy: CrawledCollection) -> None:
    path = warc_path(crawled_copy)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size - 100)
    code, out = verify(crawled_copy)
    assert code == 1
    lines = problem_lines(out, "gzip-truncated")
    assert lines and path.name in lines[0], out
    assert problem_lines(out, "record-missing"), out


def test_deleted_file_is_caught(crawled_copy: CrawledCollection) -> None:
    path = warc_path(crawled_copy)
    path.unlink()
    code, out = verify(crawled_copy)
    assert code == 1
    assert any(path.name in line for line in problem_lines(out, "file-missing")), out


def test_file_left_open_is_caught(crawled_copy: CrawledCollection) -> None:
    path = warc_path(crawled_copy)
    path.rename(path.with_name(path.name + ".open"))
    code, out = verify(crawled_copy)
    assert code == 1 and problem_lines(out, "file-open"), out


def test_edited_capture_sha256_is_caught(crawled_copy: CrawledCollection) -> None:
    cap_id, rid, *_ , sha = a_capture(crawled_copy)
    forged = ("0" if sha[0] != "0" else "1") + sha[1:]
    sql(crawled_copy, "UPDATE captures SET payload_sha256 = :s WHERE id = :i", s=forged, i=cap_id)
    code, out = verify(crawled_copy)
    assert code == 1
    lines = problem_lines(out, "payload-sha256")
    assert lines and f"capture={cap_id}" in lines[0] and forged in lines[0], out
    changed = problem_lines(out, "row-changed")
    assert any(f"captures row {cap_id}:" in line and "payload_sha256" in line for line in changed)


def test_deleted_capture_row_is_caught(crawled_copy: CrawledCollection) -> None:
    cap_id, rid, *_ = a_capture(crawled_copy)
    sql(crawled_copy, "DELETE FROM captures WHERE id = :i", i=cap_id)
    code, out = verify(crawled_copy)
    assert code == 1
    assert any(f"record={rid}" in line for line in problem_lines(out, "record-unreferenced")), out
    assert any(f"capture={cap_id}" in line for line in problem_lines(out, "row-gone")), out


def nth_seqs(coll: CrawledCollection, *positions: int) -> list[int]:
    """Ledger seqs by position (sequences may have gaps where a transaction rolled back)."""
    seqs = [row[0] for row in sql(coll, "SELECT seq FROM ledger ORDER BY seq")]
    return [seqs[i] for i in positions]


def test_swapped_ledger_rows_are_caught(crawled_copy: CrawledCollection) -> None:
    a, b = nth_seqs(crawled_copy, 9, 10)
    sql(crawled_copy, "UPDATE ledger SET seq = -1 WHERE seq = :a", a=a)
    sql(crawled_copy, "UPDATE ledger SET seq = :a WHERE seq = :b", a=a, b=b)
    sql(crawled_copy, "UPDATE ledger SET seq = :b WHERE seq = -1", b=b)
    code, out = verify(crawled_copy)
    assert code == 1
    lines = problem_lines(out, "ledger-link")
    assert any(f"seq {a} " in line for line in lines), out
    assert any(f"seq {b} " in line for line in lines), out


def test_rewritten_ledger_entry_is_caught(crawled_copy: CrawledCollection) -> None:
    (seq,) = nth_seqs(crawled_copy, 11)
    payload = sql(crawled_copy, "SELECT payload FROM ledger WHERE seq = :s", s=seq)[0][0]
    sql(crawled_copy, "UPDATE ledger SET payload = :p WHERE seq = :s", s=seq,
        p=payload.replace('"row":{', '"row":{"forged":1,', 1))
    code, out = verify(crawled_copy)
    lines = problem_lines(out, "ledger-hash")
    assert code == 1 and any(f"seq {seq} " in line for line in lines), out


def test_edited_flag_text_is_caught(crawled_copy: CrawledCollection) -> None:
    """A flag recorded through the ledger, then its message edited in the database."""
    from crawler.store import ledger
    from crawler.store.db import open_database
    from crawler.store.models import Flag

    sessions = open_database(crawled_copy.db_url)
    with sessions.begin() as session:
        flag = Flag(seed_id="001", kind="text-differs", severity="major",
                    message="headline differs from the seed copy", evidence_json="{}",
                    software_version="test", created_at=dt.datetime.now(dt.UTC))
        session.add(flag)
        session.flush()
        ledger.append(session, [flag])
        flag_id = flag.id
    assert verify(crawled_copy)[0] == 0
    sql(crawled_copy, "UPDATE flags SET message = 'headline matches' WHERE id = :i", i=flag_id)
    code, out = verify(crawled_copy)
    assert code == 1
    assert any(f"flags row {flag_id}:" in line and "message" in line
               for line in problem_lines(out, "row-changed")), out


def test_row_added_outside_the_recorder_is_caught(crawled_copy: CrawledCollection) -> None:
    sql(crawled_copy, "INSERT INTO outlets (id, name) VALUES (999, 'Forged Outlet')")
    code, out = verify(crawled_copy)
    lines = problem_lines(out, "row-unledgered")
    assert code == 1 and any("outlets row 999" in line for line in lines), out


def test_verify_on_postgresql(site_server: str, tmp_path: Path) -> None:
    from crawler.fixture_site import demo_manifest_toml

    db_url = postgres_database()
    root = make_collection(tmp_path / "pg", demo_manifest_toml(site_server))
    result = crawl_collection(root, "--seed", "001", db_url=db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    coll = CrawledCollection(root, db_url, site_server, "", "", 0)
    code, out = verify(coll)
    assert code == 0, out
    cap_id, *_ = a_capture(coll)
    sql(coll, "UPDATE captures SET url = url || '?x' WHERE id = :i", i=cap_id)
    code, out = verify(coll)
    lines = problem_lines(out, "target-uri")
    assert code == 1 and any(f"capture={cap_id}" in line for line in lines), out


@pytest.mark.parametrize("name", ["CRAWL-20000101000000000-00000-forged-1.warc.gz"])
def test_unrecorded_file_is_caught(crawled_copy: CrawledCollection, name: str) -> None:
    (crawled_copy.root / "archive" / name).write_bytes(warc_path(crawled_copy).read_bytes())
    code, out = verify(crawled_copy)
    assert code == 1 and any(name in line for line in problem_lines(out, "file-unrecorded")), out


def test_edited_and_missing_seed_copies_are_caught(crawled_copy: CrawledCollection) -> None:
    copies = sql(crawled_copy, "SELECT id, copy_file FROM seeds WHERE copy_file IS NOT NULL "
                 "AND copy_file != '' ORDER BY id")
    assert len(copies) >= 2, copies
    (edited_id, edited), (gone_id, gone) = copies[0], copies[1]
    seeds_dir = crawled_copy.root / "seeds"
    with (seeds_dir / edited).open("a", encoding="utf-8") as fh:
        fh.write("\nA sentence added after the collection was made.\n")
    (seeds_dir / gone).unlink()
    code, out = verify(crawled_copy)
    assert code == 1
    lines = problem_lines(out, "seed-copy")
    assert len(lines) == 2, out
    assert f"seed {edited_id}: {edited} hashes to" in lines[0], out
    assert f"seed {gone_id}: its copy {gone} is missing" in lines[1], out
