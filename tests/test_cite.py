"""`crawler cite`: every format parsed by a real parser (bibtexparser, jsonschema with the
CSL-JSON schema, html.parser, a RIS reader), and the digest each carries equal to the
SHA-256 of the payload read back from the WARC file with warcio."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import bibtexparser
import jsonschema
import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import main
from crawler.fixture_site.manifest import SEEDS, local_url
from crawler.store.db import open_database
from crawler.store.models import Capture
from helpers import FAST, CrawledCollection, run_cli

SCHEMA = json.loads((Path(__file__).parent / "data" / "csl-data.schema.json").read_text())
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")


def cite(crawled: CrawledCollection, url: str, *args: str,
         capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["--collection", str(crawled.root), "--db", crawled.db_url, "cite", url, *args])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def seed_url(crawled: CrawledCollection, seed_id: str) -> str:
    seed = next(s for s in SEEDS if s.id == seed_id)
    return local_url(seed.original_url, crawled.base_url)


def final_capture(crawled: CrawledCollection, seed_id: str) -> Capture:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    with sessions() as session:
        caps = session.scalars(
            select(Capture).options(joinedload(Capture.warc_file))
            .where(Capture.seed_id == seed_id, Capture.role == "page", Capture.status == 200)
            .order_by(Capture.fetched_at)).all()
        assert caps, f"seed {seed_id} has no 200 capture"
        return caps[-1]


def record_of(crawled: CrawledCollection, cap: Capture) -> tuple[str, str, bytes]:
    """(record id, SHA-256 of the payload as stored, decoded body) read with warcio."""
    with (crawled.root / "archive" / cap.warc_file.name).open("rb") as fh:
        fh.seek(cap.response_offset)
        record = next(iter(ArchiveIterator(fh)))
        payload = record.raw_stream.read()
    with (crawled.root / "archive" / cap.warc_file.name).open("rb") as fh:
        fh.seek(cap.response_offset)
        body = next(iter(ArchiveIterator(fh))).content_stream().read()
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    return record_id, hashlib.sha256(payload).hexdigest(), body


SEED_IDS = [s.id for s in SEEDS]


@pytest.mark.parametrize("seed_id", SEED_IDS)
def test_bibtex_parses_and_carries_the_digest(crawled: CrawledCollection, seed_id: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cap = final_capture(crawled, seed_id)
    record_id, digest, _ = record_of(crawled, cap)
    library = bibtexparser.parse_string(cite(crawled, seed_url(crawled, seed_id),
                                             "--format", "bibtex", capsys=capsys))
    assert not library.failed_blocks
    (entry,) = library.entries
    assert entry.entry_type == "misc"
    fields = {f.key: f.value for f in entry.fields}
    assert fields["url"] == seed_url(crawled, seed_id)
    assert fields["urldate"] == cap.fetched_at.strftime("%Y-%m-%d")
    assert re.search(rf"/\d{{14}}/{re.escape(cap.url)}", fields["howpublished"])
    assert SHA256.findall(fields["note"])[0] == digest == cap.payload_sha256
    assert record_id in fields["note"].replace("\\", "")


@pytest.mark.parametrize("seed_id", SEED_IDS)
def test_csl_json_is_valid_csl(crawled: CrawledCollection, seed_id: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    cap = final_capture(crawled, seed_id)
    _, digest, body = record_of(crawled, cap)
    items = json.loads(cite(crawled, seed_url(crawled, seed_id), "--format", "csl-json",
                            capsys=capsys))
    jsonschema.validate(items, SCHEMA)
    (item,) = items
    assert item["type"] == "webpage" and item["URL"] == seed_url(crawled, seed_id)
    assert digest in item["note"]
    assert item["archive_location"].endswith("/" + cap.url)
    assert item["title"] and item["title"].split()[0].encode() in body
    seed = next(s for s in SEEDS if s.id == seed_id)
    if seed.published:
        assert item["issued"]["date-parts"][0] == [int(p) for p in seed.published.split("-")]
    else:
        assert "issued" not in item


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("seed_id", SEED_IDS)
def test_robust_link_attributes(crawled: CrawledCollection, seed_id: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    cap = final_capture(crawled, seed_id)
    record_id, digest, _ = record_of(crawled, cap)
    parser = _Anchors()
    parser.feed(cite(crawled, seed_url(crawled, seed_id), "--format", "robustlink",
                     capsys=capsys))
    (a,) = parser.anchors
    assert a["href"] == a["data-originalurl"] == seed_url(crawled, seed_id)
    stamp = cap.fetched_at.strftime("%Y%m%d%H%M%S")
    assert a["data-versionurl"].endswith(f"/{stamp}/{cap.url}")
    when = dt.datetime.fromisoformat(a["data-versiondate"].replace("Z", "+00:00"))
    assert when == cap.fetched_at.replace(microsecond=0)
    assert a["data-payload-sha256"] == digest and a["data-warc-record-id"] == record_id
    assert "".join(parser.text).strip()


def _ris(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.strip("\n").splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9])  - ?(.*)", line)
        assert match, f"not a RIS line: {line!r}"
        pairs.append((match.group(1), match.group(2)))
    return pairs


@pytest.mark.parametrize("seed_id", SEED_IDS)
def test_ris_and_text(crawled: CrawledCollection, seed_id: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    cap = final_capture(crawled, seed_id)
    record_id, digest, _ = record_of(crawled, cap)
    pairs = _ris(cite(crawled, seed_url(crawled, seed_id), "--format", "ris", capsys=capsys))
    assert pairs[0] == ("TY", "ELEC") and pairs[-1][0] == "ER"
    tags = dict(pairs)
    assert tags["UR"] == seed_url(crawled, seed_id) and tags["TI"]
    assert tags["Y2"] == cap.fetched_at.strftime("%Y/%m/%d")
    assert digest in tags["N1"] and record_id in tags["N1"]

    text = cite(crawled, seed_url(crawled, seed_id), capsys=capsys)
    outlet = next(s for s in SEEDS if s.id == seed_id).outlet
    stamp = cap.fetched_at.strftime("%Y%m%d%H%M%S")
    for part in (outlet, stamp, f"/{stamp}/{cap.url}", cap.warc_file.name, record_id, digest):
        assert part in text


def test_redirect_and_canonical_urls_find_the_article(crawled: CrawledCollection,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cap = final_capture(crawled, "004")  # ?p=555484 answers 301 to the permalink
    assert cap.url != seed_url(crawled, "004")
    item = json.loads(cite(crawled, seed_url(crawled, "004"), "--format", "csl-json",
                           capsys=capsys))[0]
    assert item["archive_location"].endswith("/" + cap.url)
    darpan = final_capture(crawled, "002")
    canonical = darpan.url.split("?", 1)[0]  # the page's <link rel=canonical>
    item = json.loads(cite(crawled, canonical, "--format", "csl-json", capsys=capsys))[0]
    assert item["archive_location"].endswith("/" + darpan.url)


def test_unknown_url_is_bad_input_with_suggestions(crawled: CrawledCollection) -> None:
    near = seed_url(crawled, "001").replace("taliban", "talibon")
    proc = run_cli("cite", "--collection", str(crawled.root), near, db_url=crawled.db_url)
    assert proc.returncode == 2
    assert "no archived capture of" in proc.stderr
    assert seed_url(crawled, "001") in proc.stderr  # the closest archived URL is offered
    bad = run_cli("cite", "--collection", str(crawled.root), seed_url(crawled, "001"),
                  "--at", "last tuesday", db_url=crawled.db_url)
    assert bad.returncode == 2 and "--at 'last tuesday'" in bad.stderr


def test_at_picks_the_nearest_capture_and_wacz_is_named(crawled_copy: CrawledCollection,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    first = final_capture(crawled_copy, "002")
    again = run_cli("crawl", "--collection", str(crawled_copy.root), "--seed", "002", *FAST,
                    db_url=crawled_copy.db_url)
    assert again.returncode == 0, again.stdout + again.stderr
    second = final_capture(crawled_copy, "002")
    assert second.id != first.id
    url = seed_url(crawled_copy, "002")
    at_first = cite(crawled_copy, url, "--at", first.fetched_at.isoformat(), capsys=capsys)
    assert first.warc_record_id in at_first and second.warc_record_id not in at_first
    latest = cite(crawled_copy, url, capsys=capsys)
    assert second.warc_record_id in latest
    assert "WACZ" not in latest
    assert main(["--collection", str(crawled_copy.root), "--db", crawled_copy.db_url,
                 "timemap", url]) == 0
    rels = re.findall(r'rel="([^"]+)"; datetime=', capsys.readouterr().out)
    assert rels == ["first memento", "last memento"]

    packaged = run_cli("package", "--collection", str(crawled_copy.root),
                       db_url=crawled_copy.db_url)
    assert packaged.returncode == 0, packaged.stderr
    (wacz,) = (crawled_copy.root / "archive").glob("*.wacz")
    text = cite(crawled_copy, url, capsys=capsys)
    assert f"WACZ {wacz.name}, SHA-256 {hashlib.sha256(wacz.read_bytes()).hexdigest()}" in text


def test_altered_warc_bytes_fail_loudly(crawled_copy: CrawledCollection) -> None:
    cap = final_capture(crawled_copy, "001")
    warc = crawled_copy.root / "archive" / cap.warc_file.name
    data = bytearray(warc.read_bytes())
    data[cap.response_offset + 40] ^= 0xFF  # inside the record's gzip member
    warc.write_bytes(bytes(data))
    proc = run_cli("cite", "--collection", str(crawled_copy.root), seed_url(crawled_copy, "001"),
                   db_url=crawled_copy.db_url)
    assert proc.returncode == 1
    assert cap.warc_file.name in proc.stderr
