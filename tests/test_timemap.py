"""`crawler timemap`: an RFC 7089 TimeMap in application/link-format, following redirects
and canonical URLs, one memento per capture."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from sqlalchemy import select

from crawler.fixture_site.manifest import SEEDS, local_url
from crawler.store.db import open_database
from crawler.store.models import Capture
from helpers import CrawledCollection, run_cli

LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[a-z]+="[^"]*")+)')
PARAM = re.compile(r'([a-z]+)="([^"]*)"')


def parse_link_format(text: str) -> list[tuple[str, dict[str, str]]]:
    """A strict reader of RFC 6690 link-format as RFC 7089 TimeMaps use it."""
    entries = []
    for chunk in re.split(r",\s*(?=<)", text.strip()):
        match = LINK.fullmatch(chunk.strip())
        assert match, f"not a link-value: {chunk!r}"
        entries.append((match.group(1), dict(PARAM.findall(match.group(2)))))
    return entries


def _seed_url(crawled: CrawledCollection, seed_id: str) -> str:
    return local_url(next(s for s in SEEDS if s.id == seed_id).original_url, crawled.base_url)


def _final(crawled: CrawledCollection, seed_id: str) -> Capture:
    sessions = open_database(crawled.db_url, upgrade_schema=False)
    with sessions() as session:
        return session.scalars(select(Capture).where(
            Capture.seed_id == seed_id, Capture.role == "page", Capture.status == 200)).one()


def test_timemap_follows_the_redirect(crawled: CrawledCollection) -> None:
    url = _seed_url(crawled, "004")
    proc = run_cli("timemap", "--collection", str(crawled.root), url, db_url=crawled.db_url)
    assert proc.returncode == 0, proc.stderr
    entries = parse_link_format(proc.stdout)
    assert entries[0] == (url, {"rel": "original"})
    rels = {params["rel"]: (uri, params) for uri, params in entries}
    self_uri, self_params = rels["self"]
    assert self_params["type"] == "application/link-format"
    assert self_uri.endswith(f"/timemap/link/{url}")
    assert rels["timegate"][0].endswith(f"/{url}")
    cap = _final(crawled, "004")
    mementos = [(u, p) for u, p in entries if "memento" in p["rel"].split()]
    assert len(mementos) == 1
    uri, params = mementos[0]
    assert params["rel"] == "first last memento"
    assert uri.endswith(f"/{cap.fetched_at:%Y%m%d%H%M%S}/{cap.url}")
    assert parsedate_to_datetime(params["datetime"]) == cap.fetched_at.replace(microsecond=0)
    assert params["datetime"].endswith(" GMT")
    assert self_params["from"] == self_params["until"] == params["datetime"]


def test_timemap_of_a_canonical_url(crawled: CrawledCollection) -> None:
    cap = _final(crawled, "002")
    canonical = cap.url.split("?", 1)[0]
    proc = run_cli("timemap", "--collection", str(crawled.root), canonical,
                   "--replay-base", "http://127.0.0.1:9999", db_url=crawled.db_url)
    assert proc.returncode == 0, proc.stderr
    mementos = [u for u, p in parse_link_format(proc.stdout) if "memento" in p["rel"]]
    assert mementos and all(u.startswith("http://127.0.0.1:9999/") for u in mementos)
    assert mementos[0].endswith("/" + cap.url)


def test_timemap_of_an_unknown_url_exits_2(crawled: CrawledCollection) -> None:
    proc = run_cli("timemap", "--collection", str(crawled.root),
                   "http://example.invalid/never-archived", db_url=crawled.db_url)
    assert proc.returncode == 2
    assert "no archived capture of http://example.invalid/never-archived" in proc.stderr
