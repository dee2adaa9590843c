"""The WARC writer process's side of the provenance database: it commits the capture
rows of what it has fsynced, their ledger entries, the rows of its WARC files and any
outlet the crawl had not recorded, through the database driver alone (DB-API: sqlite3
or psycopg), without SQLAlchemy.

A thread of the crawl process used to insert these rows beside Scrapy's reactor; its
Python held the interpreter lock the reactor needs, and cost the crawl ~4 % of its
pages/s (BENCHMARKS.md, "Stop 13"). In this process the work runs on the second core.

The rows and entries are exactly those the crawl process made through SQLAlchemy. The
crawl describes the database in a `DatabasePlan` (`crawler.capture.recorder` builds it with
SQLAlchemy: the driver and how to connect, the run, the outlets on record, the columns
of each table); times are bound as `crawler.store.models.UTCDateTime` binds them
(`bind_time`; tests/test_warc_db.py holds the two equal); each ledger entry is
`crawler.store.canonical`'s text of the row (tests/test_recorder.py holds every capture's
entry to `ledger.canonical` of the row as SQLAlchemy loads it back).

Each batch is one transaction: the rows of files opened since the batch before, any new
outlet, the captures, then their ledger entries. On SQLite it begins IMMEDIATE, so the
write lock is held before the ledger's head is read and no other writer appends in
between; on PostgreSQL the ledger's advisory lock does that (`crawler.store.ledger` takes the
same lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crawler.store.canonical import GENESIS, LEDGER_LOCK, canonical_text, chain_hash, plain

LEDGER_COLUMNS = ("table_name", "row_id", "action", "payload", "prev_hash", "entry_hash",
                  "recorded_at")
#: the columns this module writes of the tables whose rows it makes whole (a new column
#: in crawler.store.models must be written here too: DatabasePlan.check refuses to start)
OUTLET_COLUMNS = ("id", "name")
WARC_FILE_COLUMNS = ("id", "name", "run_id", "warcinfo_id", "opened_at", "closed_at", "size",
                     "sha256", "gzip_level")
DRIVERS = ("sqlite3", "psycopg")


class DatabaseWriteError(Exception):
    """The writer process could not commit rows (the crawl stops and says why)."""


@dataclass(frozen=True)
class DatabasePlan:
    """What the writer process needs to write the crawl's rows (crawler.capture.recorder)."""

    driver: str  # the DB-API module: one of DRIVERS
    connect_args: tuple[Any, ...]
    connect_kwargs: dict[str, Any]
    on_connect: tuple[str, ...]  # statements run once connected (SQLite's pragmas)
    run_id: int
    outlets: dict[str, int]  # outlet name -> id, as on record when the crawl began
    capture_columns: tuple[str, ...]  # every column of a capture row (its ledger text)
    ledger_table: str  # crawler.store.models.LedgerEntry's table
    table_columns: dict[str, tuple[str, ...]]  # outlets, warc_files, the ledger

    def check(self) -> None:
        """Refuse a plan this module cannot write exactly (raises DatabaseWriteError)."""
        if self.driver not in DRIVERS:
            raise DatabaseWriteError(
                f"database driver {self.driver!r}: the WARC writer commits rows through "
                f"{' or '.join(DRIVERS)} only (SQLite or PostgreSQL)")
        for table, known in (("outlets", OUTLET_COLUMNS), ("warc_files", WARC_FILE_COLUMNS),
                             (self.ledger_table, ("seq", *LEDGER_COLUMNS))):
            columns = self.table_columns.get(table, ())
            if sorted(columns) != sorted(known):
                raise DatabaseWriteError(
                    f"table {table} has columns {sorted(columns)}; the WARC writer writes "
                    f"{sorted(known)} (crawler/capture/rows.py must learn the new ones)")


