"""End to end: the real spider in a real Scrapy process against the fixture site,
checked with readers nobody here wrote (warcio, zlib, hashlib, cdxj-indexer)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
import urllib.request
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from crawler.store.db import open_database
from crawler.store.models import Capture, CrawlRun, Seed, WarcFile
from helpers import CrawledCollection, run_cli


def _rows(crawled: CrawledCollection, model: type) -> list:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    with sessions() as session:
        rows = list(session.scalars(select(model)))
        for row in rows:  # load relationships before the session closes
            getattr(row, "warc_file", None)
        return rows


def _warcs(crawled: CrawledCollection) -> list[Path]:
    files = sorted((crawled.root / "archive").glob("*.warc.gz"))
    assert files, "no WARC file written"
    return files


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _member(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        chunk = fh.read(length)
    d = zlib.decompressobj(zlib.MAX_WBITS + 16)
    data = d.decompress(chunk)
    assert d.eof and not d.unused_data, f"{path.name}@{offset}: not exactly one gzip member"
    return data


def _split_record(data: bytes) -> tuple[dict[str, str], bytes]:
    head, _, block = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8").split("\r\n")
    assert lines[0] == "WARC/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(headers["Content-Length"])
    assert block[length:] == b"\r\n\r\n"
    return headers, block[:length]


def test_crawl_prints_summary_and_exits_0(crawled: CrawledCollection) -> None:
    assert crawled.returncode == 0
    for seed in ("000", "001", "002", "003", "004"):
        assert f"│ {seed}  │ 200" in crawled.stdout
    assert "ledger head: " in crawled.stdout
    assert ".warc.gz" in crawled.stdout


def test_every_record_reads_back_with_digests(crawled: CrawledCollection) -> None:
    types: dict[str, int] = {}
    for path in _warcs(crawled):
        with path.open("rb") as fh:
            for i, record in enumerate(ArchiveIterator(fh, check_digests="raise")):
                record.content_stream().read()
                types[record.rec_type] = types.get(record.rec_type, 0) + 1
                if i == 0:
                    assert record.rec_type == "warcinfo"
    assert types["response"] == types["request"]
    assert types["metadata"] >= types["response"]


def test_warcinfo_says_who_what_and_how(crawled: CrawledCollection) -> None:
    path = _warcs(crawled)[0]
    with path.open("rb") as fh:
        info = next(iter(ArchiveIterator(fh)))
        fields = info.content_stream().read().decode()
    for expected in ("software: provenance-crawler/", "format: WARC File Format 1.1",
                     "conformsTo: https://iipc.github.io/warc-specifications/",
                     "robots: obey", "crawl-run: ", "operator: ", "hostname: ",
                     "gzip-level: 6", "re-serialised"):
        assert expected in fields, expected
    assert info.rec_headers.get_header("WARC-Filename") == path.name


def test_every_row_opens_exactly_its_records(crawled: CrawledCollection) -> None:
    captures = _rows(crawled, Capture)
    assert len(captures) > 40
    archive = crawled.root / "archive"
    for cap in captures:
        path = archive / cap.warc_file.name
        meta_headers, meta_block = _split_record(
            _member(path, cap.metadata_offset, cap.metadata_length))
        assert meta_headers["WARC-Type"] == "metadata"
        assert meta_headers["WARC-Record-ID"] == cap.metadata_record_id
        assert meta_headers["WARC-Target-URI"] == cap.url
        if cap.error:
            assert cap.warc_record_id is None
            assert f"fetch-error: {cap.error}".encode() in meta_block
            continue
        headers, block = _split_record(_member(path, cap.response_offset, cap.response_length))
        assert headers["WARC-Type"] == "response"
        assert headers["WARC-Record-ID"] == cap.warc_record_id
        assert headers["WARC-Target-URI"] == cap.url
        assert headers["WARC-Date"] == cap.fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert headers["WARC-IP-Address"] == cap.ip_address == "127.0.0.1"
        http_head, _, payload = block.partition(b"\r\n\r\n")
        # digests recomputed here from the bytes, not taken from warcio
        assert headers["WARC-Block-Digest"] == _sha1_b32(block) == cap.warc_block_digest
        assert headers["WARC-Payload-Digest"] == _sha1_b32(payload) == cap.warc_payload_digest
        assert hashlib.sha256(payload).hexdigest() == cap.payload_sha256
        assert len(payload) == cap.payload_length
        assert http_head.startswith(f"HTTP/1.1 {cap.status}".encode())
        assert b"transfer-encoding" not in http_head.lower()
        req_headers, req_block = _split_record(
            _member(path, cap.request_offset, cap.request_length))
        assert req_headers["WARC-Type"] == "request"
        assert req_headers["WARC-Concurrent-To"] == cap.warc_record_id
        assert req_headers["WARC-Record-ID"] == cap.request_record_id
        assert meta_headers["WARC-Concurrent-To"] == cap.warc_record_id
        assert f"payload-sha256: {cap.payload_sha256}".encode() in meta_block
        assert b"Accept-Encoding: gzip, deflate, br\r\n" in req_block
        assert b"zstd" not in req_block
        assert b"User-Agent: provenance-crawler/" in req_block


def test_files_are_whole_gzip_members_and_match_the_database(crawled: CrawledCollection) -> None:
    rows = {w.name: w for w in _rows(crawled, WarcFile)}
    for path in _warcs(crawled):
        data = path.read_bytes()
        offset, members = 0, 0
        while offset < len(data):
            d = zlib.decompressobj(zlib.MAX_WBITS + 16)
            d.decompress(data[offset:])
            assert d.eof, f"{path.name}: gzip member at {offset} is cut short"
            offset = len(data) - len(d.unused_data)
            members += 1
        assert members > 3
        row = rows[path.name]
        assert row.size == len(data)
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert row.closed_at is not None
    assert not list((crawled.root / "archive").glob("*.open"))


def test_cdxj_indexer_indexes_every_response(crawled: CrawledCollection) -> None:
    indexer = Path(sys.executable).with_name("cdxj-indexer")
    captures = [c for c in _rows(crawled, Capture) if c.warc_record_id]
    for path in _warcs(crawled):
        out = subprocess.run([str(indexer), str(path)], capture_output=True, text=True,
                             check=True).stdout
        lines = [json.loads(line.split(" ", 2)[2]) for line in out.splitlines() if line]
        indexed = {(entry["url"], int(entry["offset"])) for entry in lines
                   if entry.get("mime") != "warc/request"}
        for cap in captures:
            if cap.warc_file.name == path.name:
                assert (cap.url, cap.response_offset) in indexed, cap.url


@pytest.mark.parametrize(("seed", "coding"), [("002", "gzip"), ("003", "br"), ("001", "deflate")])
def test_encoded_pages_round_trip_byte_exact(crawled: CrawledCollection, seed: str,
                                             coding: str) -> None:
    cap = next(c for c in _rows(crawled, Capture)
               if c.seed_id == seed and c.role == "page" and c.status == 200)
    assert cap.content_encoding == coding
    _, block = _split_record(_member(crawled.root / "archive" / cap.warc_file.name,
                                     cap.response_offset, cap.response_length))
    stored = block.partition(b"\r\n\r\n")[2]
    request = urllib.request.Request(cap.url, headers={"Accept-Encoding": coding})
    with urllib.request.urlopen(request, timeout=10) as resp:
        sent = resp.read()
    assert stored == sent  # the payload exactly as the server sent it
    decoded = {"gzip": gzip.decompress, "deflate": zlib.decompress}.get(coding)
    if decoded:
        assert b"<article" in decoded(stored)


def test_chunked_page_is_stored_dechunked(crawled: CrawledCollection) -> None:
    cap = next(c for c in _rows(crawled, Capture) if c.seed_id == "000" and c.role == "page")
    path = crawled.root / "archive" / cap.warc_file.name
    _, block = _split_record(_member(path, cap.response_offset, cap.response_length))
    head, _, payload = block.partition(b"\r\n\r\n")
    # the server streamed it chunked; Twisted de-chunks and drops the header, so the
    # stored head has neither Transfer-Encoding nor an invented Content-Length
    assert b"transfer-encoding" not in head.lower()
    assert b"content-length" not in head.lower()
    assert payload.lstrip().startswith(b"<") and payload.rstrip().endswith(b"</html>")
    assert hashlib.sha256(payload).hexdigest() == cap.payload_sha256


def test_redirect_hops_are_two_linked_captures(crawled: CrawledCollection) -> None:
    pages = [c for c in _rows(crawled, Capture) if c.seed_id == "004" and c.role == "page"]
    first = next(c for c in pages if c.status == 301)
    final = next(c for c in pages if c.status == 200)
    assert first.url.endswith("/www.orissapost.com/?p=555484")
    assert first.redirect_location == final.url
    assert final.redirect_from_id == first.id
    assert final.requested_url == first.url
    _, meta = _split_record(_member(crawled.root / "archive" / final.warc_file.name,
                                    final.metadata_offset, final.metadata_length))
    assert f"redirect-from-record: {first.warc_record_id}".encode() in meta


def test_requisites_from_any_host_but_no_other_articles(crawled: CrawledCollection) -> None:
    captures = _rows(crawled, Capture)
    requisites = [c for c in captures if c.role == "requisite"]
    hosts = {urlsplit(c.url).hostname for c in requisites}
    assert hosts == {"127.0.0.1", "localhost"}  # the CDN host too
    assert any(c.hops == 2 for c in requisites), "nothing referenced from CSS was fetched"
    kinds = {(c.content_type or "").split(";")[0] for c in requisites}
    assert {"text/css", "image/png", "image/jpeg"} <= kinds or {"text/css", "image/gif"} <= kinds
    assert all(c.status == 200 for c in requisites)
    pages = [c for c in captures if c.role == "page"]
    assert len(pages) == 6  # five seeds, one of them a redirect
    assert not [c for c in requisites if (c.content_type or "").startswith("text/html")]


def test_robots_txt_is_archived_and_the_policy_recorded(crawled: CrawledCollection) -> None:
    robots = [c for c in _rows(crawled, Capture) if c.role == "robots"]
    assert {urlsplit(c.url).hostname for c in robots} == {"127.0.0.1", "localhost"}
    run = _rows(crawled, CrawlRun)[0]
    assert run.robots_policy == "obey"
    settings = json.loads(run.settings_json)
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["DEFAULT_REQUEST_HEADERS"]["Accept-Encoding"] == "gzip, deflate, br"
    assert run.status == "finished" and run.ended_at is not None
    assert run.pages == 6 and run.failures == 0
    assert run.ledger_head and run.ledger_head in crawled.stdout


def test_seed_copies_are_recorded_with_their_sha256(crawled: CrawledCollection) -> None:
    seeds = _rows(crawled, Seed)
    assert len(seeds) == 5
    for seed in seeds:
        data = (crawled.root / "seeds" / seed.copy_file).read_bytes()
        assert seed.copy_sha256 == hashlib.sha256(data).hexdigest()


def test_captures_command_lists_the_captures(crawled: CrawledCollection) -> None:
    proc = run_cli("captures", "--pages", "--collection", str(crawled.root),
                   db_url=crawled.db_url)
    assert proc.returncode == 0, proc.stderr
    assert "6 captures" in proc.stdout
    for seed in ("000", "001", "002", "003", "004"):
        assert f"│ {seed}" in proc.stdout
    proc = run_cli("--collection", str(crawled.root), "captures", "--json", db_url=crawled.db_url)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(_rows(crawled, Capture))
    assert all(r["warc_file"].endswith(".warc.gz") for r in rows)
