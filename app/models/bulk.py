"""Many rows of one table written at once, for the paths that take data in bulk.

On PostgreSQL the rows go in with ``COPY ... FROM STDIN`` (psycopg's copy support: the rows are
formatted in C and streamed, the fastest way in); their ids are drawn from the tables' sequences
first, in one statement, so the caller knows each row's id without reading them back. COPY fires
the statement-level triggers as an INSERT does (the rollup's), and a duplicate key fails it as
it would fail an INSERT: ``insert_rows`` raises ``IntegrityError`` then, like the ORM. SQLite
gets multi-row INSERTs, the ids of their rows known from the last one.
"""

from __future__ import annotations

import enum
from typing import Any

import psycopg
from sqlalchemy import ColumnElement, Enum, Select, Table, any_, func, insert, literal, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError

from app.extensions import db

# Rows per INSERT on SQLite: 20 columns of 1,000 rows stay under its 32,766 bound parameters.
SQLITE_ROWS = 1000


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
    table: Table, rows: list[dict[str, Any]], *, ids: list[int] | None = None
) -> list[int]:
    """Insert ``rows`` (dicts with the same keys, the table's column names) into ``table``
    in the session's transaction; the rows' ids, in their order. On PostgreSQL ``ids`` are
    those ``reserve_ids`` drew (None: the column's default, and an empty list back); SQLite
    numbers the rows itself."""
    if not rows:
        return []
    if not on_postgresql():
        return _insert_into_sqlite(table, rows)
    names = list(rows[0])
    enums = [isinstance(table.c[name].type, Enum) for name in names]
    # Only the table's own column names are written into the statement.
    columns = ", ".join((["id"] if ids is not None else []) + names)
    statement = f"COPY {table.name} ({columns}) FROM STDIN"
    cursor = db.session.connection().connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for number, row in enumerate(rows):
                values = [
                    _plain(row[name]) if is_enum else row[name]
                    for name, is_enum in zip(names, enums, strict=True)
                ]
                copy.write_row(values if ids is None else [ids[number], *values])
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc
    except psycopg.errors.OperationalError as exc:
        raise OperationalError(statement, None, exc) from exc
    finally:
        cursor.close()
    return ids or []


def _insert_into_sqlite(table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Multi-row INSERTs of ``SQLITE_ROWS`` rows. SQLite gives a row without an id one more
    than the largest rowid (an INTEGER PRIMARY KEY), row after row, so one statement's rows
    hold consecutive ids ending at the last one. (RETURNING with ids in the rows' order would
    make SQLAlchemy send one INSERT per row.)"""
    ids: list[int] = []
    for start in range(0, len(rows), SQLITE_ROWS):
        chunk = rows[start : start + SQLITE_ROWS]
        last = db.session.execute(insert(table).values(chunk)).lastrowid
        ids += range(last - len(chunk) + 1, last + 1)
    return ids


def among(column: Any, values: list[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter.

    A list of 500 placeholders costs psycopg milliseconds to parse for every batch, and once
    psycopg prepares the statement (its fifth run) PostgreSQL's generic plan may compare each
    row with the whole list. With one array the index on ``column`` is used even before the
    table has statistics (``IN (SELECT unnest(...))`` was planned as a scan of the whole table
    then: 5 s for 80,000 complainants). For a unique key, ``joined_on_values`` is surer still.
    """
    if on_postgresql():
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def joined_on_values(stmt: Select[Any], column: Any, values: list[Any]) -> Select[Any]:
    """``stmt`` limited to the rows whose ``column`` is one of ``values``; on PostgreSQL a join
    with the unnested array, which probes a unique index on ``column`` (with the other columns
    of that index fixed by ``stmt``) once per value whatever the statistics say."""
    if not on_postgresql():
        return stmt.where(column.in_(values))
    wanted = func.unnest(literal(values, ARRAY(column.type))).table_valued("value")
    wanted = wanted.render_derived(name="wanted")
    return stmt.join(wanted, column == wanted.c.value)


def _plain(value: Any) -> Any:
    """An enum member as its stored value (psycopg would write its name)."""
    return value.value if isinstance(value, enum.Enum) else value
