"""Hourly figures per unit: a rollup of the counts and sums behind the dashboards.

One row per UTC hour and unit holds what the overview adds up (responses and their scored
answers, complaints received, resolved with a due time and on time, invitations sent and
answered), each counted at its own moment (submitted_at, received_at, resolved_at, sent_at).
Database triggers on ``answer``, ``response``, ``complaint`` and ``invitation`` keep it exact in
the same transaction as every write, whichever code (or SQL) makes it; the rows are never written
by the application. ``app.analytics.rollup`` builds the triggers from the same aggregate
expressions as the queries (and installs them whenever ``create_all`` creates this table), and can
rebuild the table from scratch.

Rows are partial sums: a figure is the sum of every row (and slot) of its hours and units.

Why hours in UTC: every local midnight of a time zone with a whole-hour offset is an hour
boundary, so a day, week, month or quarter of the organisation is a set of whole rows, without
the rollup having to know the time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


def _count() -> Any:
    return mapped_column(Integer, nullable=False, server_default=text("0"))


def _sum() -> Any:
    return mapped_column(Float, nullable=False, server_default=text("0"))


class HourlyFigures(db.Model):
    __tablename__ = "hourly_figures"

    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: The writer's row: on PostgreSQL each connection adds to its own (its backend's pid), so
    #: that two transactions never wait for one another's rollup rows (no lock queue, no
    #: deadlock between writers of several units); 0 holds what the rebuild and the compaction
    #: wrote. A figure is the sum over every slot.
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False,
                                      server_default=text("0"))
    responses: Mapped[int] = _count()
    csat_n: Mapped[int] = _count()
    csat_satisfied: Mapped[int] = _count()
    csat_sum: Mapped[float] = _sum()
    csat_sum_sq: Mapped[float] = _sum()
    nps_n: Mapped[int] = _count()
    nps_promoters: Mapped[int] = _count()
    nps_detractors: Mapped[int] = _count()
    ces_n: Mapped[int] = _count()
    ces_sum: Mapped[float] = _sum()
    ces_sum_sq: Mapped[float] = _sum()
    resolution_n: Mapped[int] = _count()
    resolution_yes: Mapped[int] = _count()
    received: Mapped[int] = _count()
    resolved_with_due: Mapped[int] = _count()
    resolved_on_time: Mapped[int] = _count()
    sent: Mapped[int] = _count()
    responded: Mapped[int] = _count()
