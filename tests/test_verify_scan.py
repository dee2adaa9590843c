"""crawler.warc.scan on records large and small, fed whole or in the smallest pieces.

The scanner hashes what the inflater hands it as it arrives; however the output is
cut (a header block or the closing CRLF CRLF split across pieces, a member larger
than the read block), the records must come out the same and match warcio's own
digests. Records travel from worker processes pickled, and must come back equal.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.warc import scan as verify_scan
from crawler.warc.heads import Headers, parse_head
from crawler.warc.scan import FileScan, ScannedRecord, scan_file


def write_records(path: Path, payloads: list[bytes], *, header_bytes: int = 0) -> None:
    """Response records (HTTP headers padded by `header_bytes`) and a metadata record."""
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        for i, body in enumerate(payloads):
            head = StatusAndHeaders("200 OK", [("Content-Type", "text/plain"),
                                               ("X-Pad", "p" * header_bytes)],
                                    protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"http://example.org/{i}", "response", payload=io.BytesIO(body),
                length=len(body), http_headers=head))
        writer.write_record(writer.create_warc_record(
            "http://example.org/", "metadata", payload=io.BytesIO(b"role: page\r\n"),
            warc_content_type="application/warc-fields"))


def fields_of(record: ScannedRecord) -> tuple[object, ...]:
    http = record.http_headers
    return (record.offset, record.length, record.warc_headers.headers if record.warc_headers
            else None, http.headers if http else None, http.protocol if http else None,
            record.block_length, record.block_digest, record.payload_digest,
            record.payload_sha256, record.payload_length, record.body, record.errors)


PAYLOADS = [b"", b"small", os.urandom(3 << 20), b"text " * 2_000_000]  # random: > 1 MiB gzipped


def test_large_records_match_warcio(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_records(path, PAYLOADS)
    scan = FileScan(path)
    records = list(scan_file(path, scan))
    assert len(records) == len(PAYLOADS) + 1 and not any(r.errors for r in records)
    for record, payload in zip(records, PAYLOADS, strict=False):
        assert record.block_digest == record.header("WARC-Block-Digest")
        assert record.payload_digest == record.header("WARC-Payload-Digest")
        assert record.payload_sha256 == hashlib.sha256(payload).hexdigest()
        assert record.payload_length == len(payload)
    assert records[-1].body == b"role: page\r\n"
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert records[-1].offset + records[-1].length == scan.size == path.stat().st_size


@pytest.mark.parametrize("piece", [1, 3, 17, 1000])
def test_cut_in_small_pieces_the_records_are_the_same(tmp_path: Path, piece: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.warc.gz"
    write_records(path, [b"one", b"two" * 5000], header_bytes=3000)
    whole = [fields_of(r) for r in scan_file(path, FileScan(path))]
    monkeypatch.setattr(verify_scan, "MAX_OUTPUT", piece)  # inflater output cut this small
    monkeypatch.setattr(verify_scan, "FIRST_WINDOW", piece)  # and its input too
    cut = [fields_of(r) for r in scan_file(path, FileScan(path))]
    assert cut == whole and not any(f[-1] for f in whole)


def test_records_survive_pickling(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_records(path, [b"one", b"two"])
    records = list(scan_file(path, FileScan(path)))
    back = pickle.loads(pickle.dumps(records))
    assert [fields_of(r) for r in back] == [fields_of(r) for r in records]
    assert isinstance(back[0].warc_headers, Headers)
    assert back[0].record_id == records[0].record_id is not None


def test_header_index_answers_as_warcio_does() -> None:
    raw = b"WARC/1.1\r\nWARC-Type: response\r\nX-A: 1\r\nx-a: 2\r\nX-Folded: one\r\n two\r\n\r\n"
    ours = parse_head(raw)
    theirs = StatusAndHeaders("", list(ours.headers), protocol="WARC/1.1")
    assert ours.protocol == "WARC/1.1" and ours.get_header("X-Folded") == "one two"
    names = ["warc-type", "X-A", "x-a", "X-New", "nothing"]
    for change in (lambda h: h.replace_header("X-A", "3"), lambda h: h.remove_header("x-a"),
                   lambda h: h.add_header("X-New", "n"), lambda h: h.remove_header("X-A")):
        assert change(ours) == change(theirs)
        assert [ours.get_header(n, "d") for n in names] == [theirs.get_header(n, "d")
                                                            for n in names]


def test_a_latin1_header_line_is_read_as_latin1() -> None:
    head = parse_head("HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nX-Utf: ".encode("latin-1")
                      + "naïve".encode() + b"\r\n\r\n")
    assert head.get_header("X-Name") == "caf\xe9" and head.get_header("X-Utf") == "naïve"
    assert head.protocol == "HTTP/1.1" and head.get_statuscode() == "200"


def test_the_walker_agrees_with_warcio_on_a_crawl(crawled) -> None:
    """Differential: over the crawl's own WARC files, the walker and warcio's
    ArchiveIterator find the same records at the same offsets and lengths, with the
    same ids and types, and the walker's recomputed digests equal the headers warcio
    reads (warcio checks them too, and raises on a mismatch)."""
    from warcio.archiveiterator import ArchiveIterator

    paths = sorted((crawled.root / "archive").glob("*.warc.gz"))
    assert paths
    for path in paths:
        with path.open("rb") as fh:
            iterator = ArchiveIterator(fh, check_digests="raise")
            theirs = []
            for record in iterator:
                record.content_stream().read()  # read to the end: the digests are checked
                theirs.append((iterator.get_record_offset(), iterator.get_record_length(),
                               record.rec_headers.get_header("WARC-Record-ID"),
                               record.rec_type,
                               record.rec_headers.get_header("WARC-Block-Digest"),
                               record.rec_headers.get_header("WARC-Payload-Digest")))
        scan = FileScan(path)
        ours = []
        for rec in scan_file(path, scan):
            assert not rec.errors, (path.name, rec.offset, rec.errors)
            ours.append((rec.offset, rec.length, rec.header("WARC-Record-ID"),
                         rec.header("WARC-Type"), rec.block_digest,
                         rec.payload_digest if rec.header("WARC-Payload-Digest") else None))
        assert len(theirs) > 1 and ours == theirs, path.name
        assert scan.size == path.stat().st_size and scan.truncated_at is None
