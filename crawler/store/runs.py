"""Crawl runs in the provenance database: opening one (with its seeds) and closing it."""

from __future__ import annotations

import datetime as dt
import json
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler import SOFTWARE_NAME, __version__
from crawler.errors import SeedConflict
from crawler.manifest import Seed
from crawler.roles import PAGE
from crawler.store import ledger
from crawler.store.db import BulkInsert
from crawler.store.models import Capture, CrawlRun, Outlet
from crawler.store.models import Seed as SeedRow

_SEED_INSERT = BulkInsert(cast(Table, SeedRow.__table__), (
    "id", "url", "outlet_id", "copy_file", "copy_sha256", "published", "first_seen_at"))


def record_seeds(session: Session, seeds: Iterable[Seed], *, now: dt.datetime) -> None:
    """Insert new seeds; refuse a seed whose URL or seed copy changed since it was recorded.

    One query for the seeds on record, one for the outlets, one ledger append for
    what is new: a manifest of 20,000 seeds costs a few queries, not 60,000.
    """
    seeds = list(seeds)
    ids = [seed.id for seed in seeds]
    known: dict[str, SeedRow] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = session.scalars(select(SeedRow).where(SeedRow.id.in_(chunk)))
        known.update((row.id, row) for row in rows)
    new_seeds = [seed for seed in seeds if seed.id not in known]
    if new_seeds:
        outlets = {o.name: o for o in session.scalars(select(Outlet))}
        new_outlets = [Outlet(name=name) for name in dict.fromkeys(s.outlet for s in new_seeds)
                       if name not in outlets]
        if new_outlets:
            session.add_all(new_outlets)
            session.flush()
            ledger.append(session, new_outlets)
            outlets.update((o.name, o) for o in new_outlets)
        new_rows = [
            {"id": seed.id, "url": seed.url, "outlet_id": outlets[seed.outlet].id,
             "copy_file": seed.copy, "copy_sha256": seed.copy_sha256,
             "published": seed.published, "first_seen_at": now}
            for seed in new_seeds
        ]
        # no ORM objects: 20,000 new seeds in a few multi-row INSERTs and one ledger append
        _SEED_INSERT.execute(session, new_rows)
        ledger.append_values(session, SeedRow, new_rows)
    for seed in seeds:
        row = known.get(seed.id)
        if row is None:
            continue
        changes = []
        if row.url != seed.url:
            changes.append(f"url {row.url!r} -> {seed.url!r}")
        if row.copy_sha256 != seed.copy_sha256:
            changes.append(f"seed copy sha256 {row.copy_sha256} -> {seed.copy_sha256}")
        if changes:
            raise SeedConflict(
                f"seed {seed.id}: differs from the seed on record ({'; '.join(changes)}); "
                "give the changed seed a new id rather than rewrite provenance"
            )


def start_run(
    sessions: sessionmaker[Session],
    *,
    collection: str,
    seeds: Iterable[Seed],
    operator: str,
    user_agent: str,
    robots_obey: bool,
    settings: Mapping[str, object],
    now: dt.datetime | None = None,
) -> CrawlRun:
    now = now or dt.datetime.now(dt.UTC)
    with sessions.begin() as session:
        record_seeds(session, seeds, now=now)
        run = CrawlRun(
            uuid=str(uuid.uuid4()), collection=collection, started_at=now, status="running",
            software=SOFTWARE_NAME, software_version=__version__, host=socket.gethostname(),
            operator=operator, user_agent=user_agent,
            robots_policy="obey" if robots_obey else "ignore",
            settings_json=json.dumps(dict(settings), sort_keys=True, default=str),
            pages=0, captures=0, failures=0, bytes=0,
        )
        session.add(run)
        session.flush()
        ledger.append(session, [run])
    return run


def finish_run(sessions: sessionmaker[Session], run_id: int, *, status: str,
               sign: Callable[[str, str], str] | None = None) -> CrawlRun:
    """Close a run now, with `status` (see close_run).

    `sign(run_uuid, head)` (crawler.store.signing.head_signer) signs the head; the signature
    is stored with it in `head_signature`.
    """
    with sessions.begin() as session:
        run = session.get_one(CrawlRun, run_id)
        close_run(session, run, ended_at=dt.datetime.now(dt.UTC), status=status, sign=sign)
    return run


def close_run(session: Session, run: CrawlRun, *, ended_at: dt.datetime | None,
              status: str | None = None,
              sign: Callable[[str, str], str] | None = None) -> str:
    """Counts from the run's capture rows, its end (and status), then the ledger head
    sealed into it (seal_run); returns the head. A crawl closes its run when it stops;
    `crawler reindex` closes the runs it rebuilt, ended at their last fetch."""
    total, failures, size = session.execute(
        select(
            func.count(Capture.id),
            func.count(Capture.error),
            func.coalesce(func.sum(Capture.payload_length), 0),
        ).where(Capture.run_id == run.id)
    ).one()
    run.captures, run.failures, run.bytes = total, failures, int(size or 0)
    run.pages = session.scalar(
        select(func.count(Capture.id)).where(
            Capture.run_id == run.id, Capture.role == PAGE, Capture.error.is_(None)
        )
    ) or 0
    run.ended_at = ended_at
    if status is not None:
        run.status = status
    session.flush()
    return seal_run(session, run, sign=sign)


def seal_run(session: Session, run: CrawlRun, *,
             sign: Callable[[str, str], str] | None = None) -> str:
    """Write the current ledger head into the run (and sign it); returns the head.

    The head covers every entry up to and including this run's closing entry; the run
    row stores it in a second entry that the head itself does not cover. Called when the
    run finishes, and again after the crawl's comparison adds its flags, so the head an
    archivist publishes covers everything the crawl recorded.
    """
    run.ledger_head = ledger.append(session, [run], action="update")
    if sign is not None:
        run.head_signature = sign(run.uuid, run.ledger_head)
    session.flush()
    ledger.append(session, [run], action="update")
    return run.ledger_head
