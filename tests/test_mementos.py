"""Memento lookup (`crawler.access.mementos`): through archive/index.cdxj and
archive/canonical.cdxj when they are current, else through the database, with the same
answers either way, reading only the URL's own pages on the index path, and writing
nothing on either."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

import crawler.access.archived_page as archived_page
import crawler.access.mementos as lookup
from crawler.access import cdx
from crawler.cli import main
from crawler.fixture_site.manifest import SEEDS, local_url
from crawler.store.db import open_database
from crawler.store.models import Capture
from helpers import CrawledCollection


@contextmanager
def session_of(crawled: CrawledCollection) -> Iterator[Session]:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    with sessions() as session:
        yield session


def seed_urls(crawled: CrawledCollection) -> list[str]:
    return [local_url(s.original_url, crawled.base_url) for s in SEEDS]


def every_url(session: Session, archive: Path) -> list[str]:
    """Every URL a capture was made of or requested as, every canonical URL an archived
    page declares, each also with a fragment (which the SURT key ignores)."""
    caps = session.scalars(select(Capture).options(joinedload(Capture.warc_file))).unique().all()
    urls = {u for c in caps for u in (c.url, c.requested_url) if u}
    urls |= {canon for c in caps if lookup.is_memento(c)
             if (canon := lookup.canonical_of(c, archive))}
    variants = {u + "#part" for u in urls}
    return sorted(urls | variants | {"http://example.invalid/never-archived"})


def ids(caps: list[Capture]) -> list[int]:
    return [c.id for c in caps]


class Reads:
    """Counts the WARC records read back (every read goes through read_record_at)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = archived_page.read_record_at

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(archived_page, "read_record_at", counted)


def no_database_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> list[Capture]:
        raise AssertionError("the index is current: the lookup must not scan the database")

    monkeypatch.setattr(lookup, "mementos_in_database", refuse)


def page_mementos(session: Session) -> list[Capture]:
    pages = session.scalars(select(Capture).options(joinedload(Capture.warc_file))
                            .where(Capture.role == "page")).unique().all()
    return [c for c in pages if lookup.is_memento(c) and "html" in (c.content_type or "")]


