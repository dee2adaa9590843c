"""How records are compressed: one gzip member each, at the configured level, stored
(level 0) when the payload does not compress; warcinfo names the library and level."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.warc.records import Fetch, build_records
from crawler.warc.write import DEFLATE_LIBRARY, RotatingWarcWriter, incompressible
from helpers import BASE, http_fetch


def _fetch(key: str, body: bytes, ctype: str) -> Fetch:
    return http_fetch(key, f"{BASE}/{key}", response_headers=(("Content-Type", ctype),),
                      body=body)


def test_incompressible_payloads_are_stored_and_read_back(tmp_path: Path) -> None:
    noise = os.urandom(50_000)
    text = b"<p>the same words again and again</p>\n" * 1500
    assert incompressible(noise) and not incompressible(text)
    assert not incompressible(os.urandom(3000))  # too small to bother
    closed = []
    writer = RotatingWarcWriter(tmp_path, prefix="T", max_size=10**9, gzip_level=6,
                                warcinfo={"software": "test"}, on_close=closed.append)
    locations = {}
    for key, body, ctype in (("jpg", noise, "image/jpeg"), ("html", text, "text/html")):
        built = build_records(writer.builder, _fetch(key, body, ctype), run_uuid="r",
                              software="t/1")
        locations[key] = [writer.append(r) for r in built.records]
    writer.close_current()
    data = (tmp_path / closed[0].name).read_bytes()
    jpg, html = locations["jpg"][0], locations["html"][0]
    assert jpg.length > len(noise)  # stored, not deflated
    assert html.length < len(text) // 10
    for loc in (jpg, html):  # still exactly one gzip member each
        member = data[loc.offset:loc.offset + loc.length]
        assert gzip.decompress(member).startswith(b"WARC/1.1\r\n")
    with (tmp_path / closed[0].name).open("rb") as fh:
        records = list(ArchiveIterator(fh, check_digests="raise"))
        # (iterating reads every record: digests checked)
    with (tmp_path / closed[0].name).open("rb") as fh:
        it = ArchiveIterator(fh, check_digests="raise")
        info = next(iter(it))
        fields = info.content_stream().read().decode()
        bodies = {r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
                  for r in it if r.rec_type == "response"}
    assert len(records) == 7
    assert "gzip-level: 6" in fields and f"gzip-library: {DEFLATE_LIBRARY}" in fields
    assert hashlib.sha256(bodies["http://127.0.0.1:8000/jpg"]).digest() == (
        hashlib.sha256(noise).digest())
    assert bodies["http://127.0.0.1:8000/html"] == text
