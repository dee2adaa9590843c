"""The WARC writer process's side of the provenance database: it commits the capture
rows of what it has fsynced, their ledger entries, the rows of its WARC files and any
outlet the crawl had not recorded, through the database driver alone (DB-API: sqlite3
or psycopg), without SQLAlchemy. Reads no settings (the crawl sends a `DatabasePlan`).

A thread of the crawl process used to insert these rows beside Scrapy's reactor; its
Python held the interpreter lock the reactor needs, and cost the crawl ~4 % of its
pages/s (BENCHMARKS.md, "Stop 13"). In this process the work runs on the second core.

This module keeps no copy of the schema. The crawl process compiles, from the models'
`Table` objects, every statement run here, in the driver's paramstyle, with the column
order and how each value is bound (`crawler.capture.recorder.database_plan`, with
`crawler.store.db.compile_statement`); a column this process has no value for stops the
crawl before it starts (`DatabasePlan.check`). Each ledger entry is made by
`crawler.store.canonical.chain_entries`, as every other appender makes it.

Each batch is one transaction: the rows of files opened since the batch before, any new
outlet, the captures, then their ledger entries. It begins with `DatabasePlan.begin`: on
SQLite BEGIN IMMEDIATE, so the write lock is held before the ledger's head is read and no
other writer appends in between; on PostgreSQL the ledger's advisory lock does that
(`crawler.store.ledger` takes the same lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from crawler.store.canonical import ENTRY_KEYS, GENESIS, Shape, chain_entries
from crawler.store.dbapi import Statement
from crawler.warc.records import Fetch

DRIVERS = ("sqlite3", "psycopg")
#: the capture columns this module fills in: the database's ids
CAPTURE_IDS = ("id", "run_id", "outlet_id", "warc_file_id", "redirect_from_id")
_FETCH_FIELDS = frozenset(f.name for f in fields(Fetch))


class DatabaseWriteError(Exception):
    """The writer process could not commit rows (the crawl stops and says why)."""


class RecordValues(NamedTuple):
    """The capture columns the writer process takes from the records it wrote for a
    fetch (a failed fetch has only its metadata record)."""

    metadata_record_id: str
    metadata_offset: int
    metadata_length: int
    warc_record_id: str | None = None
    response_offset: int | None = None
    response_length: int | None = None
    request_record_id: str | None = None
    request_offset: int | None = None
    request_length: int | None = None
    content_type: str | None = None  # the response's headers, the last if repeated
    content_encoding: str | None = None
    payload_length: int | None = None
    payload_sha256: str | None = None
    warc_payload_digest: str | None = None
    warc_block_digest: str | None = None


def capture_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The capture columns taken from the Fetch field of their name: all but
    CAPTURE_IDS and RecordValues'. Raises DatabaseWriteError for a column that is not a
    Fetch field either (the writer would have no value for it)."""
    rest = [c for c in columns if c not in CAPTURE_IDS and c not in RecordValues._fields]
    unknown = [c for c in rest if c not in _FETCH_FIELDS]
    if unknown:
        raise DatabaseWriteError(
            f"table captures has columns {unknown} the WARC writer has no value for (give "
            "crawler.warc.records.Fetch a field of that name, or crawler.capture.rows."
            "RecordValues one)")
    return tuple(rest)


@dataclass(frozen=True)
class TablePlan:
    """One table this module writes, compiled from its model."""

    name: str
    shape: Shape  # what its rows' ledger entries hold
    insert: Statement  # one row: every column but an autoincrementing key
    update: Statement | None = None  # every column but the primary key, by the primary key
    id_by_name: Statement | None = None  # SELECT of the id of the row of a unique name


