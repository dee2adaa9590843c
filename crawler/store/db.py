"""Engine, sessions and schema upgrades of the provenance database.

The URL is `sqlite:///<collection>/provenance.db` unless `--db URL`,
`CRAWLER_DB_URL` (read in crawler.settings) or the `PROVENANCE_DB_URL` setting says
otherwise: SQLite, or PostgreSQL when several machines share a record (a crawl's rows
are committed by its WARC writer process through sqlite3 or psycopg: crawler.capture.rows;
commands that only read take any SQLAlchemy URL).
The schema is upgraded only through the Alembic migrations beside this file; a new,
empty database is created from the models and stamped at the head revision (the
same schema: tests/test_db.py compares them).

Statements of the models' tables are compiled here for the bare DB-API driver
(`compile_statement`, bound by `crawler.store.dbapi`): `BulkInsert` runs them in a session,
and the WARC writer process, which imports no SQLAlchemy, runs those
`crawler.capture.recorder.database_plan` compiles for it.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ClauseElement,
    Column,
    ColumnElement,
    Dialect,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    insert,
    text,
    update,
)
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

from crawler.errors import DatabaseError
from crawler.store.dbapi import BINDS, Statement

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
#: the newest migration in MIGRATIONS (tests/test_db.py holds it to Alembic's own head):
#: read-only commands check the schema against it without importing Alembic (~0.3 s)
SCHEMA_HEAD = "0001"
#: Alembic's own version table, as Alembic creates it
_ALEMBIC_VERSION = Table("alembic_version", MetaData(),
                         Column("version_num", String(32), primary_key=True))


def sqlite_pragmas(cache_kib: int | None = None) -> list[str]:
    """What every SQLite connection runs first: foreign keys, WAL, full sync, and a page
    cache of `cache_kib` KiB where given (also the WARC writer process's: crawler.capture.rows)."""
    pragmas = ["PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"]
    if cache_kib is not None:
        pragmas.append(f"PRAGMA cache_size=-{int(cache_kib)}")
    return pragmas


def _sqlite_pragmas(dbapi_connection: object, _record: object, *,
                    cache_kib: int | None = None) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    for pragma in sqlite_pragmas(cache_kib):
        cursor.execute(pragma)
    cursor.close()


def make_engine(url: str, *, sqlite_cache_kib: int | None = None) -> Engine:
    """An engine for `url`. SQLite connections get foreign keys, WAL and full sync, and
    a page cache of `sqlite_cache_kib` KiB where given (SQLite's default is 2,000 KiB
    per connection)."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect",
                         functools.partial(_sqlite_pragmas, cache_kib=sqlite_cache_kib))
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"database URL {safe_url(url)!r}: {exc}") from None
    return engine


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL too broken to parse is shown as given
        return url


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    return SCHEMA_HEAD


def alembic_head_revision() -> str:
    """The head as Alembic finds it in MIGRATIONS (what SCHEMA_HEAD must equal)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The revision Alembic recorded in the database (None: no schema yet)."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest migration; returns the revision now in place."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        current = current_revision(engine)
        if current is None and _is_empty(engine):
            _create_at_head(engine)
        elif current != head_revision():
            log.info("upgrading provenance database %s", safe_url(str(engine.url)))
            from alembic import command

            command.upgrade(alembic_config(engine), "head")
        return current_revision(engine) or ""
    except OperationalError as exc:
        raise DatabaseError(f"database {safe_url(str(engine.url))}: {exc.orig}") from None


def _is_empty(engine: Engine) -> bool:
    from sqlalchemy import inspect

    with engine.connect() as conn:
        return not inspect(conn).get_table_names()


def _create_at_head(engine: Engine) -> None:
    """A new database: the models' tables, stamped with the head revision, in one
    transaction — what the migrations build (tests/test_db.py compares the two), without
    importing Alembic and Mako into the crawl (~11 MB and 0.3 s; Alembic's own advice
    for new databases is create_all, then stamp)."""
    from crawler.store.models import Base

    log.info("creating provenance database %s", safe_url(str(engine.url)))
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        _ALEMBIC_VERSION.create(conn)
        conn.execute(_ALEMBIC_VERSION.insert().values(version_num=SCHEMA_HEAD))


def open_database(url: str, *, upgrade_schema: bool = True,
                  sqlite_cache_kib: int | None = None) -> sessionmaker[Session]:
    """Engine + session factory; upgrades the schema unless told not to."""
    engine = make_engine(url, sqlite_cache_kib=sqlite_cache_kib)
    if upgrade_schema:
        upgrade(engine)
    else:
        try:
            rev = current_revision(engine)
        except OperationalError as exc:
            raise DatabaseError(f"database {safe_url(url)}: {exc.orig}") from None
        if rev != head_revision():
            raise DatabaseError(
                f"database {safe_url(url)}: schema is at {rev or 'nothing'}, expected "
                f"{head_revision()} (run `crawler db upgrade`)"
            )
    return sessionmaker(engine, expire_on_commit=False)


#: bound values per multi-row INSERT: SQLite's limit before 3.32 (later: 32,766)
MULTI_ROW_PARAMS = 999


def row_chunks(count: int, width: int) -> Iterator[tuple[int, int]]:
    """(start, rows) of the multi-row INSERTs that take `count` rows of `width` values:
    2**k rows each, largest first, at most MULTI_ROW_PARAMS values. Powers of two keep
    the distinct statements a driver prepares and caches to a handful (a statement per
    row count held ~70 MB once: BENCHMARKS.md, "Memory")."""
    size = 1
    while size * 2 * width <= MULTI_ROW_PARAMS:
        size *= 2
    start = 0
    while start < count:
        while size > count - start:
            size //= 2
        yield start, size
        start += size


#: the values a bind conversion is checked on (crawler.store.dbapi.BINDS): times in several
#: zones, a leap day, both ends of a second, and None
_PROBES: tuple[Any, ...] = (
    None,
    dt.datetime(2030, 6, 15, 12, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2000, 2, 29, 0, 0, tzinfo=dt.UTC),
    dt.datetime(1970, 1, 1, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-11))),
)


