"""WARC writing: round trip through warcio's reader, tamper detection, rotation, naming."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from crawler.warc.records import Fetch, build_records
from crawler.warc.write import RotatingWarcWriter, warc_filename
from helpers import BASE, WHEN, http_fetch


def _fetch(n: int, *, body: bytes | None = None, chunked: bool = False) -> Fetch:
    headers = [("Content-Type", "text/html; charset=utf-8")]
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    return http_fetch(
        f"k{n}", f"{BASE}/page/{n}?x=1",
        request_headers=(("Accept", "*/*"), ("User-Agent", "test")),
        response_headers=tuple(headers),
        body=body if body is not None else (f"<p>page {n}</p>" * 50).encode(),
        ip_address="127.0.0.1", seed_id="s", outlet="o", hops=0,
    )


def _write(tmp_path: Path, fetches: list[Fetch], *, max_size: int = 10**9) -> tuple[
        RotatingWarcWriter, list, list]:
    opened, closed = [], []
    writer = RotatingWarcWriter(
        tmp_path, prefix="TEST", max_size=max_size, gzip_level=6,
        warcinfo={"software": "test", "operator": "tester"},
        on_open=lambda *a: opened.append(a), on_close=closed.append, clock=lambda: WHEN,
        hostname="host",
    )
    locations = []
    for fetch in fetches:
        built = build_records(writer.builder, fetch, run_uuid="run-1", software="test/1")
        locations.append([writer.append(r) for r in built.records])
        if writer.needs_rotation():
            writer.close_current()
    writer.close_current()
    return writer, locations, closed


def test_round_trip_with_digest_checks(tmp_path: Path) -> None:
    _, locations, closed = _write(tmp_path, [_fetch(1), _fetch(2, chunked=True)])
    path = tmp_path / closed[0].name
    assert not list(tmp_path.glob("*.open"))
    with path.open("rb") as fh:
        records, contents = [], []
        for record in ArchiveIterator(fh, check_digests="raise"):
            records.append(record)
            contents.append(record.content_stream().read())
    types = [r.rec_type for r in records]
    assert types == ["warcinfo", "response", "request", "metadata",
                     "response", "request", "metadata"]
    warcinfo = records[0]
    assert warcinfo.rec_headers.get_header("WARC-Filename") == closed[0].name
    assert records[0].rec_headers.protocol == "WARC/1.1"
    response, request = records[1], records[2]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header(
        "WARC-Record-ID")
    assert response.rec_headers.get_header("WARC-Date") == "2026-11-22T10:30:15.123456Z"
    assert response.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"
    # chunked: the header is dropped, the drop is recorded in the metadata record
    second = records[4]
    assert second.http_headers.get_header("Transfer-Encoding") is None
    meta = contents[6].decode()
    assert "removed-http-header: Transfer-Encoding: chunked" in meta
    assert closed[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert closed[0].size == path.stat().st_size


def test_each_record_is_one_whole_gzip_member(tmp_path: Path) -> None:
    _, locations, closed = _write(tmp_path, [_fetch(n) for n in range(5)])
    data = (tmp_path / closed[0].name).read_bytes()
    members = [loc for group in locations for loc in group]
    for loc in members:
        chunk = data[loc.offset:loc.offset + loc.length]
        d = zlib.decompressobj(zlib.MAX_WBITS + 16)
        text = d.decompress(chunk)
        assert d.eof and not d.unused_data, f"member at {loc.offset} is not exactly one member"
        assert text.startswith(b"WARC/1.1\r\n")
        assert loc.record_id.encode() in text
    # members are contiguous up to the end of the file
    last = members[-1]
    assert last.offset + last.length == len(data)


def test_flipped_payload_byte_fails_digest_check(tmp_path: Path) -> None:
    _, locations, closed = _write(tmp_path, [_fetch(1, body=b"A" * 5000)])
    path = tmp_path / closed[0].name
    loc = locations[0][0]  # the response record
    raw = gzip.decompress(path.read_bytes()[loc.offset:loc.offset + loc.length])
    tampered = raw.replace(b"AAAA", b"AAAB", 1)
    data = path.read_bytes()
    path.write_bytes(data[:loc.offset] + gzip.compress(tampered) + data[loc.offset + loc.length:])
    with path.open("rb") as fh, pytest.raises(ArchiveLoadFailed, match="digest"):
        for record in ArchiveIterator(fh, check_digests="raise"):
            record.content_stream().read()


def test_rotation_and_naming(tmp_path: Path) -> None:
    _, _, closed = _write(tmp_path, [_fetch(n) for n in range(6)], max_size=1500)
    assert len(closed) > 1
    names = [c.name for c in closed]
    assert names[0] == "TEST-20261122103015123-00000-host-" + names[0].split("-")[-1]
    assert [n.split("-")[2] for n in names] == [f"{i:05d}" for i in range(len(names))]
    for c in closed:  # every file starts with its own warcinfo
        with (tmp_path / c.name).open("rb") as fh:
            assert next(iter(ArchiveIterator(fh))).rec_type == "warcinfo"


def test_failure_is_a_metadata_record_only(tmp_path: Path) -> None:
    failed = Fetch(key="f", url="http://127.0.0.1:1/x", fetched_at=WHEN, error="refused")
    _, locations, closed = _write(tmp_path, [failed])
    assert len(locations[0]) == 1
    with (tmp_path / closed[0].name).open("rb") as fh:
        records = [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(fh)]
    assert [t for t, _ in records] == ["warcinfo", "metadata"]
    assert b"fetch-error: refused" in records[1][1]


def test_filename_sanitises_hostname() -> None:
    name = warc_filename(prefix="P", when=WHEN, serial=3, hostname="a b/c", pid=7)
    assert name == "P-20261122103015123-00003-a_b_c-7.warc.gz"


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    from crawler.warc.write import WarcFile

    (tmp_path / "X.warc.gz").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        WarcFile(tmp_path, "X.warc.gz", gzip_level=6)
    assert (tmp_path / "X.warc.gz").read_bytes() == b"keep"


def test_warcio_decodes_brotli_payloads(tmp_path: Path) -> None:
    import brotli

    import crawler.warc.warcio_compat  # noqa: F401 - installed by tests/conftest.py

    html = "<p>ब्रॉटली</p>".encode() * 200
    fetch = Fetch(
        key="br", url="http://127.0.0.1:8000/br", fetched_at=WHEN, protocol="HTTP/1.1",
        status=200, body=brotli.compress(html),
        response_headers=(("Content-Type", "text/html; charset=utf-8"),
                          ("Content-Encoding", "br")),
    )
    _, _, closed = _write(tmp_path, [fetch])
    with (tmp_path / closed[0].name).open("rb") as fh:
        bodies = [r.content_stream().read() for r in ArchiveIterator(fh)
                  if r.rec_type == "response"]
    assert bodies == [html]
