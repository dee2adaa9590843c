"""The ledger's canonical JSON and hash chain, without SQLAlchemy.

`crawler.store.ledger` keeps the ledger through SQLAlchemy; what an entry's text and hash
are lives here, shared with the WARC writer process, which appends the entries of the
captures it writes through the database driver alone (`crawler.capture.rows`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
#: what serialises the ledger's appenders that share a PostgreSQL database (several
#: crawl machines, a crawl and its WARC writer process): a transaction-scoped lock
LEDGER_LOCK = "SELECT pg_advisory_xact_lock(7211)"

CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
#: the same text for dicts whose keys are already in sorted order
CANONICAL_PRESORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


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
