"""Service volumes: how many services a unit delivered in a month, the denominator of
complaints per 1,000 services.

Where a unit has service events in a month (``service_event``, reported by the organisation's
systems), their count is that month's volume: it is exact and needs nobody to type it. Where it
has none, the volume typed in or imported (``service_volume``) is used, as before events existed.
Both the linkage figures (``app.analytics.linkage``) and the review pack (``app.reports``) read
volumes here only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import case, func, literal, select

from app.analytics.periods import Grain, local_midnight, next_period
from app.extensions import db
from app.models import ServiceEvent, ServiceVolume

Month = tuple[int, dt.date]  # (unit id, first day of the month)


def monthly_volumes(first: dt.date, end: dt.date, tz: str,
                    unit_ids: Collection[int] | None = None) -> dict[Month, int]:
    """Services per (unit, month) for the months whose first day falls in [first, end): the
    count of service events where the unit has any that month (in the local time ``tz``),
    else the typed-in volume. ``unit_ids``: only these units (None: all)."""
    months = _months(first, end)
    if not months:
        return {}
    typed = (select(ServiceVolume.unit_id, ServiceVolume.period_start,
                    func.sum(ServiceVolume.transactions))
             .where(ServiceVolume.period_start >= months[0], ServiceVolume.period_start < end)
             .group_by(ServiceVolume.unit_id, ServiceVolume.period_start))
    if unit_ids is not None:
        typed = typed.where(ServiceVolume.unit_id.in_(sorted(unit_ids)))
    volumes = {(unit_id, start): int(total) for unit_id, start, total in db.session.execute(typed)}
    volumes.update(_counted(months, tz, unit_ids))  # counted events replace typed-in figures
    return volumes


def _months(first: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months that fall in [first, end)."""
    month = first if first.day == 1 else next_period(first.replace(day=1), Grain.MONTH)
    found = []
    while month < end:
        found.append(month)
        month = next_period(month, Grain.MONTH)
    return found


def _counted(months: list[dt.date], tz: str,
             unit_ids: Collection[int] | None) -> dict[Month, int]:
    """Service events per unit and local month, in one query: a CASE numbers each event's
    month by the months' boundaries (portable: no time zone functions of either database)."""
    bounds = [local_midnight(month, tz) for month in months]
    bounds.append(local_midnight(next_period(months[-1], Grain.MONTH), tz))
    number = case(*((ServiceEvent.occurred_at < bound, literal(index))
                    for index, bound in enumerate(bounds[1:])), else_=literal(-1))
    stmt = (select(ServiceEvent.unit_id, number.label("month"), func.count())
            .where(ServiceEvent.occurred_at >= bounds[0], ServiceEvent.occurred_at < bounds[-1])
            .group_by(ServiceEvent.unit_id, number))
    if unit_ids is not None:
        stmt = stmt.where(ServiceEvent.unit_id.in_(sorted(unit_ids)))
    return {(unit_id, months[index]): int(count)
            for unit_id, index, count in db.session.execute(stmt)}
