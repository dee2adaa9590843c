"""Seed copies read on their own: strict UTF-8, artifacts, chrome hints, dates."""

from __future__ import annotations

import datetime as dt

import pytest

from crawler.compare.seed_copy import (
    chrome_hint,
    find_artifacts,
    load_seed_copy,
    parse_seed_copy,
    seed_dates,
    self_fused,
)
from crawler.errors import BadInput
from helpers import SEEDS


def test_line_numbers_and_digest_of_a_real_copy():
    copy = load_seed_copy(next(SEEDS.glob("002_*.txt")))
    assert copy.line(1).text == "Saturday, December 27, 2025"
    assert copy.line(5).clean == "'ISIS inspiring Pakistani militants'"
    assert len(copy.sha256) == 64


def test_bad_input(tmp_path):
    with pytest.raises(BadInput, match="not found"):
        load_seed_copy(tmp_path / "missing.txt")
    with pytest.raises(BadInput, match="folder"):
        load_seed_copy(tmp_path)
    with pytest.raises(BadInput, match="not UTF-8"):
        parse_seed_copy(b"caf\xe9")


@pytest.mark.parametrize("text, expected", [
    ("Pakistani Taliban Declare Allegiance to ISPakistani Taliban Declare Allegiance to IS",
     "Pakistani Taliban Declare Allegiance to IS"),
    ("Breaking news Breaking news", "Breaking news"),
    (", , , , , , , ,", None),
    ("An ordinary headline about the harbour", None),
])
def test_self_fused(text, expected):
    assert self_fused(text) == expected


def test_artifacts():
    copy = parse_seed_copy(b" date 2021-12-11 2021: When Taliban conquered Afghanistan\n\n"
                           b"Body text that is fine.\n, , , , , ,\n")
    assert [(a.kind, a.line) for a in find_artifacts(copy)] == [
        ("fused_metadata", 1), ("empty_tags", 4)]
    assert find_artifacts(parse_seed_copy(b"Updated: June 22nd, 2021, 07:30 IST\n")) == []


@pytest.mark.parametrize("line, hint", [
    ("  \u2022 Home", "menu item"), ("ADVT ", "advertisement"), ("7 hours ago", "teaser timestamp"),
    ("\u00a9 2025 All rights Reserved by OrissaPOST", "copyright footer"),
    ("Also Read", "list heading"), ("MORE International ARTICLES", "list heading"),
    ("The Taliban has pledged allegiance to ISIS.", None),
])
def test_chrome_hints(line, hint):
    assert chrome_hint(line) == hint


def test_date_roles():
    copy = parse_seed_copy(
        b"Saturday, December 27, 2025\nHeadline of the story\nDesk, 13 Jul, 2014 01:00 PM\n"
        b"It happened on 18 November 2013 in the city.\nUpdated: June 22nd, 2021\n7 hours ago\n"
)
    roles = {1: "date", 2: "headline", 3: "date", 4: "article", 5: "meta", 6: "chrome"}
    found = [(d.line, d.role, d.date) for d in seed_dates(copy, line_roles=roles,
                                                           headline_line=2)]
    assert found == [(1, "header_date", dt.date(2025, 12, 27)), (3, "byline", dt.date(2014, 7, 13)),
                     (4, "in_text", dt.date(2013, 11, 18)), (5, "updated", dt.date(2021, 6, 22)),
                     (6, "teaser", None)]
