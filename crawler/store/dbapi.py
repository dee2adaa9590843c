"""Statements compiled from the models, run through a DB-API driver without SQLAlchemy.

`crawler.store.db.compile_statement` compiles a SQLAlchemy statement of the models' `Table`
objects into a `Statement`: its SQL in the driver's paramstyle, which row key each
parameter takes, and how each value is bound (`BINDS`, checked there against
SQLAlchemy's own bind processors of the column). Both `crawler.store.db.BulkInsert` (in
a session) and the WARC writer process (`crawler.capture.rows`, through sqlite3 or
psycopg alone) make their parameters here, so a row is bound the same way on either
side. Reads no settings; imports nothing beyond the standard library.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime as `crawler.store.models.UTCDateTime` binds it: UTC, never naive."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: provenance times must be UTC-aware")
    return value.astimezone(dt.UTC)


def utc_text(value: dt.datetime | None) -> str | None:
    """`utc`, then the text SQLAlchemy's SQLite dialect stores ("YYYY-MM-DD HH:MM:SS.ffffff")."""
    value = utc(value)
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


#: the bind conversions a Statement can name (a column whose SQLAlchemy bind processor
#: is none of these is refused when its statement is compiled)
BINDS: dict[str, Callable[[Any], Any]] = {"utc": utc, "utc_text": utc_text}


@dataclass(frozen=True)
class Statement:
    """One SQL statement as the driver takes it, and how to bind a row's values to it."""

    sql: str
    keys: tuple[str, ...]  # the row key of each parameter, in the order bound
    names: tuple[str, ...] | None  # the parameter names (named paramstyles), or None
    binds: tuple[str | None, ...]  # a BINDS name per parameter, or None: bound as is

    @functools.cached_property
    def _convert(self) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        return tuple((i, BINDS[name]) for i, name in enumerate(self.binds) if name)

    @functools.cached_property
    def _take(self) -> Callable[[Mapping[str, Any]], Any]:
        if len(self.keys) == 1:
            key = self.keys[0]
            return lambda row: (row[key],)
        return operator.itemgetter(*self.keys)

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """One row's parameters (a KeyError names a value the row lacks)."""
        values = self._take(row)
        if self._convert:
            values = list(values)
            for i, convert in self._convert:
                values[i] = convert(values[i])
        if self.names is None:
            return tuple(values)
        return dict(zip(self.names, values, strict=True))

    def params(self, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Every row's parameters, for executemany."""
        return [self.values(row) for row in rows]

    def __getstate__(self) -> dict[str, Any]:  # the cached properties stay behind
        return {name: getattr(self, name) for name in ("sql", "keys", "names", "binds")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
