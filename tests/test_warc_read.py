"""Reading records back by offset, content decoding, and the streaming whole-file scan."""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from pathlib import Path

import brotli
import pytest
from sqlalchemy import create_engine, text
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.errors import IntegrityError
from crawler.warc.read import decode_content, parse_warc_fields, read_record_at
from crawler.warc.scan import FileScan, scan_file
from helpers import CrawledCollection


def write_warc(path: Path, bodies: list[bytes]) -> None:
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        for i, body in enumerate(bodies):
            head = StatusAndHeaders("200 OK", [("Content-Type", "text/plain")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"http://example.org/{i}", "response", payload=io.BytesIO(body),
                length=len(body), http_headers=head))


def test_read_capture_back(crawled: CrawledCollection) -> None:
    engine = create_engine(crawled.db_url)
    with engine.connect() as conn:
        name, offset, rid, sha, url, status = conn.execute(text(
            "SELECT w.name, c.response_offset, c.warc_record_id, c.payload_sha256, c.url, c.status "
            "FROM captures c JOIN warc_files w ON w.id = c.warc_file_id "
            "WHERE c.warc_record_id IS NOT NULL ORDER BY c.id LIMIT 1")).one()
    engine.dispose()
    record = read_record_at(crawled.root / "archive" / name, offset)
    assert record.record_id == rid and record.target_uri == url and record.status == status
    assert hashlib.sha256(record.payload).hexdigest() == sha
    assert record.date is not None and record.date.tzinfo is not None


def test_read_at_a_wrong_offset_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(path, [b"hello"])
    with pytest.raises(IntegrityError, match="offset 3"):
        read_record_at(path, 3)


def test_bytes_that_read_as_an_arc_record_are_not_a_warc_record(tmp_path: Path) -> None:
    """warcio falls back to ARC when the bytes are not WARC, and an ARC head is any line
    of five fields: read at a wrong offset, the inside of a gzip member sometimes reads
    as one (1 offset in ~25 in a loop of fresh files). It must fail like any other."""
    path = tmp_path / "a.warc.gz"
    write_warc(path, [b"hello"])
    arc = b"http://example.org/ 127.0.0.1 20260101000000 text/plain 5\nhello\n"
    path.write_bytes(path.read_bytes() + arc)
    offset = path.stat().st_size - len(arc)
    with pytest.raises(IntegrityError, match=f"offset {offset}: not a WARC record .*arc"):
        read_record_at(path, offset)
    assert read_record_at(path, 0).payload.endswith(b"hello")  # the WARC record before it


@pytest.mark.parametrize("coding,encode", [
    ("gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]), ("br", brotli.compress),
    ("identity", lambda b: b), ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
])
def test_decode_content(coding: str, encode: object) -> None:
    assert decode_content(encode(b"payload " * 50), coding) == b"payload " * 50  # type: ignore[operator]


def test_decode_refuses_zstd() -> None:
    with pytest.raises(IntegrityError):
        decode_content(b"x", "zstd")


def test_parse_warc_fields() -> None:
    assert parse_warc_fields(b"a: 1\r\nvia: http://x/y\r\n\r\n") == [("a", "1"), ("via", "http://x/y")]


def test_scan_recomputes_digests_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(path, [b"one", b"two" * 100_000])
    scan = FileScan(path)
    records = list(scan_file(path, scan))
    assert len(records) == 2 and not any(r.errors for r in records)
    assert all(r.block_digest == r.header("WARC-Block-Digest") for r in records)
    assert all(r.payload_digest == r.header("WARC-Payload-Digest") for r in records)
    assert records[1].payload_sha256 == hashlib.sha256(b"two" * 100_000).hexdigest()
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert scan.size == path.stat().st_size == records[1].offset + records[1].length


def test_scan_finds_truncation_and_corruption(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(path, [b"one", b"two", b"three"])
    whole = path.read_bytes()
    second = list(scan_file(path, FileScan(path)))[1]
    path.write_bytes(whole[:-10])
    scan = FileScan(path)
    assert len(list(scan_file(path, scan))) == 2
    assert scan.truncated_at == second.offset + second.length
    broken = bytearray(whole)
    broken[second.offset + second.length // 2] ^= 0xFF
    path.write_bytes(bytes(broken))
    scan = FileScan(path)
    records = list(scan_file(path, scan))
    expected = [hashlib.sha256(b).hexdigest() for b in (b"one", b"three")]
    assert [r.payload_sha256 for r in records] == expected
    assert scan.corrupt and scan.corrupt[0][0] == second.offset
    assert scan.sha256 == hashlib.sha256(bytes(broken)).hexdigest()
