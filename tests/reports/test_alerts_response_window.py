"""Response-rate alerts count only invitations that have had time to be answered.

Early in a month, yesterday's invitations are mostly unanswered; counting them made the month's
response rate look low and raised false "under target" and "drop" alerts on every 1st to 14th.
"""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import InvitationState, Target
from app.reports.alerts import RESPONSE_WINDOW_DAYS, AlertKind, current_alerts
from tests.support.datasets.reports import Data, at


@pytest.fixture
def app(make_app):
    return make_app(MEMNUN_TIMEZONE="UTC")


def _sent(data: Data, sent: dt.datetime, answered: bool) -> None:
    if answered:
        data.response("zabita", sent + dt.timedelta(hours=1), overall=5)
    else:
        complaint = data.complaint("zabita", sent - dt.timedelta(days=5))
        data.invitation(complaint, sent, InvitationState.EXPIRED)


def _invitations(data: Data, day: tuple[int, int], answered: int, silent: int) -> None:
    sent = at(2025, *day)
    for _ in range(answered):
        _sent(data, sent, answered=True)
    for _ in range(silent):
        _sent(data, sent, answered=False)
    db.session.commit()


def _response_rate_alerts(period_end: dt.date, now: dt.datetime) -> dict[AlertKind, object]:
    return {alert.kind: alert for alert in current_alerts(period_end, now=now)
            if alert.metric == "response_rate" and alert.unit_id is None}


def _february_at_half(data: Data) -> None:
    _invitations(data, (2, 3), answered=10, silent=10)
    db.session.add(Target(unit_id=None, metric="response_rate", value=0.35))
    db.session.commit()


def test_invitations_sent_yesterday_raise_no_alert_on_the_third(app) -> None:
    with app.app_context():
        data = Data().setup()
        _february_at_half(data)
        _invitations(data, (3, 1), answered=0, silent=5)
        _invitations(data, (3, 2), answered=0, silent=5)
        # Counted as they stand, March would be 0 of 10: under target and a drop from 50 %.
        alerts = _response_rate_alerts(dt.date(2025, 3, 3), now=at(2025, 3, 3, 18))
    assert alerts == {}


def test_the_same_invitations_raise_alerts_once_their_window_has_passed(app) -> None:
    with app.app_context():
        data = Data().setup()
        _february_at_half(data)
        _invitations(data, (3, 1), answered=0, silent=5)
        _invitations(data, (3, 2), answered=0, silent=5)
        later = at(2025, 3, 2 + RESPONSE_WINDOW_DAYS, 18)
        alerts = _response_rate_alerts(later.date(), now=later)
    assert set(alerts) == {AlertKind.BELOW_TARGET, AlertKind.SIGNIFICANT_DROP}
    below = alerts[AlertKind.BELOW_TARGET]
    assert (below.value, below.n) == (0.0, 10)
    assert alerts[AlertKind.SIGNIFICANT_DROP].previous == 0.5


def test_young_invitations_do_not_count_even_when_already_answered(app) -> None:
    """The cut is on the sending time, not the outcome: keeping the young answered ones (and not
    their unanswered siblings) would lift the rate over its target and hide a real problem."""
    with app.app_context():
        data = Data().setup()
        _february_at_half(data)
        _invitations(data, (3, 2), answered=3, silent=7)  # old enough: 30 %, under 35 %
        _invitations(data, (3, 19), answered=8, silent=2)  # a day old
        alerts = _response_rate_alerts(dt.date(2025, 3, 20), now=at(2025, 3, 20, 18))
    below = alerts[AlertKind.BELOW_TARGET]
    assert (below.value, below.n) == (0.3, 10)


def test_a_past_month_counts_all_its_invitations(app) -> None:
    """Looking back at a finished month long after, every invitation has had its time."""
    with app.app_context():
        data = Data().setup()
        _february_at_half(data)
        _invitations(data, (3, 2), answered=4, silent=6)
        _invitations(data, (3, 30), answered=1, silent=9)
        alerts = _response_rate_alerts(dt.date(2025, 3, 31), now=at(2025, 6, 1))
    below = alerts[AlertKind.BELOW_TARGET]
    assert (below.value, below.n) == (0.25, 20)
