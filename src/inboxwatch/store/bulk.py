"""Executemany of an INSERT with SQLAlchemy's per-row work done once per statement.

`Connection.execute(insert, list_of_dicts)` compiles the statement once but
then builds, type-processes and checks every row's parameters in Python.
Profiling `bench/store_events.py` showed that work taking about as much CPU
time as SQLite took to insert the rows. `BulkInsert` compiles the statement once per dialect, looks
up each column's bind processor (the conversion SQLAlchemy itself would
apply, such as datetimes to text on SQLite or JSON wrapping on psycopg) and
passes the driver ready rows through `exec_driver_sql`. So the SQL and the
stored values are the ones SQLAlchemy would produce, on every backend.
"""

from __future__ import annotations

import weakref
from datetime import datetime
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# Builds the statement for a dialect, so that dialect-specific constructs
# (ON CONFLICT) can be chosen by name.
StatementFactory = Callable[[Dialect], sa.Insert]

# Converted JSON and datetime values kept per column (see JsonMemo and DateTimeMemo).
MEMO_SIZE = 4096


class JsonMemo:
    """A JSON bind processor that remembers its results for dicts of scalar values."""

    def __init__(self, processor: Callable[[Any], Any]) -> None:
        self.processor = processor
        self.memo: dict[tuple, Any] = {}

    def __call__(self, value: Any) -> Any:
        if type(value) is not dict:
            return self.processor(value)
        # The value types are part of the key, so that {"n": 1} and
        # {"n": True} or {"n": 1.0}, which compare equal, never share an entry.
        key = tuple((name, type(item), item) for name, item in value.items())
        try:
            return self.memo[key]
        except KeyError:
            pass
        except TypeError:
            # A nested list or dict: not hashable, converted every time.
            return self.processor(value)
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        converted = self.memo[key] = self.processor(value)
        return converted


class DateTimeMemo:
    """A datetime bind processor that remembers its last MEMO_SIZE results.

    Log events share their seconds, and formatting a datetime (SQLite stores
    text) costs several dict look-ups. The key includes the UTC offset,
    because datetimes at the same instant in different zones compare equal
    but format differently.
    """

    def __init__(self, processor: Callable[[Any], Any]) -> None:
        self.processor = processor
        self.memo: dict[tuple, Any] = {}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, datetime):
            return self.processor(value)
        key = (value, value.utcoffset())
        converted = self.memo.get(key)
        if converted is None:
            if len(self.memo) >= MEMO_SIZE:
                self.memo.clear()
            converted = self.memo[key] = self.processor(value)
        return converted


class PreparedInsert:
    """One statement compiled for one dialect, with the row conversion it needs."""

    def __init__(self, statement: sa.Insert, columns: Sequence[str], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        self.sql = compiled.string
        table = statement.table
        # (column index, processor, the processed NULL): most optional values
        # are None, so their converted form is computed here once.
        self.processors = []
        for index, name in enumerate(columns):
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                if isinstance(table.c[name].type, sa.JSON):
                    processor = JsonMemo(processor)
                elif isinstance(table.c[name].type, sa.DateTime):
                    processor = DateTimeMemo(processor)
                self.processors.append((index, processor, processor(None)))
        if dialect.positional:
            positions = {name: index for index, name in enumerate(columns)}
            order = [positions[name] for name in compiled.positiontup or ()]
            self.names: tuple[str, ...] | None = None
            self.order = order if order != list(range(len(columns))) else None
            bound = set(compiled.positiontup or ())
        else:
            self.names = tuple(columns)
            self.order = None
            bound = set(compiled.binds)
        if bound != set(columns):
            raise ValueError("statement binds %s, expected exactly the columns %s" % (sorted(bound), sorted(columns)))

    def driver_rows(self, rows: Sequence[Sequence[Any]]) -> list:
        """Convert rows in column order to what the driver's executemany takes."""
        if self.processors:
            converted = []
            for row in rows:
                values = list(row)
                for index, processor, null in self.processors:
                    value = values[index]
                    values[index] = null if value is None else processor(value)
                converted.append(values)
            rows = converted
        if self.names is not None:
            return [dict(zip(self.names, row)) for row in rows]
        if self.order is not None:
            return [tuple(row[index] for index in self.order) for row in rows]
        return [tuple(row) for row in rows]


class BulkInsert:
    """An INSERT run as one driver-level executemany over rows given as tuples in `columns` order."""

    def __init__(self, factory: StatementFactory, columns: Sequence[str]) -> None:
        self.factory = factory
        self.columns = tuple(columns)
        self.prepared: weakref.WeakKeyDictionary[Dialect, PreparedInsert] = weakref.WeakKeyDictionary()

    def execute(self, conn: sa.Connection, rows: Sequence[Sequence[Any]]) -> int:
        """Insert `rows` in the connection's transaction and return the driver's row count.

        Both sqlite3 and psycopg 3 report the total over all rows of an
        executemany; other drivers may return -1.
        """
        if not rows:
            return 0
        prepared = self.prepared.get(conn.dialect)
        if prepared is None:
            prepared = PreparedInsert(self.factory(conn.dialect), self.columns, conn.dialect)
            self.prepared[conn.dialect] = prepared
        return conn.exec_driver_sql(prepared.sql, prepared.driver_rows(rows)).rowcount
