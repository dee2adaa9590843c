"""Flag rules on pairs built for each kind (tests/data/compare/), including pairs that
must get no flag and a non-English article; fetch outcomes for the HTTP kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.compare.comparison import FetchOutcome, compare
from crawler.compare.flags import KINDS, Flag
from crawler.compare.live_page import extract_page
from crawler.compare.seed_copy import load_seed_copy
from crawler.warc.read import decode_html
from helpers import run_cli

DATA = Path(__file__).parent / "data" / "compare"
URL = "https://herald.example/business/port-terminal"


#: pages taken from the fixture site itself, rendered for a host of their own
SITE_PAGES = {
    "home.html": ("https://www.orissapost.example", "/www.orissapost.com/"),
    "hindi.html": ("https://samachar.example", "/test/nonenglish"),
    "soft404.html": ("https://www.orissapost.example", "/test/soft404"),
}


def page_bytes(page: str) -> bytes:
    if page not in SITE_PAGES:
        return (DATA / page).read_bytes()
    from werkzeug.test import Client

    from crawler.fixture_site import FixtureSite

    base, path = SITE_PAGES[page]
    response = Client(FixtureSite()).get(path, base_url=base)
    assert response.status_code == 200, f"fixture site {path}: {response.status}"
    return response.get_data()


def run_pair(copy: str, page: str = "article.html", *, url: str | None = URL,
             fetch: FetchOutcome | None = None):
    live = extract_page(decode_html(page_bytes(page)), url=url)
    return compare(load_seed_copy(DATA / copy), live=live, fetch=fetch)


def kinds(comparison) -> list[str]:
    return [f.kind for f in comparison.flags]


@pytest.mark.parametrize("copy, page", [
    ("identical.txt", "article.html"),
    ("whitespace_case.txt", "article.html"),  # case, punctuation, spacing only
    ("modified_date.txt", "article.html"),  # the copy shows the modification date
    ("hindi.txt", "hindi.html"),  # a non-English article, identical
])
def test_pairs_that_get_no_flag(copy, page):
    assert run_pair(copy, page).flags == ()


def test_edited_article_gets_each_text_kind():
    result = run_pair("edited.txt")
    assert sorted(set(kinds(result))) == ["date_mismatch", "text_added", "text_changed",
                                          "text_removed", "title_changed"]
    by_kind = {f.kind: f for f in result.flags}
    changed = by_kind["text_changed"]
    seed, live = changed.evidence
    assert seed.line == 7 and "180 million" in seed.text
    assert "240 million" in live.text and live.where.startswith("main text, paragraph")
    removed = by_kind["text_removed"]
    assert removed.evidence[0].line == 9 and "Tom Reyes" in removed.evidence[0].text
    assert "autumn" in by_kind["text_added"].evidence[0].text
    title = by_kind["title_changed"]
    assert title.evidence[0].line == 1 and "controversial" in title.evidence[0].text
    date = by_kind["date_mismatch"]
    assert "2019-03-03" in date.message and "2019-03-05" in date.message
    assert all(f.severity == "warning" for f in result.flags)


def test_chrome_still_on_live_page_is_boilerplate_not_removed_text():
    result = run_pair("chrome.txt")
    assert kinds(result) == ["seed_boilerplate"]
    wheres = " ".join(e.where for e in result.flags[0].evidence)
    assert "nav.main-nav" in wheres and "aside.sidebar" in wheres


def test_non_english_edit_is_text_changed():
    result = run_pair("hindi_edited.txt", "hindi.html")
    assert kinds(result) == ["text_changed"]
    assert "पाँच" in result.flags[0].evidence[0].text and "तीन" in result.flags[0].evidence[1].text


def test_soft_404_page():
    ok = FetchOutcome(URL, URL, 200, chain=((URL, 200),))
    assert "soft_404" in kinds(run_pair("identical.txt", "soft404.html", fetch=ok))
    assert "soft_404" in kinds(run_pair("identical.txt", "soft404.html"))  # offline too


@pytest.mark.parametrize("status, error, kind", [
    (404, None, "not_found"),
    (410, None, "not_found"),
    (None, "DNSLookupError: no such host", "not_found"),
    (None, "ConnectionRefusedError: connection refused", "fetch_failed"),
    (None, "TimeoutError: took longer than 180 seconds", "fetch_failed"),
    (503, None, "fetch_failed"),
])
def test_fetch_outcomes(status, error, kind):
    copy = load_seed_copy(DATA / "identical.txt")
    result = compare(copy, live=None, fetch=FetchOutcome(URL, URL, status, error,
                                                         ((URL, status),)))
    assert kinds(result) == [kind]
    assert result.flags[0].severity == "critical"


def test_redirect_to_home_page_is_critical_and_stops_text_comparison():
    home = "https://www.orissapost.example/"
    fetch = FetchOutcome(URL, home, 200, chain=((URL, 301), (home, 200)))
    result = run_pair("identical.txt", "home.html", url=home, fetch=fetch)
    assert kinds(result) == ["redirected"]
    assert result.flags[0].severity == "critical"


def test_redirect_to_same_article_is_info():
    final = URL + "/"
    fetch = FetchOutcome(URL + "?p=1", final, 200, chain=((URL + "?p=1", 301), (final, 200)))
    result = run_pair("identical.txt", fetch=fetch)
    assert [(f.kind, f.severity) for f in result.flags] == [("redirected", "info")]


def test_flag_vocabulary_is_closed():
    assert len(KINDS) == 11
    with pytest.raises(ValueError):
        Flag("text_edited", "warning", "no such kind")
    with pytest.raises(ValueError):
        Flag("text_changed", "severe", "no such severity")


def test_alignment_keeps_the_whole_copy_in_order():
    result = run_pair("edited.txt")
    lines = [r.seed_line for r in result.rows if r.seed_line is not None]
    assert lines == sorted(lines) == [n.number for n in result.copy.nonblank]
    assert [r.status for r in result.rows if r.seed_line is None] == ["added"]


def test_offline_cli_json_and_exit_codes():
    same = run_cli("compare", "--seed-copy", str(DATA / "identical.txt"),
                   "--html", str(DATA / "article.html"), "--url", URL, "--json")
    assert same.returncode == 0, same.stderr
    [item] = json.loads(same.stdout)
    assert item["flags"] == [] and item["live"]["published"].startswith("2019-03-05")
    assert item["seed_copy"]["title"] == "Port authority approves new container terminal"
    edited = run_cli("compare", "--seed-copy", str(DATA / "edited.txt"),
                     "--html", str(DATA / "article.html"))
    assert edited.returncode == 1 and "text_changed" in edited.stdout


@pytest.mark.parametrize("args, message", [
    (("--seed-copy", str(DATA / "missing.txt"), "--html", str(DATA / "article.html")),
     "file not found"),
    (("--seed-copy", str(DATA / "latin1.txt"), "--html", str(DATA / "article.html")),
     "not UTF-8"),
    (("--seed-copy", str(DATA / "identical.txt"), "--html", str(DATA / "missing.html")),
     "file not found"),
    (("--seed-copy", str(DATA / "identical.txt")), "go together"),
])
def test_offline_bad_input_exits_2(args, message):
    proc = run_cli("compare", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
