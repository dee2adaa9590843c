"""Compare the latest capture of each seed with its seed copy, and record the flags.

For each seed of the manifest, the page captures of the newest run that fetched it form
the redirect chain; the final capture's response is read back from the WARC file
(`crawler.warc.read`, by file and offset: never a response held in memory), decoded,
extracted and compared (`crawler.compare.comparison`). `store_flags` writes the flags to the
`flags` table, linked to the capture, the seed and the run, with the software version
and the inputs they were derived from (seed copy SHA-256, payload SHA-256, WARC record
id), and appends them to the ledger in the same transaction. No settings are read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler import __version__
from crawler.collection import Collection
from crawler.compare.comparison import Comparison, FetchOutcome, compare, compare_fetch_only
from crawler.compare.live_page import LivePage, extract_page
from crawler.compare.seed_copy import load_seed_copy, parse_seed_copy
from crawler.errors import IntegrityError
from crawler.manifest import Seed, load_manifest
from crawler.roles import PAGE
from crawler.store import ledger
from crawler.store.models import Capture
from crawler.store.models import Flag as FlagRow
from crawler.warc.read import decode_html, decoded_payload, read_record_at

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedResult:
    """One seed's comparison (None when there was nothing to compare) and its capture."""

    seed: Seed
    comparison: Comparison | None
    capture: Capture | None
    problem: str | None = None

    def capture_info(self) -> dict[str, Any] | None:
        cap = self.capture
        if cap is None:
            return None
        return {
            "id": cap.id, "run_id": cap.run_id, "requested_url": cap.requested_url,
            "url": cap.url, "status": cap.status, "error": cap.error,
            "fetched_at": cap.fetched_at.isoformat(), "content_type": cap.content_type,
            "warc_file": cap.warc_file.name if cap.warc_file else None,
            "warc_record_id": cap.warc_record_id, "offset": cap.response_offset,
            "payload_sha256": cap.payload_sha256,
        }

    def to_json(self) -> dict[str, Any]:
        if self.comparison is None:
            return {"seed": self.seed.id, "url": self.seed.url, "capture": self.capture_info(),
                    "seed_copy": None, "live": None, "flags": [], "problem": self.problem}
        return self.comparison.to_json(seed=self.seed.id, url=self.seed.url,
                                       capture=self.capture_info())


def page_chain(session: Session, seed_id: str, run_id: int | None = None) -> list[Capture]:
    """The seed page's captures (redirect hops in order) in `run_id` or the newest run."""
    if run_id is None:
        run_id = session.scalar(select(func.max(Capture.run_id)).where(
            Capture.seed_id == seed_id, Capture.role == PAGE))
        if run_id is None:
            return []
    return list(session.scalars(select(Capture).where(
        Capture.seed_id == seed_id, Capture.role == PAGE, Capture.run_id == run_id,
    ).order_by(Capture.id)))


def read_live_page(collection: Collection, cap: Capture) -> LivePage | None:
    """The final capture's page, read back from its WARC record; None if it is not HTML."""
    if cap.warc_file is None or cap.response_offset is None:
        return None
    path = (collection.warc_path(cap.warc_file.name)
            or collection.archive_dir / cap.warc_file.name)
    record = read_record_at(path, cap.response_offset)
    if cap.warc_record_id and record.record_id and record.record_id != cap.warc_record_id:
        raise IntegrityError(f"{path} at offset {cap.response_offset}: record "
                             f"{record.record_id}, but capture {cap.id} expects "
                             f"{cap.warc_record_id}")
    content_type = (record.http_headers.get_header("Content-Type")
                    if record.http_headers else None) or cap.content_type or ""
    if content_type and "html" not in content_type.lower():
        return None
    text = decode_html(decoded_payload(record), content_type)
    return extract_page(text, url=cap.url, captured_on=cap.fetched_at.date())


def compare_seed(collection: Collection, session: Session, seed: Seed, *,
                 run_id: int | None = None) -> SeedResult:
    copy = load_seed_copy(seed.copy_path) if seed.copy_path else None
    chain = page_chain(session, seed.id, run_id)
    if not chain:
        return SeedResult(seed, None, None, "no capture on record (crawl it first)")
    final = chain[-1]
    fetch = FetchOutcome(requested_url=chain[0].requested_url, final_url=final.url,
                         status=final.status, error=final.error,
                         chain=tuple((c.url, c.status) for c in chain))
    live = read_live_page(collection, final) if final.status is not None else None
    if copy is None:  # nothing to compare the page with; the fetch still tells something
        return SeedResult(seed, compare_fetch_only(parse_seed_copy(b""), live=live, fetch=fetch),
                          final)
    return SeedResult(seed, compare(copy, live=live, fetch=fetch), final)


def compare_collection(collection: Collection, session: Session, *,
                       seed_ids: Sequence[str] = (), run_id: int | None = None
                       ) -> list[SeedResult]:
    """Compare every seed (or the given ones: unknown ids are bad input)."""
    manifest = load_manifest(collection.manifest_path)
    seeds = [manifest.seed(s) for s in seed_ids] if seed_ids else list(manifest.seeds)
    return [compare_seed(collection, session, seed, run_id=run_id) for seed in seeds]


def store_flags(session: Session, results: Sequence[SeedResult], *,
                now: dt.datetime | None = None) -> int:
    """Insert the flags not yet on record for each capture; returns how many were added."""
    now = now or dt.datetime.now(dt.UTC)
    added: list[FlagRow] = []
    for result in results:
        cap, comparison = result.capture, result.comparison
        if cap is None or comparison is None:
            continue
        inputs = {"seed_copy_sha256": comparison.copy.sha256,
                  "payload_sha256": cap.payload_sha256, "warc_record_id": cap.warc_record_id}
        existing = {(r.kind, r.message, r.evidence_json) for r in session.scalars(
            select(FlagRow).where(FlagRow.capture_id == cap.id,
                                  FlagRow.software_version == __version__))}
        for flag in comparison.flags:
            evidence = flag.evidence_json(inputs)
            if (flag.kind, flag.message, evidence) in existing:
                continue
            row = FlagRow(capture_id=cap.id, seed_id=result.seed.id, run_id=cap.run_id,
                          kind=flag.kind, severity=flag.severity, message=flag.message,
                          evidence_json=evidence, software_version=__version__, created_at=now)
            session.add(row)
            added.append(row)
    if added:
        session.flush()
        ledger.append(session, list(added))
    return len(added)


def compare_run(collection: Collection, session: Session, run_id: int,
                seed_ids: Sequence[str]) -> tuple[list[SeedResult], int]:
    """After a crawl: compare the seeds that run captured and record their flags."""
    if not seed_ids:
        return [], 0
    results = compare_collection(collection, session, seed_ids=seed_ids, run_id=run_id)
    stored = store_flags(session, results)
    session.commit()
    return results, stored

