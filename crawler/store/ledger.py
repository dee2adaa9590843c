"""The provenance ledger: an append-only, hash-chained log of provenance rows.

Each entry holds the canonical serialisation of one row as it was written (or
updated) and `entry_hash = SHA-256(prev_hash || "\\n" || payload)`, chaining it to the
entry before it (both defined in `crawler.store.canonical`). The first entry's `prev_hash` is
GENESIS (64 zeros). The head (the newest entry's hash) is what an archivist publishes;
`crawler verify` recomputes the chain (`walk_chain`) and checks every row against its
newest entry (`check_rows`).

Entries are made in one place, `crawler.store.canonical.chain_entries`; `append` (ORM rows)
and `append_values` (rows as column values) insert them in the caller's transaction, and
the WARC writer process inserts the same entries through its driver (`crawler.capture.rows`,
with this table's INSERT compiled by `crawler.capture.recorder`). Reads no settings.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.orm import Session

from crawler.store.canonical import (
    CANONICAL_PRESORTED,
    ENTRY_KEYS,
    GENESIS,
    LEDGER_LOCK,
    Shape,
    canonical_text,
    chain_entries,
    chain_hash,
    plain,
)
from crawler.store.db import BulkInsert
from crawler.store.models import Base, LedgerEntry

LEDGERED_TABLES = ("crawl_runs", "warc_files", "seeds", "outlets", "captures", "flags")


def row_dict(row: Base) -> dict[str, Any]:
    """The row's mapped columns as plain JSON values."""
    mapper = inspect(row).mapper
    return {col.key: plain(getattr(row, col.key)) for col in mapper.column_attrs}


def canonical(row: Base) -> str:
    """Canonical JSON of a row: table name, sorted keys, no spaces, UTF-8 as is."""
    return canonical_text(row.__tablename__, row_dict(row))


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
    """Serialise appenders that share one database (several crawl machines; the WARC
    writer process takes the same lock: crawler.capture.rows)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(text(LEDGER_LOCK))


def holds_dates(column_type: Any) -> bool:
    """Whether a column's values are dates or datetimes (the values `plain` changes)."""
    column_type = getattr(column_type, "impl_instance", column_type)  # a TypeDecorator's
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return True  # unknown: let plain look at each value
    return python_type is object or issubclass(python_type, dt.date)


@functools.cache
def shape(model: type[Base]) -> Shape:
    """What the ledger entries of `model`'s rows hold (by attribute key)."""
    mapper = inspect(model)
    attrs = mapper.column_attrs
    return Shape(keys=tuple(attr.key for attr in attrs),
                 primary=tuple(mapper.get_property_by_column(col).key
                               for col in mapper.primary_key),
                 dates=tuple(attr.key for attr in attrs if holds_dates(attr.columns[0].type)))


def table_shape(table: Table) -> Shape:
    """`shape` of a table whose columns are named as their attributes (the tables the WARC
    writer process writes: crawler.capture.recorder checks the names)."""
    return Shape(keys=tuple(str(column.key) for column in table.columns),
                 primary=tuple(str(column.key) for column in table.primary_key.columns),
                 dates=tuple(str(column.key) for column in table.columns
                             if holds_dates(column.type)))


_LEDGER_INSERT = BulkInsert(cast(Table, LedgerEntry.__table__), ENTRY_KEYS)


def _append(session: Session, groups: Iterable[tuple[type[Base], Sequence[Mapping[str, Any]]]],
            action: str) -> str:
    """The one appender on this side: the lock, the head read inside the caller's
    transaction, `chain_entries` per table, one insert of every entry."""
    _lock(session)
    prev = head(session)
    now = dt.datetime.now(dt.UTC)
    entries: list[dict[str, Any]] = []
    for model, rows in groups:
        more, prev = chain_entries(prev, model.__tablename__, rows, shape(model),
                                   action=action, recorded_at=now)
        entries += more
    _LEDGER_INSERT.execute(session, entries)
    return prev


def append(session: Session, rows: Sequence[Base], *, action: str = "insert") -> str:
    """Append one entry per row (rows must be flushed); returns the new head.

    Runs inside the caller's transaction, so rows and entries commit together.
    """
    if not rows:
        return head(session)
    for row in rows:
        row_key(row)  # refuses a row not flushed yet
    groups = [(model, [{key: getattr(row, key) for key in shape(model).keys} for row in group])
              for model, group in itertools.groupby(rows, type)]
    return _append(session, groups, action)


