"""Writing the demo's many rows in few statements (the demo's modules share these)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import bulk


def insert_returning_ids(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` in few multi-row statements and return their ids, in the same order.

    The table's Core insert, not the ORM's: the ORM splits a batch wherever the set of non-null
    values changes (an e-mail here, none there), which turns thousands of rows into thousands of
    statements on PostgreSQL.
    """
    if not rows:
        return []
    table = model.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def insert_all(model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        db.session.execute(insert(model.__table__), rows)


def insert_numbered(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (dicts with the same keys) and return their ids, in the same order,
    without the one INSERT per row that ``insert_returning_ids`` costs on SQLite: COPY with
    drawn ids on PostgreSQL (``bulk``), one executemany with ids numbered on from the largest
    on SQLite (the demo is the only writer of its new database)."""
    if not rows:
        return []
    table = model.__table__
    columns = tuple(rows[0])
    if bulk.on_postgresql():
        ids = bulk.reserve_ids({table: len(rows)})[table.name]
        return bulk.insert_rows(table, columns,
                                [tuple(row[name] for name in columns) for row in rows], ids=ids)
    first = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    db.session.execute(insert(table), [{**row, "id": new_id}
                                       for row, new_id in zip(rows, ids, strict=True)])
    return ids
