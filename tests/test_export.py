"""`crawler export`: PROV-JSON (read back with the prov package), PROV-N, CSV, JSON Lines."""

from __future__ import annotations

import csv
import io
import json

from prov.model import ProvDocument
from sqlalchemy import create_engine, text

from helpers import CrawledCollection, run_cli


def export(coll: CrawledCollection, *args: str) -> tuple[int, str]:
    proc = run_cli("export", "--collection", str(coll.root), *args, db_url=coll.db_url)
    return proc.returncode, proc.stdout


def capture_count(coll: CrawledCollection) -> int:
    engine = create_engine(coll.db_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM captures WHERE run_id = 1")).scalar_one()
    engine.dispose()
    return int(count)


def test_prov_json(crawled: CrawledCollection) -> None:
    code, out = export(crawled, "--format", "prov-json", "--run", "1")
    assert code == 0
    doc = ProvDocument.deserialize(content=out, format="json")
    body = json.loads(out)
    captures = [e for e in body["entity"].values()
                if "pc:Capture" in json.dumps(e.get("prov:type"))]
    assert len(captures) == capture_count(crawled)
    assert len(body["activity"]) == 1
    agents = json.dumps(body["agent"])
    assert "prov:SoftwareAgent" in agents and "prov:Person" in agents
    assert len(body["wasDerivedFrom"]) >= len(captures)
    assert len(body["alternateOf"]) >= 5  # each seed page and its seed copy
    assert doc.has_bundles() is False and len(doc.get_records()) > 3 * len(captures)


def test_prov_n(crawled: CrawledCollection) -> None:
    code, out = export(crawled, "--format", "prov-n")
    assert code == 0 and out.startswith("document") and "activity(uuid:" in out
    assert "wasDerivedFrom(" in out and "wasAssociatedWith(" in out


def test_csv_and_jsonl(crawled: CrawledCollection) -> None:
    code, out = export(crawled, "--format", "csv", "--run", "1")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == capture_count(crawled)
    assert all(r["warc_file"] and r["metadata_record_id"] for r in table)
    code, out = export(crawled, "--format", "jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == len(table)
    assert {r["capture_id"] for r in lines} == {int(r["capture_id"]) for r in table}


def test_unknown_run(crawled: CrawledCollection) -> None:
    assert export(crawled, "--format", "csv", "--run", "999")[0] == 2
