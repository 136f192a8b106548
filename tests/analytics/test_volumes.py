"""Service volumes from service events: a unit-month with events counts them, one without keeps
its typed-in volume; months are the organisation's local months. Figures computed by hand."""

from __future__ import annotations

import datetime as dt

from app.analytics.filters import Filters
from app.analytics.linkage import transactions
from app.analytics.periods import local_midnight
from app.analytics.review import rate_per_1000, transactions_by_unit
from app.analytics.volumes import monthly_volumes
from app.extensions import db
from app.models import Channel, Service, ServiceEvent, ServiceVolume, Unit

TZ = "Europe/Istanbul"  # UTC+3 all year
UTC = dt.UTC


def _world(app):  # type: ignore[no-untyped-def]
    """Unit a: March typed in (1,000), April typed in (2,000) and four events in April, the
    first at 00:30 local on 1 April (still 31 March in UTC). Unit b: March typed in (500) and
    two events in March, the first at 00:30 local on 1 March (28 February in UTC)."""
    a, b = Unit(code="a", name="A"), Unit(code="b", name="B")
    service = Service(code="s", name="S")
    db.session.add_all([a, b])
    db.session.flush()
    db.session.add_all([
        ServiceVolume(unit_id=a.id, period_start=dt.date(2026, 3, 1), transactions=1000),
        ServiceVolume(unit_id=a.id, period_start=dt.date(2026, 4, 1), transactions=2000),
        ServiceVolume(unit_id=b.id, period_start=dt.date(2026, 3, 1), transactions=500),
    ])
    times = {a: [dt.datetime(2026, 3, 31, 21, 30, tzinfo=UTC),
                 dt.datetime(2026, 4, 10, tzinfo=UTC), dt.datetime(2026, 4, 20, tzinfo=UTC),
                 dt.datetime(2026, 4, 30, 20, 59, tzinfo=UTC)],  # 23:59 local, 30 April
             b: [dt.datetime(2026, 2, 28, 21, 30, tzinfo=UTC),
                 dt.datetime(2026, 3, 15, tzinfo=UTC),
                 dt.datetime(2026, 4, 30, 21, 0, tzinfo=UTC)]}  # 1 May local: outside
    number = 0
    for unit, moments in times.items():
        for moment in moments:
            number += 1
            db.session.add(ServiceEvent(external_id=f"V-{number}", occurred_at=moment, unit=unit,
                                        service=service, channel=Channel.WALK_IN))
    db.session.commit()
    return a, b


def test_events_replace_typed_in_volumes_month_by_month(app) -> None:
    with app.app_context():
        a, b = _world(app)
        volumes = monthly_volumes(dt.date(2026, 3, 1), dt.date(2026, 5, 1), TZ)
        assert volumes == {(a.id, dt.date(2026, 3, 1)): 1000, (a.id, dt.date(2026, 4, 1)): 4,
                           (b.id, dt.date(2026, 3, 1)): 2}
        assert monthly_volumes(dt.date(2026, 3, 1), dt.date(2026, 5, 1), TZ, [b.id]) == {
            (b.id, dt.date(2026, 3, 1)): 2}
        # The review pack's totals and rate: unit a 1,004 services; 3 complaints -> 2.988 ‰.
        totals = transactions_by_unit(dt.date(2026, 3, 1), dt.date(2026, 5, 1), TZ)
        assert totals == {a.id: 1004, b.id: 2}
        assert round(rate_per_1000(3, totals[a.id]), 3) == 2.988
        # The linkage figures over April alone: a's four events; b had none in April and no
        # typed-in volume either.
        april = Filters(local_midnight(dt.date(2026, 4, 1), TZ),
                        local_midnight(dt.date(2026, 5, 1), TZ))
        assert transactions(april, TZ) == {a.id: 4.0}
        # Over March: a's typed-in 1,000 and b's two events.
        march = Filters(local_midnight(dt.date(2026, 3, 1), TZ),
                        local_midnight(dt.date(2026, 4, 1), TZ))
        assert transactions(march, TZ) == {a.id: 1000.0, b.id: 2.0}
