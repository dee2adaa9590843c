"""The five seeds against the fixture site: each known difference of the copies is found
with the right kind (see shared/seeds/SOURCES.md and issue 3)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from helpers import run_cli


@pytest.fixture(scope="module")
def compared(crawled) -> dict[str, dict]:
    proc = run_cli("compare", "--collection", str(crawled.root), "--json", "--no-store",
                   db_url=crawled.db_url)
    assert proc.returncode == 1, proc.stderr  # the copies hold warnings: exit 1
    return {item["seed"]: item for item in json.loads(proc.stdout)}


def kinds(item: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for flag in item["flags"]:
        out.setdefault(flag["kind"], []).append(flag)
    return out


def evidence_text(flags: list[dict]) -> str:
    return "\n".join(e["text"] for f in flags for e in f["evidence"])


def test_json_shape(compared):
    assert sorted(compared) == ["000", "001", "002", "003", "004"]
    for item in compared.values():
        assert set(item) >= {"seed", "url", "capture", "seed_copy", "live", "flags"}
        assert {"title", "dates"} <= set(item["seed_copy"])
        assert {"title", "published", "modified", "canonical"} <= set(item["live"])
        assert item["capture"]["warc_file"] and item["capture"]["warc_record_id"]
        for flag in item["flags"]:
            assert flag["severity"] in ("info", "warning", "critical")
            assert flag["evidence"], flag


def test_002_header_date_is_date_mismatch_and_chrome_is_boilerplate(compared):
    item = compared["002"]
    found = kinds(item)
    [mismatch] = found["date_mismatch"]
    seed_ev = [e for e in mismatch["evidence"] if e["source"] == "seed"]
    assert seed_ev[0]["line"] == 1 and "December 27, 2025" in seed_ev[0]["text"]
    assert "2025-12-27" in mismatch["message"] and "2014-07-13" in mismatch["message"]
    live_ev = [e for e in mismatch["evidence"] if e["source"] == "live"]
    assert any("2014-07-13" in e["text"] for e in live_ev)
    assert item["live"]["published"].startswith("2014-07-13")
    header = [d for d in item["seed_copy"]["dates"] if d["line"] == 1]
    assert header[0]["role"] == "header_date"
    text = evidence_text(found["seed_boilerplate"])
    assert "ADVT" in text and "MORE International ARTICLES" in text
    assert "text_removed" not in found and "text_changed" not in found
    assert "title_changed" not in found


def test_001_fused_headline_is_seed_artifact(compared):
    found = kinds(compared["001"])
    [artifact] = found["seed_artifact"]
    assert artifact["evidence"][0]["line"] == 3
    assert "ISPakistani" in artifact["evidence"][0]["text"]
    assert set(found) == {"seed_artifact"}


def test_003_fused_date_line_is_artifact_not_date_mismatch(compared):
    found = kinds(compared["003"])
    assert "date_mismatch" not in found
    [artifact] = found["seed_artifact"]
    first = artifact["evidence"][0]
    assert first["line"] == 1 and "date 2021-12-11" in first["text"]
    assert set(found) == {"seed_artifact"}


def test_004_chrome_is_boilerplate_and_redirect_is_info(compared):
    item = compared["004"]
    found = kinds(item)
    assert "date_mismatch" not in found
    [redirect] = found["redirected"]
    assert redirect["severity"] == "info"
    text = evidence_text(found["seed_boilerplate"])
    for expected in ("• Home", "Also Read", "#MyPaperBagChallenge", "Stakes Are High",
                     "© 2025"):
        assert expected in text, expected
    assert not {"text_removed", "text_added", "text_changed", "title_changed"} & set(found)
    presented = [d for d in item["seed_copy"]["dates"]
                 if d["role"] in ("header_date", "byline", "published", "updated", "metadata")]
    assert {d["date"] for d in presented} == {"2021-06-22"}
    assert item["live"]["canonical"].endswith("-islamic-state-report/")


def test_000_empty_tag_list_is_artifact(compared):
    found = kinds(compared["000"])
    [artifact] = found["seed_artifact"]
    assert artifact["severity"] == "info" and artifact["evidence"][0]["line"] == 32
    assert set(found) == {"seed_artifact"}


def test_compare_stores_flags_once_with_ledger(crawled_copy):
    proc = run_cli("compare", "--collection", str(crawled_copy.root), db_url=crawled_copy.db_url)
    assert proc.returncode == 1, proc.stderr
    assert "date_mismatch" in proc.stdout
    again = run_cli("compare", "--collection", str(crawled_copy.root), db_url=crawled_copy.db_url)
    assert "0 new flag(s) recorded" in again.stdout
    if not crawled_copy.db_url.startswith("sqlite"):
        return
    db = sqlite3.connect(crawled_copy.root / "provenance.db")
    rows = db.execute("select seed_id, kind, severity, capture_id, software_version, "
                      "evidence_json from flags").fetchall()
    assert ("002", "date_mismatch") in {(r[0], r[1]) for r in rows}
    assert all(r[3] is not None and r[4] for r in rows)
    evidence = json.loads(rows[0][5])
    assert set(evidence["inputs"]) == {"seed_copy_sha256", "payload_sha256", "warc_record_id"}
    ledgered = db.execute("select count(*) from ledger where table_name = 'flags'").fetchone()[0]
    assert ledgered == len(rows)


def test_unknown_seed_is_bad_input(crawled):
    proc = run_cli("compare", "--collection", str(crawled.root), "--seed", "999", "--no-store",
                   db_url=crawled.db_url)
    assert proc.returncode == 2
    assert "999" in proc.stderr


def test_crawl_summary_shows_each_seeds_flags(crawled):
    assert "flags" in crawled.stdout
    assert "date_mismatch" in crawled.stdout and "seed_artifact" in crawled.stdout
    assert "flag(s) recorded" in crawled.stdout