def bind_conversion(column: ColumnElement[Any], dialect: Dialect, *,
                    what: str | None = None) -> str | None:
    """The name of the `crawler.store.dbapi.BINDS` conversion that binds `column`'s values
    (a column or a bound parameter) as SQLAlchemy does on `dialect` (None: SQLAlchemy binds
    them as they are). Raises DatabaseError for a column no conversion reproduces (the
    driver-side writers must learn it first), naming it as `what`."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    for name, convert in BINDS.items():
        try:
            if all(convert(value) == process(value) for value in _PROBES):
                return name
        except (TypeError, ValueError, AttributeError):
            continue
    raise DatabaseError(
        f"{what or f'column {column}'} ({column.type!r}): SQLAlchemy binds its values on "
        f"{dialect.name} in a way crawler.store.dbapi.BINDS does not reproduce (teach it there)")


def compile_statement(statement: ClauseElement, dialect: Dialect, *,
                      column_keys: Sequence[str] | None = None,
                      keys: Mapping[str, str] | None = None) -> Statement:
    """`statement` (an INSERT, UPDATE or SELECT of the models' tables) as `dialect`'s
    driver runs it: an INSERT or UPDATE of `column_keys`, each parameter taking the row
    key it is named by, or `keys[its name]`, bound as its column's type binds values
    (`bind_conversion`)."""
    compiled = statement.compile(dialect=dialect, column_keys=column_keys)
    assert isinstance(compiled, SQLCompiler)
    order = list(compiled.positiontup or ()) if dialect.positional else list(compiled.binds)
    binds = [compiled.binds[name] for name in order]
    for bind in binds:
        if not bind.required:  # a value in the statement itself (a LIMIT, a default)
            raise DatabaseError(f"{statement}: parameter {bind.key} has a value of its own")
    table = getattr(getattr(statement, "table", None), "name", None)  # an INSERT's, UPDATE's
    # plain str throughout: SQLAlchemy's names are its own str subclass, which would
    # import SQLAlchemy wherever a Statement is unpickled (the writer process)
    order = [str(name) for name in order]
    return Statement(
        sql=str(compiled), keys=tuple(str((keys or {}).get(name, name)) for name in order),
        names=None if dialect.positional else tuple(order),
        binds=tuple(bind_conversion(bind, dialect, what=f"column {table}.{bind.key}" if table
                                    else f"parameter {bind.key}") for bind in binds))


def compile_insert(table: Table, keys: Sequence[str], dialect: Dialect) -> Statement:
    """INSERT of one row of `keys` (the table's column keys) into `table`."""
    return compile_statement(insert(table).inline(), dialect, column_keys=keys)


def compile_update(table: Table, dialect: Dialect) -> Statement:
    """UPDATE of every column of one row but its primary key, found by its primary key."""
    primary = list(table.primary_key.columns)
    where = [column == bindparam(f"pk_{column.key}") for column in primary]
    return compile_statement(
        update(table).where(*where), dialect,
        column_keys=[column.key for column in table.columns if column not in primary],
        keys={f"pk_{column.key}": column.key for column in primary})


class BulkInsert:
    """INSERT of many rows straight through the DB-API.

    SQLAlchemy Core's executemany builds every row's parameters in Python, column by
    column (most of the crawl process's time per capture); this compiles the statement
    once per dialect (`compile_insert`) and hands the driver plain tuples or dicts, bound
    as SQLAlchemy binds them (`crawler.store.dbapi`). Rows are dicts holding every key
    given; the values stored are exactly what Core would store.

    With a qmark driver (sqlite3) rows go in as multi-row INSERTs of 2**k rows
    (`row_chunks`): sqlite3's executemany steps the statement once per row and gives up
    the interpreter lock for every step, which costs a process whose other threads need
    it (the crawl's reactor, when it records 20,000 seeds). Other drivers (psycopg: named
    parameters, its own batching) keep executemany.
    """

    def __init__(self, table: Table, keys: Sequence[str]) -> None:
        self.table = table
        self.keys = tuple(keys)
        self._compiled: dict[str, Statement] = {}

    def statement(self, dialect: Dialect) -> Statement:
        key = f"{dialect.name}+{dialect.driver}"
        if key not in self._compiled:
            self._compiled[key] = compile_insert(self.table, self.keys, dialect)
        return self._compiled[key]

    def execute(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        connection = session.connection()
        statement = self.statement(connection.dialect)
        params = statement.params(rows)
        width = len(statement.keys)
        multi_row = (connection.dialect.paramstyle == "qmark"
                     and statement.sql.endswith(" VALUES " + _row(width)))
        if not multi_row:
            connection.exec_driver_sql(statement.sql, params)
            return
        for start, size in row_chunks(len(params), width):
            batch = params[start:start + size]
            if size == 1:
                connection.exec_driver_sql(statement.sql, batch)
            else:
                more = ", " + ", ".join([_row(width)] * (size - 1))
                connection.exec_driver_sql(statement.sql + more,
                                           tuple(itertools.chain.from_iterable(batch)))


def _row(width: int) -> str:
    """One row of qmark placeholders: "(?, ?, ...)"."""
    return "(" + ", ".join(["?"] * width) + ")"