@dataclass(frozen=True)
class DatabasePlan:
    """What the writer process needs to write the crawl's rows (crawler.capture.recorder)."""

    driver: str  # the DB-API module: one of DRIVERS
    connect_args: tuple[Any, ...]
    connect_kwargs: dict[str, Any]
    on_connect: tuple[str, ...]  # statements run once connected (SQLite's pragmas)
    begin: str  # each transaction's first statement: the lock taken before the head is read
    run_id: int
    outlets: dict[str, int]  # outlet name -> id, as on record when the crawl began
    outlet_table: TablePlan
    warc_files: TablePlan
    captures: TablePlan
    ledger: Statement  # INSERT of one entry (ENTRY_KEYS)
    ledger_head: Statement  # SELECT of the newest entry's hash
    new_captures: Statement  # SELECT id, metadata_record_id of the run's captures after an id

    def check(self) -> None:
        """Refuse a plan this module cannot write: another driver, or a column it has no
        value for (a new column in crawler.store.models gets one here, or a Fetch field
        of its name, before a crawl writes that table). Raises DatabaseWriteError."""
        if self.driver not in DRIVERS:
            raise DatabaseWriteError(f"database driver {self.driver!r}: the WARC writer "
                                     f"commits rows through {' or '.join(DRIVERS)} only")
        capture_columns(self.captures.shape.keys)
        given = {self.outlet_table.name: {f.name for f in fields(OutletRow)},
                 self.warc_files.name: {f.name for f in fields(FileRow)}}
        for table in (self.outlet_table, self.warc_files):
            missing = sorted(set(table.shape.keys) - given[table.name])
            if missing:
                raise DatabaseWriteError(
                    f"table {table.name} has columns {missing} the WARC writer has no value "
                    "for (crawler/capture/rows.py must learn to write them)")
        missing = sorted(set(self.ledger.keys) - set(ENTRY_KEYS))
        if missing:
            raise DatabaseWriteError(f"the ledger has columns {missing} no entry holds "
                                     "(crawler.store.canonical.ENTRY_KEYS)")


@dataclass
class OutletRow:
    """An outlet's row as this module writes it."""

    name: str
    id: int | None = None


@dataclass
class FileRow:
    """A WARC file's row as this module writes it."""

    name: str
    run_id: int
    warcinfo_id: str
    opened_at: dt.datetime
    gzip_level: int
    id: int | None = None
    closed_at: dt.datetime | None = None
    size: int | None = None
    sha256: str | None = None


@dataclass
class Written:
    """One fetch written to the WARC file: its capture row without the database's ids
    (CAPTURE_IDS), which `ProvenanceWriter.commit` fills in."""

    key: str
    row: dict[str, Any]
    outlet: str | None
    warc_file: str  # the name of the file its records are in
    origin: str | None  # key of the redirect this fetch followed, if that was written
    redirect: bool


@dataclass
class _Batch:
    """One transaction: its cursor, and the ledger entries chained from the head read in it."""

    cursor: Any
    head: str
    now: dt.datetime
    entries: list[dict[str, Any]] = field(default_factory=list)

    def run(self, statement: Statement, row: Mapping[str, Any]) -> None:
        self.cursor.execute(statement.sql, statement.values(row))

    def run_many(self, statement: Statement, rows: Iterable[Mapping[str, Any]]) -> None:
        """One prepared single-row statement, run for every row (executemany: in this
        process it costs no other thread the interpreter lock, and it took 8 % less time
        and no more memory than multi-row INSERTs; BENCHMARKS.md, "Stop 13")."""
        self.cursor.executemany(statement.sql, statement.params(rows))

    def ledger(self, table: TablePlan, rows: Iterable[Mapping[str, Any]], *,
               action: str = "insert") -> None:
        entries, self.head = chain_entries(self.head, table.name, rows, table.shape,
                                           action=action, recorded_at=self.now)
        self.entries += entries