def test_the_index_path_gives_the_database_answers(crawled: CrawledCollection,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    archive = crawled.root / "archive"
    assert cdx.current_lookup_files(archive), "the crawl left no current index"
    with session_of(crawled) as session:
        urls = every_url(session, archive)
        expected = {u: ids(lookup.mementos_in_database(session, u, archive_dir=archive))
                    for u in urls}
        no_database_path(monkeypatch)
        got = {u: ids(lookup.mementos(session, u, archive_dir=archive)) for u in urls}
    assert got == expected
    assert sum(1 for found in expected.values() if found) >= len(SEEDS)
    assert not expected["http://example.invalid/never-archived"]


def test_the_lookup_reads_only_the_urls_own_pages(crawled: CrawledCollection,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    archive = crawled.root / "archive"
    reads = Reads(monkeypatch)
    with session_of(crawled) as session:
        pages = page_mementos(session)
        assert len(pages) >= len(SEEDS)
        lookup.mementos_in_database(session, seed_urls(crawled)[0], archive_dir=archive)
        assert reads.count >= len(pages)  # what the lookup did before the index: every page
        for url in seed_urls(crawled):
            reads.count = 0
            found = lookup.mementos(session, url, archive_dir=archive)
            assert found, url
            own = [c for c in found if c.role == "page"]
            assert reads.count <= len(own) < len(pages), url


def _delete_canonicals(archive: Path) -> None:
    (archive / cdx.CANONICAL_NAME).unlink()


def _delete_index(archive: Path) -> None:
    (archive / cdx.INDEX_NAME).unlink()


def _touch_a_warc_file(archive: Path) -> None:
    warc = cdx.warc_files(archive)[0]
    later = (archive / cdx.INDEX_NAME).stat().st_mtime + 10
    os.utime(warc, (later, later))


def _hide_a_warc_file(archive: Path) -> None:  # as if a crawl were still writing it
    warc = cdx.warc_files(archive)[-1]
    warc.rename(warc.with_name(warc.name + ".open"))


def _old_canonicals(archive: Path) -> None:  # an index that does not cover every file
    path = archive / cdx.CANONICAL_NAME
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    meta = json.loads(lines[0].split(" ", 1)[1])
    meta["warc_files"] = meta["warc_files"][:-1]
    stamp = path.stat().st_mtime
    path.write_text("!meta " + json.dumps(meta) + "\n" + "".join(lines[1:]), encoding="utf-8")
    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize("make_stale", [_delete_canonicals, _delete_index, _touch_a_warc_file,
                                        _hide_a_warc_file, _old_canonicals])
def test_a_stale_or_missing_index_falls_back_and_writes_nothing(
        crawled_copy: CrawledCollection, monkeypatch: pytest.MonkeyPatch,
        make_stale: Any) -> None:
    archive = crawled_copy.root / "archive"
    urls = seed_urls(crawled_copy)
    with session_of(crawled_copy) as session:
        with_index = {u: ids(lookup.mementos(session, u, archive_dir=archive)) for u in urls}
    make_stale(archive)
    assert cdx.current_lookup_files(archive) is None
    before = sorted((p.name, p.stat().st_mtime_ns) for p in archive.iterdir())
    reads = Reads(monkeypatch)
    with session_of(crawled_copy) as session:
        pages = len(page_mementos(session))
        for url in urls:
            reads.count = 0
            found = ids(lookup.mementos(session, url, archive_dir=archive))
            if make_stale is _hide_a_warc_file:  # the hidden file's captures cannot be read
                assert set(found) <= set(with_index[url])
            else:
                assert found == with_index[url]
            assert reads.count >= pages  # the database path: every page read again
    assert sorted((p.name, p.stat().st_mtime_ns) for p in archive.iterdir()) == before


def test_cite_and_timemap_print_the_same_without_the_index(
        crawled_copy: CrawledCollection, capsys: pytest.CaptureFixture[str]) -> None:
    archive = crawled_copy.root / "archive"
    darpan = next(s for s in SEEDS if s.id == "002")
    canonical = local_url(darpan.original_url, crawled_copy.base_url).split("?", 1)[0]
    commands = [[cmd, url, *fmt] for url in [*seed_urls(crawled_copy), canonical]
                for cmd, fmt in (("timemap", []), ("cite", ["--format", "bibtex"]))]

    def outputs() -> list[tuple[int, str, str]]:
        found = []
        for argv in commands:
            code = main(["--collection", str(crawled_copy.root), "--db", crawled_copy.db_url,
                         *argv])
            out = capsys.readouterr()
            found.append((code, out.out, out.err))
        return found

    assert cdx.current_lookup_files(archive)
    with_index = outputs()
    assert all(code == 0 for code, _, _ in with_index)
    _delete_canonicals(archive)
    _delete_index(archive)
    assert outputs() == with_index


def test_canonical_index_lists_each_declared_canonical(crawled: CrawledCollection) -> None:
    archive = crawled.root / "archive"
    path = archive / cdx.CANONICAL_NAME
    meta, *raw = path.read_text(encoding="utf-8").splitlines()
    assert meta.startswith("!meta ")
    assert sorted(json.loads(meta[6:])["warc_files"]) == [p.name for p in cdx.warc_files(archive)]
    assert raw == sorted(raw)
    lines = {(ln.filename, ln.offset): ln for ln in map(cdx.CdxjLine.parse, raw)}
    with session_of(crawled) as session:
        declared: dict[tuple[str, int], str] = {}
        for cap in page_mementos(session):
            canonical = lookup.canonical_of(cap, archive)
            if canonical:
                assert cap.warc_file is not None and cap.response_offset is not None
                declared[(cap.warc_file.name, cap.response_offset)] = canonical
    assert declared, "no fixture page declares a canonical URL"
    assert set(lines) >= set(declared)
    for where, canonical in declared.items():
        assert lines[where].urlkey == cdx.url_key(canonical)
        assert lines[where].fields["url"] and lines[where].fields["canonical"]


def test_lines_for_key_finds_exactly_the_keys_lines(tmp_path: Path) -> None:
    keys = ["com,a)/", "com,a)/x", "com,a)/x?y=1", "com,a)/xy", "com,b)/", "org,z)/last"]
    lines = sorted(f"{key} 2026010100000{i} {json.dumps({'n': i, 'key': key})}\n"
                   for key in keys for i in range(3 if key.endswith("x") else 1))
    path = tmp_path / "index.cdxj"
    path.write_text('!meta {"warc_files": []}\n' + "".join(lines), encoding="utf-8")
    for key in keys:
        found = cdx.lines_for_key(path, key)
        assert [ln.fields["key"] for ln in found] == [key] * (3 if key.endswith("x") else 1)
        assert [ln.timestamp for ln in found] == sorted(ln.timestamp for ln in found)
    for absent in ["a", "com,a)", "com,a)/x?", "com,c)/", "zzz"]:
        assert cdx.lines_for_key(path, absent) == []
    empty = tmp_path / "empty.cdxj"
    empty.write_text("", encoding="utf-8")
    assert cdx.lines_for_key(empty, "com,a)/") == []