def append_values(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], *,
                  action: str = "insert") -> str:
    """`append` for rows inserted as column values (SQLAlchemy Core, no ORM object per
    row): each dict holds every mapped column, the primary key included. The entries
    are exactly those `append` makes for the same rows loaded as objects (see
    tests/test_ledger.py).
    """
    if not rows:
        return head(session)
    return _append(session, [(model, rows)], action)


# -- verification ------------------------------------------------------------------------
# What the chain proves and what it does not: recomputing it shows the entries are
# consistent with each other and with the rows as they stand. Anyone who can write to
# the database can rewrite rows AND recompute every hash after them, so the chain alone
# proves nothing about tampering; a head recorded outside the database (published,
# handed to an auditor, or signed — crawler.store.signing) must still be found in the chain.
# `recorded_at` is not covered by the hash (it is bookkeeping, not provenance).


@dataclass(frozen=True)
class LedgerIssue:
    """Something the ledger check found: where (seq, or table and row) and what."""

    kind: str
    message: str
    seq: int | None = None
    table: str | None = None
    row_id: str | None = None


@dataclass
class ChainWalk:
    """The result of recomputing the chain from GENESIS to the newest entry."""

    entries: int = 0
    head: str = GENESIS
    found: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    issues: list[LedgerIssue] = field(default_factory=list)
    # with newest=True: (table, row id) -> (seq, fingerprint of the payload) of each
    # row's newest entry, for check_rows (which otherwise reads them again)
    newest: dict[tuple[str, str], tuple[int, bytes]] | None = None


def walk_chain(session: Session, *, wanted: Iterable[str] = (), batch: int = 2000,
               newest: bool = False) -> ChainWalk:
    """Recompute every entry's hash and link, in seq order, streaming.

    `wanted` are hashes to look for (a published head, the runs' heads); where each
    was found is in `found` as (seq, table, row_id). With `newest`, also keeps each
    row's newest entry (`ChainWalk.newest`: 16 bytes of fingerprint per row).
    """
    wanted_set = set(wanted)
    walk = ChainWalk(newest={} if newest else None)
    latest = walk.newest
    expected_prev, prev_seq = GENESIS, None
    rows = session.execute(
        select(LedgerEntry.seq, LedgerEntry.table_name, LedgerEntry.row_id, LedgerEntry.action,
               LedgerEntry.payload, LedgerEntry.prev_hash, LedgerEntry.entry_hash)
        .order_by(LedgerEntry.seq).execution_options(yield_per=batch)
    )
    for seq, table, row_id, action, payload, prev_hash, entry_hash in rows:
        walk.entries += 1
        where: dict[str, Any] = {"seq": seq, "table": table, "row_id": row_id}
        if prev_hash != expected_prev:
            before = f"entry seq {prev_seq}" if prev_seq is not None else "GENESIS"
            walk.issues.append(LedgerIssue(
                "ledger-link", f"prev_hash {prev_hash} is not the hash of {before} "
                f"({expected_prev}): entries were removed, inserted or reordered", **where))
        if chain_hash(prev_hash, payload) != entry_hash:
            walk.issues.append(LedgerIssue(
                "ledger-hash", f"entry_hash {entry_hash} is not SHA-256(prev_hash, payload) "
                f"= {chain_hash(prev_hash, payload)}: the entry was edited", **where))
        problem = _payload_problem(table, row_id, action, payload)
        if problem:
            walk.issues.append(LedgerIssue("ledger-entry", problem, **where))
        if entry_hash in wanted_set:
            walk.found[entry_hash] = (seq, table, row_id)
        if latest is not None:
            latest[table, row_id] = (seq, _fingerprint(payload))
        expected_prev, prev_seq = entry_hash, seq
    walk.head = expected_prev
    return walk


def _payload_problem(table: str, row_id: str, action: str, payload: str) -> str | None:
    if action not in ("insert", "update"):
        return f"action {action!r} is neither insert nor update"
    try:
        body = json.loads(payload)
        named, row = body["table"], body["row"]
    except (ValueError, KeyError, TypeError):
        return "payload is not the canonical JSON of a row"
    if named != table:
        return f"payload is a {named} row but the entry says {table}"
    keys = _primary_keys(table)
    if keys is not None and ",".join(str(row.get(k)) for k in keys) != row_id:
        return f"payload is row {row.get(keys[0])!r} but the entry says row {row_id}"
    return None


