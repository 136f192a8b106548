"""Hourly figures: rollups of the counts and sums behind the dashboards.

One row per UTC hour and unit (``hourly_figures``), and one per UTC hour, unit and value of one
filter's dimension (``hourly_dimension_figures``: category, channel, questionnaire, language,
source or mode),
holds what the overview adds up (responses and their scored answers, held ones left out;
complaints received, resolved with a due time and on time; compliments received; invitations
sent, answered and undelivered), each counted
at its own moment (submitted_at, received_at, resolved_at, sent_at). Database triggers on
``answer``, ``response``, ``complaint`` and ``invitation`` keep both exact in the same
transaction as every write, whichever code (or SQL) makes it; the rows are never written by
the application.
``app.analytics.rollup`` builds the triggers from the same aggregate expressions as the queries
(and installs them whenever ``create_all`` creates these tables), and can rebuild the tables from
scratch.

Rows are partial sums: a figure is the sum of every row (and slot) of its hours and units.

Why hours in UTC: every local midnight of a time zone with a whole-hour offset is an hour
boundary, so a day, week, month or quarter of the organisation is a set of whole rows, without
the rollup having to know the time zone (which the organisation may change at any time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, Index, Integer, PrimaryKeyConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


def _count() -> Any:
    return mapped_column(Integer, nullable=False, server_default=text("0"))


def _sum() -> Any:
    return mapped_column(Float, nullable=False, server_default=text("0"))


def _writers(table: str) -> Index:
    """The writers' rows (slot <> 0), few at any time: what the compaction reads, without
    scanning the table every five minutes."""
    return Index(f"ix_{table}_writers", "slot", postgresql_where=text("slot <> 0"),
                 sqlite_where=text("slot <> 0"))


def _slot(primary_key: bool) -> Any:
    """The writer's row, the last column of the key: on PostgreSQL each connection adds to its
    own (its backend's pid), so that two transactions never wait for one another's rollup rows
    (no lock queue, no deadlock between writers of several units); 0 holds what the rebuild
    and the compaction wrote. A figure is the sum over every slot."""
    return mapped_column(Integer, primary_key=primary_key, autoincrement=False,
                         nullable=False, server_default=text("0"))


class _Figures:
    """The counts and sums both rollups hold, after their key columns."""

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
    # Sent, not answered, and bounced or reported failed: delivered = sent - undelivered.
    undelivered: Mapped[int] = _count()
    # Records of kind compliment received (``received`` counts only complaints).
    compliments: Mapped[int] = _count()


class HourlyFigures(_Figures, db.Model):
    """Per UTC hour and unit: every view filtered by unit at most."""

    __tablename__ = "hourly_figures"
    __table_args__ = (_writers("hourly_figures"),)

    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    slot: Mapped[int] = _slot(primary_key=True)


#: The counts and sums of both rollups, in their order.
FIGURES = tuple(_Figures.__annotations__)


class HourlyDimensionFigures(_Figures, db.Model):
    """Per UTC hour, unit and one value of one dimension (``dimension``: ``category``,
    ``channel``, ``questionnaire``, ``language``, ``source`` or ``mode``,
    ``app.analytics.splits.Dimension``; ``value``: the category or questionnaire id, or the
    channel, language, source or mode, as text): every view filtered by one of those (and by
    unit). A row counts only the figures its dimension applies to (``app.analytics.filters``):
    complaints have no questionnaire, language, source or mode, so such views take the
    complaints' figures from ``hourly_figures``.

    Hourly, not daily: an organisation's day starts at its local midnight, which is a whole UTC
    hour but rarely UTC midnight, so only hours give every local day, week and month exactly.
    Rows grow with hours x units x values that occur: where a unit has a few complaints an
    hour, nearly one row per complaint, response and invitation for each dimension (1.9
    million rows for 200,000 complaints in bench_dashboards.py), while a filtered view reads
    only the rows of its value.
    """

    # The key starts with the dimension and its value, so a filtered view reads one range of
    # the primary key (its value's hours), not every dimension's rows of the period; and on
    # PostgreSQL the key's index carries the figures (INCLUDE), so that range is read from the
    # index alone. The triggers write the table hour by hour, every value of an hour together,
    # so from the table a view of one category of 20 visits nearly every page of its period
    # (five times slower in bench_dashboards.py --time-ordered).
    __table_args__ = (
        PrimaryKeyConstraint("dimension", "value", "hour", "unit_id", "slot",
                             postgresql_include=FIGURES),
        _writers("hourly_dimension_figures"),
    )

    dimension: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    unit_id: Mapped[int] = mapped_column(autoincrement=False)
    slot: Mapped[int] = _slot(primary_key=False)  # in the key, declared above
