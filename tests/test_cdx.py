"""`crawler index`: archive/index.cdxj in cdxj-indexer form, sorted, kept current after a
crawl, every line pointing at the record it names (checked with warcio)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crawler.access.cdx import CdxjLine, timestamp14
from crawler.store.db import open_database
from crawler.store.models import Capture
from crawler.warc.read import read_record_at
from helpers import CrawledCollection, run_cli


def _captures(crawled: CrawledCollection) -> list[Capture]:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    with sessions() as session:
        return list(session.scalars(select(Capture).options(joinedload(Capture.warc_file))))


def _lines(path: Path) -> list[CdxjLine]:
    return [CdxjLine.parse(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_crawl_leaves_a_sorted_index_in_pywb_form(crawled: CrawledCollection) -> None:
    index = crawled.root / "archive" / "index.cdxj"
    assert index.exists(), "crawl did not write archive/index.cdxj"
    raw = index.read_text(encoding="utf-8").splitlines()
    assert raw == sorted(raw)
    for line in _lines(index):
        assert len(line.timestamp) == 14 and line.timestamp.isdigit()
        assert ")/" in line.urlkey  # SURT form: host reversed, then the path
        assert {"url", "status", "digest", "length", "offset", "filename"} <= set(line.fields)


def test_every_line_points_at_its_record(crawled: CrawledCollection) -> None:
    archive = crawled.root / "archive"
    by_record = {c.warc_record_id: c for c in _captures(crawled) if c.warc_record_id}
    lines = _lines(archive / "index.cdxj")
    for line in lines:
        record = read_record_at(archive / line.filename, line.offset)
        assert record.record_type == "response"
        assert record.target_uri == line.url
        assert record.warc_headers.get_header("WARC-Payload-Digest") == line.fields["digest"]
        assert timestamp14(record.date) == line.timestamp
        cap = by_record[record.record_id]
        assert (cap.warc_file.name, cap.response_offset, cap.response_length) == (
            line.filename, line.offset, line.length)
        assert str(cap.status) == line.fields["status"]
    # and every stored response is in the index, once
    assert sorted(by_record) == sorted(read_record_at(archive / ln.filename, ln.offset).record_id
                                       for ln in lines)


def test_index_command_rewrites_the_same_index(crawled_copy: CrawledCollection) -> None:
    index = crawled_copy.root / "archive" / "index.cdxj"
    canonical = index.with_name("canonical.cdxj")  # the canonical URLs, written beside it
    before = index.read_text(encoding="utf-8")
    canonical_before = canonical.read_text(encoding="utf-8")
    index.unlink()
    canonical.unlink()
    proc = run_cli("index", "--collection", str(crawled_copy.root), db_url=crawled_copy.db_url)
    assert proc.returncode == 0, proc.stderr
    assert "index.cdxj" in proc.stdout
    assert index.read_text(encoding="utf-8") == before
    assert not list(index.parent.glob(".index-*")), "temporary index left behind"
    assert canonical.read_text(encoding="utf-8") == canonical_before
    assert canonical.stat().st_mtime >= index.stat().st_mtime


def test_unreadable_warc_file_is_a_loud_failure(crawled_copy: CrawledCollection) -> None:
    warc = sorted((crawled_copy.root / "archive").glob("*.warc.gz"))[0]
    data = bytearray(warc.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
    warc.write_bytes(bytes(data))
    index = crawled_copy.root / "archive" / "index.cdxj"
    before = index.read_bytes()
    proc = run_cli("index", "--collection", str(crawled_copy.root), db_url=crawled_copy.db_url)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not readable" in proc.stderr
    assert index.read_bytes() == before, "a failed run must leave the old index alone"


def test_index_of_a_missing_collection_is_bad_input(tmp_path: Path) -> None:
    proc = run_cli("index", "--collection", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