class ProvenanceWriter:
    """Commits the rows of one crawl run (one connection, one transaction per batch)."""

    def __init__(self, plan: DatabasePlan, *, gzip_level: int) -> None:
        plan.check()
        self.plan = plan
        self.gzip_level = gzip_level
        self.outlets = dict(plan.outlets)
        self.files: dict[str, FileRow] = {}  # WARC file name -> its row
        self.unrecorded: list[str] = []  # files whose rows go in with the next batch
        self.redirect_ids: dict[str, int] = {}  # key of a committed redirect -> capture id
        self.last_id = 0  # the highest capture id of this run seen so far
        module = importlib.import_module(plan.driver)
        self.conn = module.connect(*plan.connect_args, **plan.connect_kwargs)
        cursor = self.conn.cursor()
        for statement in plan.on_connect:
            cursor.execute(statement)
        cursor.close()
        if plan.driver != "sqlite3":
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    # -- what the writer process reports ------------------------------------------------
    def file_opened(self, name: str, warcinfo_id: str, opened_at: dt.datetime) -> None:
        """A WARC file was started: its row goes in with the first batch written to it."""
        self.files[name] = FileRow(name=name, run_id=self.plan.run_id, warcinfo_id=warcinfo_id,
                                   opened_at=opened_at, gzip_level=self.gzip_level)
        self.unrecorded.append(name)

    def file_closed(self, name: str, *, size: int, sha256: str, closed_at: dt.datetime) -> None:
        """A WARC file was finished and renamed: its size and SHA-256, and their entry."""
        table = self.plan.warc_files
        assert table.update is not None
        with self._transaction() as batch:
            self._record_files(batch)
            row = self.files.pop(name)
            row.size, row.sha256, row.closed_at = size, sha256, closed_at
            batch.run(table.update, vars(row))
            batch.ledger(table, [vars(row)], action="update")

    def commit(self, written: Sequence[Written]) -> None:
        """Insert the capture rows of a batch the writer has fsynced, with their ledger
        entries, in one transaction."""
        with self._transaction() as batch:
            self._record_files(batch)
            inserted: list[Written] = []
            chunk: list[Written] = []
            for item in written:
                row = item.row
                row["run_id"] = self.plan.run_id
                row["outlet_id"] = self._outlet_id(batch, item.outlet)
                row["warc_file_id"] = self.files[item.warc_file].id
                row["redirect_from_id"] = None
                if item.origin is not None:
                    if item.origin not in self.redirect_ids:  # its origin is in this chunk
                        inserted += self._insert_captures(batch, chunk)
                        chunk = []
                    row["redirect_from_id"] = self.redirect_ids.pop(item.origin, None)
                chunk.append(item)
            inserted += self._insert_captures(batch, chunk)
            batch.ledger(self.plan.captures, [item.row for item in inserted])

    # -- in a transaction -------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Batch]:
        cursor = self.conn.cursor()
        try:
            cursor.execute(self.plan.begin)
            cursor.execute(self.plan.ledger_head.sql)
            head = cursor.fetchone()
            batch = _Batch(cursor, head[0] if head else GENESIS, dt.datetime.now(dt.UTC))
            yield batch
            batch.run_many(self.plan.ledger, batch.entries)
            self.conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                self.conn.rollback()
            raise
        finally:
            cursor.close()

    def _record_files(self, batch: _Batch) -> None:
        """Rows of the WARC files opened since the last transaction, with their entries."""
        for name in self.unrecorded:
            row = self.files[name]
            batch.run(self.plan.warc_files.insert, vars(row))
            row.id = self._id_of(batch, self.plan.warc_files, name)
            batch.ledger(self.plan.warc_files, [vars(row)])
        self.unrecorded = []

    def _outlet_id(self, batch: _Batch, name: str | None) -> int | None:
        """The id of an outlet, recording it (and its entry) if the crawl had not."""
        if not name:
            return None
        if name not in self.outlets:
            row = OutletRow(name=name)
            batch.run(self.plan.outlet_table.insert, vars(row))
            row.id = self.outlets[name] = self._id_of(batch, self.plan.outlet_table, name)
            batch.ledger(self.plan.outlet_table, [vars(row)])
        return self.outlets[name]

    def _id_of(self, batch: _Batch, table: TablePlan, name: str) -> int:
        assert table.id_by_name is not None
        batch.run(table.id_by_name, {"name": name})
        return int(batch.cursor.fetchone()[0])

    def _insert_captures(self, batch: _Batch, chunk: list[Written]) -> list[Written]:
        """Insert capture rows, then read back their ids: this run's rows above the
        highest id seen so far, matched by metadata record id (unique per capture).
        Only this writer inserts this run's captures, and ids only grow, in SQLite as
        in PostgreSQL."""
        if not chunk:
            return []
        batch.run_many(self.plan.captures.insert, [item.row for item in chunk])
        batch.run(self.plan.new_captures, {"run_id": self.plan.run_id, "after": self.last_id})
        ids = {record: capture_id for capture_id, record in batch.cursor.fetchall()}
        self.last_id = max(ids.values(), default=self.last_id)
        for item in chunk:
            item.row["id"] = ids[item.row["metadata_record_id"]]
            if item.redirect:
                self.redirect_ids[item.key] = item.row["id"]
        return chunk