def _models() -> dict[str, type[Base]]:
    return {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}


@functools.cache
def _primary_keys(table: str) -> list[str] | None:
    """Primary key attribute names of a ledgered table (None: not a table we map)."""
    model = _models().get(table)
    return None if model is None else [str(col.key) for col in inspect(model).primary_key]


def _fingerprint(payload: str) -> bytes:
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).digest()


def _differences(recorded: str, current: str, limit: int = 80) -> str:
    try:
        old, new = json.loads(recorded)["row"], json.loads(current)["row"]
    except (ValueError, KeyError, TypeError):
        return "the recorded payload is not canonical JSON"
    parts = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            parts.append(f"{key}: ledger {str(old.get(key))[:limit]!r}, "
                         f"now {str(new.get(key))[:limit]!r}")
    return "; ".join(parts) or "serialisation differs"


def canonical_rows(session: Session, table: str, *, batch: int = 1000
                   ) -> Iterator[tuple[str, str]]:
    """(row key, canonical JSON) of every row of a ledgered table, in key order.

    The same text as `canonical` and the same key as `row_key`, built from the table's
    column values (a Core query) instead of loaded ORM objects, which cost three times
    as much; tests/test_verify_ledger.py holds them equal.
    """
    mapper = inspect(_models()[table])
    attrs = sorted(mapper.column_attrs, key=lambda attr: attr.key)  # the JSON's key order
    keys = [attr.key for attr in attrs]
    key_at = [keys.index(mapper.get_property_by_column(col).key) for col in mapper.primary_key]
    dates = [i for i, attr in enumerate(attrs) if holds_dates(attr.columns[0].type)]
    rows = session.execute(select(*(attr.columns[0] for attr in attrs))
                           .order_by(*mapper.primary_key).execution_options(yield_per=batch))
    encode = CANONICAL_PRESORTED.encode
    for row in rows:
        values = list(row)
        for i in dates:
            values[i] = plain(values[i])
        body = {"row": dict(zip(keys, values, strict=True)), "table": table}  # sorted keys
        yield ",".join(str(values[i]) for i in key_at), encode(body)


def check_rows(session: Session, *, tables: Iterable[str] = LEDGERED_TABLES,
               batch: int = 1000, walk: ChainWalk | None = None) -> Iterator[LedgerIssue]:
    """Each row's canonical serialisation against its newest ledger entry.

    Reports rows changed since their newest entry, rows with no entry, and entries
    whose row is gone. Holds a 16-byte fingerprint per row of one table at a time, or
    takes every row's from `walk` (walk_chain's with newest=True, same session).
    """
    walked: dict[str, dict[str, tuple[int, bytes]]] | None = None
    if walk is not None and walk.newest is not None:
        walked = {}
        for (named, row_id), newest_entry in walk.newest.items():
            walked.setdefault(named, {})[row_id] = newest_entry
    for table in tables:
        newest: dict[str, tuple[int, bytes]] = {}
        if walked is not None:
            newest = walked.pop(table, {})
        else:
            newest_seq = (select(func.max(LedgerEntry.seq))
                          .where(LedgerEntry.table_name == table).group_by(LedgerEntry.row_id))
            for row_id, seq, payload in session.execute(
                select(LedgerEntry.row_id, LedgerEntry.seq, LedgerEntry.payload)
                .where(LedgerEntry.seq.in_(newest_seq)).execution_options(yield_per=batch)
            ):
                newest[row_id] = (seq, _fingerprint(payload))
        for key, current in canonical_rows(session, table, batch=batch):
            entry = newest.pop(key, None)
            if entry is None:
                yield LedgerIssue("row-unledgered", "the row has no ledger entry: written outside "
                                  "the recorder, or its entries were removed",
                                  table=table, row_id=key)
            elif entry[1] != _fingerprint(current):
                recorded = session.scalar(
                    select(LedgerEntry.payload).where(LedgerEntry.seq == entry[0]))
                yield LedgerIssue("row-changed", f"the row differs from its newest ledger entry "
                                  f"(seq {entry[0]}): {_differences(recorded or '', current)}",
                                  seq=entry[0], table=table, row_id=key)
        for key, (seq, _fp) in sorted(newest.items()):
            yield LedgerIssue("row-gone", f"the ledger records this row (newest entry seq {seq}) "
                              "but the row is gone: deleted", seq=seq, table=table, row_id=key)
