"""Extraction from captured pages: headline, dates with their sources, chrome, text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crawler.compare.live_page import extract_page
from crawler.compare.text import find_dates, key, similarity
from crawler.warc.read import decode_html

PAGES = Path(__file__).resolve().parents[1] / "crawler" / "fixture_site" / "pages"
DATA = Path(__file__).parent / "data" / "compare"


def fixture_page(name: str, today: str = "Monday, March 2, 2026") -> str:
    text = (PAGES / name).read_text(encoding="utf-8")
    return (text.replace("{{origin}}", "https://site.example").replace("{{cdn}}", "https://cdn.example")
            .replace("{{today}}", today))


def test_darpan_today_widget_is_a_render_time_date_not_the_publication_date():
    page = extract_page(fixture_page("darpan.html"), url="https://site.example/a",
                        captured_on=dt.date(2026, 3, 2))
    assert page.published is not None and page.published.value.startswith("2014-07-13")
    assert page.published.where == "JSON-LD datePublished"
    assert [r.value for r in page.render_dates] == ["Monday, March 2, 2026"]
    roles = {b.text: b.role for b in page.blocks}
    assert roles["MORE International ARTICLES"] == "chrome"
    assert roles["Darpan News Desk Darpan, 13 Jul, 2014 01:00 PM"] == "meta"
    assert page.title is not None and page.title.value == "'ISIS inspiring Pakistani militants'"
    assert len(page.paragraphs) == 12


def test_page_without_metadata_never_takes_the_today_widget(tmp_path):
    html = ("<html><body><div class='top-bar'>Monday, March 2, 2026</div><article><h1>A story "
            "about the harbour</h1>" + "".join(f"<p>Paragraph {i} tells a long enough story about "
                                               "the harbour and the fishermen of the bay.</p>"
                                               for i in range(5)) + "</article></body></html>")
    page = extract_page(html, url="https://site.example/x", captured_on=dt.date(2026, 3, 2))
    assert page.published is None or not page.published.value.startswith("2026-03-0")


@pytest.mark.parametrize("name, title, published, modified", [
    ("shoebat.html", "The Taliban Pledges Allegiance To ISIS, And Has Sent Recruits To Join Them",
     "2014-09-01", "2014-09-02"),
    ("orissapost.html", "ISI encouraged banned Kashmir-centric terrorist groups to join Islamic "
     "State: Report", "2021-06-22", "2021-06-22"),
    ("nonenglish.html", "ओडिशा में मानसून ने दी दस्तक, कई जिलों में भारी बारिश की चेतावनी",
     "2021-06-12", None),
])
def test_metadata(name, title, published, modified):
    page = extract_page(fixture_page(name), url="https://site.example/a")
    assert page.title is not None and page.title.value == title
    assert page.published_day == dt.date.fromisoformat(published)
    assert page.modified_day == (dt.date.fromisoformat(modified) if modified else None)


def test_soft_404_text_and_canonical():
    page = extract_page(fixture_page("soft404.html"), url="https://site.example/x")
    assert page.not_found_text is not None
    live = extract_page(fixture_page("orissapost.html"), url="https://site.example/?p=1")
    assert live.not_found_text is None
    assert live.canonical and live.canonical.endswith("-islamic-state-report/")


def test_decode_html_charsets():
    assert decode_html("café".encode("latin-1"), "text/html; charset=ISO-8859-1") == "café"
    assert decode_html(b'<meta charset="windows-1252">caf\xe9') .endswith("café")
    assert decode_html("café".encode()) == "café"


def test_text_helpers():
    assert key("“Forget  Rivalries’.") == "forget rivalries"
    assert similarity("The cost is 180 million", "The cost is 240 million") == pytest.approx(0.8)
    assert [d.date for d in find_dates("Updated: June 22nd, 2021, 07:30 IST")] == [
        dt.date(2021, 6, 22)]
    assert find_dates("7 hours ago")[0].relative
