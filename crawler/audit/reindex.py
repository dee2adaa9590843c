"""`crawler reindex`: rebuild the provenance rows from the WARC files alone.

Reads every WARC file of the collection's archive/ (crawler.audit.facts) and, for
each crawl run, WARC file, outlet, seed and capture the files describe, finds the
row in the database or inserts it (with its ledger entries). Seed copies come from
seeds/manifest.toml when it names the seed. Rows that exist but say something else
than the WARC files are reported, never overwritten: the archive is the evidence,
and a quiet repair would hide what happened. On an intact collection nothing is
inserted. A run rebuilt here is closed like a crawl closes it (counts, ledger head)
with status `reindexed`; its `ended_at` is its last capture's time. Comparison flags
are not in the WARC files and cannot be rebuilt. Reads no settings.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.audit.facts import CaptureFacts, FileFacts, RunFacts, read_warc_file
from crawler.collection import Collection
from crawler.errors import ManifestError
from crawler.manifest import Manifest, load_manifest
from crawler.roles import PAGE
from crawler.store import ledger
from crawler.store.models import Base, Capture, CrawlRun, Outlet, Seed, WarcFile
from crawler.store.runs import close_run

COMPARED = ("url", "requested_url", "role", "hops", "via_url", "seed_id", "fetched_at", "status",
            "protocol", "content_type", "content_encoding", "payload_length", "payload_sha256",
            "warc_payload_digest", "warc_block_digest", "request_record_id", "response_offset",
            "response_length", "metadata_record_id", "metadata_offset", "ip_address", "error",
            "redirect_location")


@dataclass
class ReindexResult:
    files: int = 0
    captures: int = 0
    inserted: Counter[str] = field(default_factory=Counter)
    differences: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(sum(self.inserted.values()))


class _Rebuilder:
    def __init__(self, session: Session, manifest: Manifest | None, result: ReindexResult) -> None:
        self.session = session
        self.manifest = manifest
        self.result = result
        self.new_runs: set[int] = set()

    def add(self, row: Base) -> None:
        self.session.add(row)
        self.session.flush()
        ledger.append(self.session, [row])
        self.result.inserted[row.__tablename__] += 1

    def run(self, facts: RunFacts) -> CrawlRun:
        run = self.session.scalar(select(CrawlRun).where(CrawlRun.uuid == facts.uuid))
        if run is not None:
            return run
        free = facts.run_id is not None and self.session.get(CrawlRun, facts.run_id) is None
        run = CrawlRun(
            id=facts.run_id if free else None, uuid=facts.uuid, collection=facts.collection,
            started_at=facts.started_at, status="reindexed", software=facts.software,
            software_version=facts.software_version, host=facts.host, operator=facts.operator,
            user_agent=facts.user_agent, robots_policy=facts.robots_policy,
            settings_json=facts.settings_json, pages=0, captures=0, failures=0, bytes=0)
        self.add(run)
        self.new_runs.add(run.id)
        bind = self.session.bind
        if free and bind is not None and bind.dialect.name == "postgresql":
            self.session.execute(text(  # an explicit id does not advance the sequence
                "SELECT setval(pg_get_serial_sequence('crawl_runs', 'id'), "
                "(SELECT max(id) FROM crawl_runs))"))
        return run

    def warc_file(self, facts: FileFacts, run: CrawlRun) -> WarcFile:
        row = self.session.scalar(select(WarcFile).where(WarcFile.name == facts.name))
        if row is not None:
            return row
        assert facts.scan is not None and facts.opened_at is not None
        mtime = dt.datetime.fromtimestamp(facts.path.stat().st_mtime, dt.UTC)
        row = WarcFile(
            name=facts.name, run_id=run.id, warcinfo_id=facts.warcinfo_id,
            opened_at=facts.opened_at, gzip_level=facts.gzip_level,
            closed_at=mtime if facts.closed else None,
            size=facts.scan.size if facts.closed else None,
            sha256=facts.scan.sha256 if facts.closed else None)
        self.add(row)
        return row

    def outlet(self, name: str | None) -> int | None:
        if not name:
            return None
        row = self.session.scalar(select(Outlet).where(Outlet.name == name))
        if row is None:
            row = Outlet(name=name)
            self.add(row)
        return row.id

    def seed(self, seed_id: str | None, cap: CaptureFacts, outlet_id: int | None,
             run: CrawlRun) -> None:
        if not seed_id or self.session.get(Seed, seed_id) is not None:
            return
        seeds = self.manifest.seeds if self.manifest else ()
        known = next((s for s in seeds if s.id == seed_id), None)
        if outlet_id is None and known is not None:
            outlet_id = self.outlet(known.outlet)
        self.add(Seed(
            id=seed_id, url=known.url if known else cap.fields.get("requested-url", cap.url),
            outlet_id=outlet_id, copy_file=known.copy if known else None,
            copy_sha256=known.copy_sha256 if known else None,
            published=known.published if known else None, first_seen_at=run.started_at))

    def capture(self, cap: CaptureFacts, warc: WarcFile, run: CrawlRun) -> None:
        f = cap.fields
        rid = cap.response[0] if cap.response else None
        key = (Capture.warc_record_id == rid if rid
               else Capture.metadata_record_id == cap.metadata[0])
        existing = self.session.scalar(select(Capture).where(key))
        origin = f.get("redirect-from-record")
        origin_id = self.session.scalar(select(Capture.id).where(
            Capture.warc_record_id == origin)) if origin else None
        outlet_id = self.outlet(f.get("outlet"))
        self.seed(f.get("seed-id"), cap, outlet_id, run)
        row = Capture(
            run_id=run.id, seed_id=f.get("seed-id"), outlet_id=outlet_id,
            requested_url=f.get("requested-url") or cap.url, url=cap.url,
            redirect_location=f.get("redirect-location"), redirect_from_id=origin_id,
            role=f.get("role", PAGE), hops=int(f.get("hops-from-seed", "0")),
            via_url=f.get("via"), fetched_at=cap.fetched_at, status=cap.status,
            protocol=cap.protocol, content_type=cap.content_type,
            content_encoding=cap.content_encoding, payload_length=cap.payload_length,
            payload_sha256=cap.payload_sha256, warc_payload_digest=cap.warc_payload_digest,
            warc_block_digest=cap.warc_block_digest, warc_file_id=warc.id, warc_record_id=rid,
            ip_address=cap.ip_address, error=f.get("fetch-error"))
        if cap.response:
            row.response_offset, row.response_length = cap.response[1:]
        if cap.request:
            row.request_record_id, (row.request_offset, row.request_length) = (
                cap.request[0], cap.request[1:])
        row.metadata_record_id, (row.metadata_offset, row.metadata_length) = (
            cap.metadata[0], cap.metadata[1:])
        if existing is None:
            self.add(row)
            return
        diffs = [f"{name}: WARC {getattr(row, name)!r}, database {getattr(existing, name)!r}"
                 for name in COMPARED if getattr(row, name) != getattr(existing, name)]
        if existing.warc_file_id != warc.id or existing.run_id != run.id:
            diffs.append(f"file/run: WARC {warc.name}/run {run.id}, database file id "
                         f"{existing.warc_file_id}/run {existing.run_id}")
        if diffs:
            self.result.differences.append(
                f"capture {existing.id} ({rid or cap.metadata[0]}): " + "; ".join(diffs))

    def close_new_runs(self) -> None:
        """Counts and ledger head of the runs rebuilt here, each ended at its last fetch."""
        for run_id in sorted(self.new_runs):
            last = self.session.scalar(
                select(func.max(Capture.fetched_at)).where(Capture.run_id == run_id))
            if isinstance(last, dt.datetime) and last.tzinfo is None:
                last = last.replace(tzinfo=dt.UTC)
            close_run(self.session, self.session.get_one(CrawlRun, run_id),
                      ended_at=last if isinstance(last, dt.datetime) else None)


def reindex(sessions: sessionmaker[Session], collection: Collection, *,
            dry_run: bool = False) -> ReindexResult:
    """Insert the rows the WARC files describe and the database lacks; report the rest."""
    result = ReindexResult()
    manifest = None
    if collection.manifest_path.exists():
        try:
            manifest = load_manifest(collection.manifest_path)
        except ManifestError as exc:
            result.problems.append(f"seed manifest not used, seed copies not restored: {exc}")
    with sessions() as session:
        rebuilder = _Rebuilder(session, manifest, result)
        for path in collection.warc_files(include_open=True):
            facts = read_warc_file(path)
            result.files += 1
            result.problems += [f"{path.name}: {p}" for p in facts.problems]
            if facts.run is None or not facts.run.uuid:
                result.problems.append(f"{path.name}: no warcinfo record naming a crawl run; "
                                       "its records were not indexed")
                continue
            run = rebuilder.run(facts.run)
            warc = rebuilder.warc_file(facts, run)
            for cap in facts.captures:
                rebuilder.capture(cap, warc, run)
                result.captures += 1
        rebuilder.close_new_runs()
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return result
