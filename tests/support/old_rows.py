"""Rows written into the schema of an earlier revision, for migration tests.

The models describe the newest schema only, so a row stored before a migration is written
through the table as the database has it then (reflected), every required column without a
default filled with a harmless value unless given.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, MetaData, Table, insert
from sqlalchemy.engine import Connection

_NOW = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)


def _filler(column: Any) -> Any:
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, Float):
        return 0.0
    if isinstance(kind, DateTime):
        return _NOW
    if isinstance(kind, JSON):
        return {}
    return "x"


def insert_old_row(connection: Connection, table: str, **values: Any) -> int:
    """Insert one row into ``table`` as it is now in the database; return its id."""
    reflected = Table(table, MetaData(), autoload_with=connection)
    row = {c.name: _filler(c) for c in reflected.columns
           if not c.nullable and c.server_default is None and not c.primary_key}
    row.update(values)
    return connection.execute(insert(reflected).values(row).returning(reflected.c.id)).scalar_one()
