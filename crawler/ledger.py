"""The provenance ledger: an append-only, hash-chained log of provenance rows.

Each entry holds the canonical serialisation of one row as it was written (or
updated) and `entry_hash = SHA-256(prev_hash || "\\n" || payload)`, chaining it to the
entry before it. The first entry's `prev_hash` is GENESIS (64 zeros). The head (the
newest entry's hash) is what an archivist publishes; `crawler verify` recomputes the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from crawler.models import Base, LedgerEntry

GENESIS = "0" * 64
LEDGERED_TABLES = ("crawl_runs", "warc_files", "seeds", "outlets", "captures", "flags")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_dict(row: Base) -> dict[str, Any]:
    """The row's mapped columns as plain JSON values."""
    mapper = inspect(row).mapper
    return {col.key: _plain(getattr(row, col.key)) for col in mapper.column_attrs}


def canonical(row: Base) -> str:
    """Canonical JSON of a row: table name, sorted keys, no spaces, UTF-8 as is."""
    body = {"table": row.__tablename__, "row": row_dict(row)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + payload.encode("utf-8")).hexdigest()


def row_key(row: Base) -> str:
    ids = inspect(row).identity
    if ids is None:
        raise ValueError(f"{row!r} has no primary key yet: flush before ledgering it")
    return ",".join(str(part) for part in ids)


def head(session: Session) -> str:
    """The newest entry's hash (GENESIS for an empty ledger)."""
    entry = session.scalar(select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(1))
    return entry.entry_hash if entry else GENESIS


def _lock(session: Session) -> None:
    """Serialise appenders that share one database (several crawl machines)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7211)"))


def append(session: Session, rows: list[Base], *, action: str = "insert") -> str:
    """Append one entry per row (rows must be flushed); returns the new head.

    Runs inside the caller's transaction, so rows and entries commit together.
    """
    if not rows:
        return head(session)
    _lock(session)
    prev = head(session)
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        payload = canonical(row)
        entry_hash = chain_hash(prev, payload)
        session.add(
            LedgerEntry(
                table_name=row.__tablename__,
                row_id=row_key(row),
                action=action,
                payload=payload,
                prev_hash=prev,
                entry_hash=entry_hash,
                recorded_at=now,
            )
        )
        prev = entry_hash
    session.flush()
    return prev