def bind_time(value: dt.datetime, driver: str) -> Any:
    """A datetime as SQLAlchemy binds a UTCDateTime column: UTC, and on SQLite the text
    SQLAlchemy stores ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: provenance times must be UTC-aware")
    value = value.astimezone(dt.UTC)
    if driver == "sqlite3":
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


@dataclass
class _Ledger:
    """The ledger entries of one transaction, chained from the head read inside it."""

    prev: str
    now: Any  # recorded_at, bound
    entries: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, table: str, row_id: Any, row: dict[str, Any], action: str = "insert") -> None:
        payload = canonical_text(table, {key: plain(value) for key, value in row.items()})
        entry_hash = chain_hash(self.prev, payload)
        self.entries.append((table, str(row_id), action, payload, self.prev, entry_hash,
                             self.now))
        self.prev = entry_hash


class ProvenanceWriter:
    """Commits the rows of one crawl run (one connection, one transaction per batch)."""

    def __init__(self, plan: DatabasePlan, *, gzip_level: int) -> None:
        plan.check()
        self.plan = plan
        self.driver = plan.driver
        self.gzip_level = gzip_level
        self.mark = "?" if plan.driver == "sqlite3" else "%s"
        self.outlets = dict(plan.outlets)
        self.files: dict[str, dict[str, Any]] = {}  # WARC file name -> its row
        self.unrecorded: list[str] = []  # files whose rows go in with the next batch
        self.redirect_ids: dict[str, int] = {}  # key of a committed redirect -> capture id
        self.last_id = 0  # the highest capture id of this run seen so far
        self._sql: dict[str, str] = {}  # table -> its INSERT
        module = importlib.import_module(plan.driver)
        self.conn = module.connect(*plan.connect_args, **plan.connect_kwargs)
        cursor = self.conn.cursor()
        for statement in plan.on_connect:
            cursor.execute(statement)
        cursor.close()
        if self.driver != "sqlite3":
            self.conn.commit()

    def close(self) -> None:
        self.conn.close()

    # -- what the writer process reports ------------------------------------------------
    def file_opened(self, name: str, warcinfo_id: str, opened_at: dt.datetime) -> None:
        """A WARC file was started: its row goes in with the first batch written to it."""
        self.files[name] = {"id": None, "name": name, "run_id": self.plan.run_id,
                            "warcinfo_id": warcinfo_id, "opened_at": opened_at,
                            "closed_at": None, "size": None, "sha256": None,
                            "gzip_level": self.gzip_level}
        self.unrecorded.append(name)

    def file_closed(self, name: str, *, size: int, sha256: str, closed_at: dt.datetime) -> None:
        """A WARC file was finished and renamed: its size and SHA-256, and their entry."""
        with self._transaction() as (cursor, ledger):
            self._record_files(cursor, ledger)
            row = self.files.pop(name)
            row.update(size=size, sha256=sha256, closed_at=closed_at)
            cursor.execute(f'UPDATE warc_files SET size = {self.mark}, sha256 = {self.mark}, '
                           f'closed_at = {self.mark} WHERE id = {self.mark}',
                           (size, sha256, bind_time(closed_at, self.driver), row["id"]))
            ledger.add("warc_files", row["id"], row, action="update")

    def commit(self, written: Sequence[Any]) -> None:
        """Insert the capture rows of a batch the writer has fsynced (`Written`s of
        crawler.capture.writer) with their ledger entries, in one transaction."""
        with self._transaction() as (cursor, ledger):
            self._record_files(cursor, ledger)
            inserted: list[Any] = []
            chunk: list[Any] = []
            for item in written:
                row = item.row
                row["run_id"] = self.plan.run_id
                row["outlet_id"] = self._outlet_id(cursor, ledger, row.pop("outlet"))
                row["warc_file_id"] = self.files[row.pop("warc_file")]["id"]
                if item.origin is not None:
                    if item.origin not in self.redirect_ids:  # its origin is in this chunk
                        inserted += self._insert_captures(cursor, chunk)
                        chunk = []
                    row["redirect_from_id"] = self.redirect_ids.pop(item.origin, None)
                chunk.append(item)
            inserted += self._insert_captures(cursor, chunk)
            columns = self.plan.capture_columns
            for item in inserted:
                ledger.add("captures", item.row["id"], {key: item.row[key] for key in columns})

    # -- in a transaction -------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[tuple[Any, _Ledger]]:
        cursor = self.conn.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if self.driver == "sqlite3" else LEDGER_LOCK)
            cursor.execute(f"SELECT entry_hash FROM {self.plan.ledger_table} "
                           "ORDER BY seq DESC LIMIT 1")
            head = cursor.fetchone()
            ledger = _Ledger(head[0] if head else GENESIS,
                             bind_time(dt.datetime.now(dt.UTC), self.driver))
            yield cursor, ledger
            self._insert(cursor, self.plan.ledger_table, LEDGER_COLUMNS, ledger.entries)
            self.conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                self.conn.rollback()
            raise
        finally:
            cursor.close()

    def _record_files(self, cursor: Any, ledger: _Ledger) -> None:
        """Rows of the WARC files opened since the last transaction, with their entries."""
        for name in self.unrecorded:
            row = self.files[name]
            columns = [key for key in row if key != "id"]
            self._insert(cursor, "warc_files", columns, [self._bound(row, columns)])
            row["id"] = self._id_of(cursor, "warc_files", name)
            ledger.add("warc_files", row["id"], row)
        self.unrecorded = []

    def _outlet_id(self, cursor: Any, ledger: _Ledger, name: str | None) -> int | None:
        """The id of an outlet, recording it (and its entry) if the crawl had not."""
        if not name:
            return None
        if name not in self.outlets:
            self._insert(cursor, "outlets", ["name"], [(name,)])
            self.outlets[name] = outlet_id = self._id_of(cursor, "outlets", name)
            ledger.add("outlets", outlet_id, {"id": outlet_id, "name": name})
        return self.outlets[name]

    def _id_of(self, cursor: Any, table: str, name: str) -> int:
        cursor.execute(f"SELECT id FROM {table} WHERE name = {self.mark}", (name,))
        return int(cursor.fetchone()[0])

    def _insert_captures(self, cursor: Any, chunk: list[Any]) -> list[Any]:
        """Insert capture rows, then read back their ids: this run's rows above the
        highest id seen so far, matched by metadata record id (unique per capture).
        Only this writer inserts this run's captures, and ids only grow, in SQLite as
        in PostgreSQL."""
        if not chunk:
            return []
        columns = [key for key in self.plan.capture_columns if key != "id"]
        self._insert(cursor, "captures", columns,
                     [self._bound(item.row, columns) for item in chunk])
        cursor.execute(f"SELECT id, metadata_record_id FROM captures WHERE run_id = {self.mark} "
                       f"AND id > {self.mark}", (self.plan.run_id, self.last_id))
        ids = {record: capture_id for capture_id, record in cursor.fetchall()}
        self.last_id = max(ids.values(), default=self.last_id)
        for item in chunk:
            item.row["id"] = ids[item.row["metadata_record_id"]]
            if item.redirect:
                self.redirect_ids[item.key] = item.row["id"]
        return chunk

    def _bound(self, row: dict[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
        """A row's values under `columns` as the driver takes them (times: `bind_time`)."""
        return tuple(bind_time(value, self.driver) if isinstance(value, dt.datetime) else value
                     for value in map(row.__getitem__, columns))

    def _insert(self, cursor: Any, table: str, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
        """One prepared single-row INSERT per table, run for every row (executemany: in
        this process it costs no other thread the interpreter lock, and it took 8 % less
        time and no more memory than multi-row INSERTs; BENCHMARKS.md, "Stop 13")."""
        if table not in self._sql:
            marks = ", ".join([self.mark] * len(columns))
            names = ", ".join(f'"{name}"' for name in columns)
            self._sql[table] = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        cursor.executemany(self._sql[table], rows)
