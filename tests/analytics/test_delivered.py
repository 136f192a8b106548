"""Figures over delivered invitations: a bounced e-mail or a failed SMS leaves the response
rate's denominator and counts in the bounce rate, the rollups and the rows agree (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from typing import Any

from app.analytics import metrics
from app.analytics.figures import Score
from app.analytics.filters import Filters
from app.analytics.hourly import rollup_covers, without_rollup
from app.analytics.operations import (
    bounce_rates,
    invitation_funnel,
    invitations_by,
    response_rates,
)
from app.analytics.overview import overview_of
from app.analytics.splits import Dimension
from app.analytics.tallies import invitation_tally
from app.extensions import db
from app.models import Response
from app.models.types import utcnow
from tests.support.datasets.analytics import at
from tests.support.datasets.delivered import JANUARY, build_delivered
from tests.support.rollups import check

WHOLE = Filters(*JANUARY)


def share(successes: int, n: int) -> Score:
    return Score.of(metrics.wilson_interval(successes, n))


def test_undelivered_invitations_leave_the_denominator_in_rows_and_rollups(app: Any) -> None:
    with app.app_context():
        built = build_delivered()
        check("a bounce and two SMS reports taken")
        units = built.builder.units
        fen, park = units["fen"].id, units["park"].id
        assert rollup_covers(WHOLE, None, False)
        for reading in (nullcontext, without_rollup):
            with reading():
                totals = invitation_tally(WHOLE).total_now()
                assert (totals.sent, totals.responded, totals.undelivered) == (7, 2, 2)
                figures = overview_of(WHOLE)
                assert figures.response_rate == Score.of(metrics.response_rate(2, 5))
                assert figures.bounce_rate == Score.of(metrics.bounce_rate(2, 7))
                assert (figures.invitations_sent, figures.invitations_delivered) == (7, 5)
                # Filtered by a dimension: read from hourly_dimension_figures, or the rows.
                web = overview_of(Filters(*JANUARY, channel="web"))
                assert web.bounce_rate == Score.of(metrics.bounce_rate(2, 7))
                by_unit = invitations_by(WHOLE, "unit")
                assert (by_unit[fen].delivered, by_unit[park].delivered) == (3, 2)
                assert bounce_rates(WHOLE, "unit") == {fen: share(2, 5), park: share(0, 2)}
                assert response_rates(WHOLE, Dimension.UNIT) == {fen: share(1, 3),
                                                                 park: share(1, 2)}
        assert bounce_rates(WHOLE, "rule") == {built.rule_id: share(2, 4), None: share(0, 3)}
        assert bounce_rates(WHOLE, "sent_by") == {"email": share(1, 5), "sms": share(1, 2)}
        today = Filters(utcnow() - dt.timedelta(days=1), utcnow() + dt.timedelta(days=1))
        assert (invitation_funnel(today).bounced, invitation_funnel(today).failed) == (1, 1)

        # An answer to the bounced invitation (the link reached someone): delivered after all.
        response = built.builder.response("fen", at(2025, 1, 20), 4)
        db.session.flush()
        db.session.get(Response, response.id).invitation_id = built.bounced_id
        check("an answer to a bounced invitation")
        for reading in (nullcontext, without_rollup):
            with reading():
                totals = invitation_tally(WHOLE).total_now()
                assert (totals.sent, totals.responded, totals.undelivered) == (8, 3, 1)
