"""The ledger's canonical JSON and hash chain, without SQLAlchemy.

What an entry is lives here, and only here: `chain_entries` turns the ledger's head and
rows of one table into the entries that append them (their canonical text and chained
hashes). `crawler.store.ledger.append`/`append_values` insert those entries through
SQLAlchemy; the WARC writer process, which imports no SQLAlchemy, inserts the same
entries for the rows it writes through the database driver (`crawler.capture.rows`).
Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
#: what serialises the ledger's appenders that share a PostgreSQL database (several
#: crawl machines, a crawl and its WARC writer process): a transaction-scoped lock
LEDGER_LOCK = "SELECT pg_advisory_xact_lock(7211)"

CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
#: the same text for dicts whose keys are already in sorted order
CANONICAL_PRESORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
#: the values of a ledger entry (crawler.store.models.LedgerEntry, but for its `seq`)
ENTRY_KEYS = ("table_name", "row_id", "action", "payload", "prev_hash", "entry_hash",
              "recorded_at")


def plain(value: Any) -> Any:
    """A column value as the ledger writes it: datetimes as UTC ISO 8601 with
    microseconds (a naive one is taken as UTC), dates as ISO 8601, the rest as is."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def canonical_text(table: str, row: Mapping[str, Any]) -> str:
    """Canonical JSON of a row's plain values: table name, sorted keys, no spaces,
    UTF-8 as is."""
    return CANONICAL.encode({"table": table, "row": row})


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Shape:
    """What a ledger entry takes of a table's rows."""

    keys: tuple[str, ...]  # every mapped column (the entry's text holds them all)
    primary: tuple[str, ...]  # the primary key's columns, in the entry's row id
    dates: tuple[str, ...]  # the keys whose values may be dates, which `plain` writes as text


def chain_entries(prev: str, table: str, rows: Iterable[Mapping[str, Any]], shape: Shape, *,
                  action: str, recorded_at: dt.datetime) -> tuple[list[dict[str, Any]], str]:
    """The ledger entries that append `rows` of `table` after the entry whose hash is
    `prev`, and the new head.

    Each row holds every key of `shape.keys`; an entry's `row_id` joins its primary key
    values with commas. Each entry is a dict of ENTRY_KEYS' values.
    """
    keys, primary, dates = shape.keys, shape.primary, shape.dates
    entries = []
    for row in rows:
        values = {key: row[key] for key in keys}
        for key in dates:
            values[key] = plain(values[key])
        ids = [row[key] for key in primary]
        if None in ids:
            raise ValueError(f"a {table} row has no primary key yet: flush before ledgering it")
        payload = canonical_text(table, values)
        entry_hash = chain_hash(prev, payload)
        entries.append({"table_name": table, "row_id": ",".join(map(str, ids)),
                        "action": action, "payload": payload, "prev_hash": prev,
                        "entry_hash": entry_hash, "recorded_at": recorded_at})
        prev = entry_hash
    return entries, prev
