"""Many rows of one table written at once, for the paths that take data in bulk.

On PostgreSQL the rows go in with binary ``COPY ... FROM STDIN`` (psycopg's copy support: the
rows are formatted in C and streamed, the fastest way in); their ids are drawn from the tables'
sequences first, in one statement, so the caller knows each row's id without reading them back.
COPY fires the statement-level triggers as an INSERT does (the rollup's), and a duplicate key
fails it as it would fail an INSERT: ``insert_rows`` raises ``IntegrityError`` then, like the
ORM. SQLite gets multi-row INSERTs, the ids of their rows known from the last one.
"""

from __future__ import annotations

import enum
import functools
import threading
from collections.abc import Sequence
from typing import Any

import psycopg
from sqlalchemy import Select, Table, bindparam, func, insert, select, text, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from app.extensions import db

# Rows per INSERT on SQLite: 20 columns of 1,000 rows stay under its 32,766 bound parameters.
SQLITE_ROWS = 1000
POSTGRESQL = postgresql.dialect()


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def reserve_ids(counts: dict[Table, int]) -> dict[str, list[int]]:
    """On PostgreSQL, ``count`` new ids from each table's sequence, by table name, drawn in one
    statement (one round trip for all tables); on SQLite nothing: ``insert_rows`` numbers the
    rows there."""
    wanted = {table: count for table, count in counts.items() if count}
    if not wanted or not on_postgresql():
        return {}
    columns = ", ".join(
        f"ARRAY(SELECT nextval((SELECT pg_get_serial_sequence(:t{number}, 'id'))::regclass) "  # noqa: S608
        f"FROM generate_series(1, :n{number}))"
        for number in range(len(wanted))
    )
    parameters: dict[str, Any] = {}
    for number, (table, count) in enumerate(wanted.items()):
        parameters |= {f"t{number}": table.name, f"n{number}": count}
    drawn = db.session.execute(text(f"SELECT {columns}"), parameters).one()  # noqa: S608
    return {table.name: list(ids) for table, ids in zip(wanted, drawn, strict=True)}


def insert_rows(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
    ids: list[int] | None = None,
) -> list[int]:
    """Insert ``rows`` (tuples of the values of ``columns``, names of the table's columns) into
    ``table`` in the session's transaction; the rows' ids, in their order. On PostgreSQL
    ``ids`` are those ``reserve_ids`` drew (None: the column's default, and an empty list
    back); SQLite numbers the rows itself.

    Tuples, not dicts, and the values as they are: psycopg formats a row of plain values in C,
    and an enum column's ``StrEnum`` member is a ``str`` holding its stored value. A plain
    ``Enum`` member would be written by its name, so it is refused."""
    if not rows:
        return []
    if any(isinstance(value, enum.Enum) and not isinstance(value, str) for value in rows[0]):
        raise TypeError(f"{table.name}: pass enum members' values, not the members")
    if not on_postgresql():
        return _insert_into_sqlite(table, columns, rows)
    names = tuple((["id"] if ids else []) + list(columns))
    # Only the table's own column names are written into the statement.
    statement = (f"COPY {table.name} ({', '.join(table.c[name].name for name in names)}) "
                 "FROM STDIN (FORMAT BINARY)")
    cursor = db.session.connection().connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            copy.set_types(_copy_types(table, names))
            if ids:
                for row_id, row in zip(ids, rows, strict=True):
                    copy.write_row((row_id, *row))
            else:
                for row in rows:
                    copy.write_row(row)
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.errors.OperationalError as exc:
        raise OperationalError(statement, None, exc) from exc
    finally:
        cursor.close()
    return ids or []


@functools.cache
def _copy_types(table: Table, names: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL types of these columns as psycopg names them ("int4", "varchar",
    "timestamptz"), for a binary COPY. Binary because formatting text cost psycopg 2 ms per 500
    complaint rows and the server as much again to parse; the types come from the models,
    which tests/system/test_migrations.py holds to the migrated schema."""
    return tuple(table.c[name].type.compile(dialect=POSTGRESQL).split("(")[0].lower()
                 for name in names)


def _insert_into_sqlite(table: Table, columns: Sequence[str],
                        rows: Sequence[Sequence[Any]]) -> list[int]:
    """Multi-row INSERTs of ``SQLITE_ROWS`` rows. SQLite gives a row without an id one more
    than the largest rowid (an INTEGER PRIMARY KEY), row after row, so one statement's rows
    hold consecutive ids ending at the last one. (RETURNING with ids in the rows' order would
    make SQLAlchemy send one INSERT per row.)"""
    ids: list[int] = []
    for start in range(0, len(rows), SQLITE_ROWS):
        chunk = [dict(zip(columns, row, strict=True)) for row in rows[start:start + SQLITE_ROWS]]
        last = db.session.execute(insert(table).values(chunk)).lastrowid
        ids += range(last - len(chunk) + 1, last + 1)
    return ids


def matching(model: Any, column: str, **equal: Any) -> tuple[Select[Any], Any]:
    """``select(entity)`` of the rows of ``model`` whose ``column`` is one of the values bound
    to the parameter ``values`` (execute it with ``{"values": [...]}``) and whose other columns
    hold the values given as keywords (None: IS NULL); and that entity, for the caller's loader
    options and ordering. Built once per thread, model, columns and database: a batch runs
    each lookup again, and building it (the aliases, their column proxies) cost a millisecond
    each time. Not once per process: SQLAlchemy completes an ORM statement's aliases as it
    first compiles it, and threads compiling one statement object at once failed now and then
    (``NoSuchColumnError`` for ``found.id``, "returned no FROM clauses"; two batches in 200
    under gunicorn's threads, 4 runs in 8 of eight threads starting together).

    On PostgreSQL each value is one probe of the index on ``column``, whatever the planner
    knows: a LATERAL subquery per value of the unnested array, fenced with ``OFFSET 0`` so that
    the planner cannot fold it into a join. ``column = ANY(array)`` and a join with the array
    are planned from the table's statistics, which a bulk load outruns (autovacuum analyses a
    minute later, if at all), and psycopg's prepared statements keep a generic plan made while
    the table was small: both became scans of the whole table, 0.4 s per batch of 500 at
    30,000 complainants. SQLite probes the index for ``IN`` by itself.
    """
    key = (model, column, tuple(sorted(equal.items())), on_postgresql())
    built: dict[Any, tuple[Select[Any], Any]] = _per_thread.__dict__.setdefault("matching", {})
    if key not in built:
        built[key] = _matching(*key)
    return built[key]


_per_thread = threading.local()


def _matching(model: Any, column_name: str, equal: tuple[tuple[str, Any], ...],
              postgresql: bool) -> tuple[Select[Any], Any]:
    column = getattr(model, column_name)
    criteria = [getattr(model, name) == value for name, value in equal]
    if not postgresql:
        values = bindparam("values", expanding=True)
        return select(model).where(column.in_(values), *criteria), model
    values = bindparam("values", type_=ARRAY(column.type))
    wanted = func.unnest(values).table_valued("value").render_derived(name="wanted")
    found = (select(model).where(column == wanted.c.value, *criteria)
             .offset(0).lateral("found"))
    entity = aliased(model, found)
    return select(entity).select_from(wanted).join(found, true()), entity
