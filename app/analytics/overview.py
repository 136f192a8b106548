"""The executive overview (every headline figure for one period and set of filters, with its
change against the previous period) and its trend per day, week, month or quarter.

Figures come from the tallies (``app.analytics.tallies``), scores from
``app.analytics.figures``, changes from ``app.analytics.changes``; a trend's periods are
suppressed on their own answers and then as groups of the whole (``app.analytics.suppression``).
Needs an application context (the database session), never a request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from app.analytics.aggregates import (
    AnswerTotals,
    ComplaintTotals,
    InvitationTotals,
    ResponseCount,
    Tally,
)
from app.analytics.changes import (
    count_change,
    csat_change,
    nps_change,
    proportion_change,
    resolution_change,
)
from app.analytics.figures import (
    Score,
    bounce_share,
    plain_proportion,
    response_share,
    survey_mean,
    survey_nps,
    survey_proportion,
)
from app.analytics.filters import Filters, expand
from app.analytics.metrics import MIN_GROUP, CountTest, ZTest, suppress_small
from app.analytics.periods import DateLike, Grain, Periods, to_instant
from app.analytics.splits import ByPeriod
from app.analytics.suppression import hidden_survey_figures
from app.analytics.tallies import all_tallies
from app.models import Category, Unit


@dataclass(frozen=True)
class Overview:
    """The executive overview for one period and set of units.

    Changes compare with the previous period of the same length; each is None when either
    period may not be shown (too few responses) or has no data.
    """

    start: dt.datetime
    end: dt.datetime
    min_group: int
    responses: int
    suppressed: bool  # fewer than min_group responses: no survey score is shown
    csat: Score
    csat_change: ZTest | None  # against the previous period of the same length
    mean_score: Score
    nps: Score
    nps_change: ZTest | None
    ces: Score
    resolution_confirmed: Score
    complaints: int
    on_time: Score
    invitations_sent: int
    response_rate: Score  # over invitations delivered
    resolution_change: ZTest | None = None
    complaints_previous: int = 0
    complaints_change: CountTest | None = None
    on_time_change: ZTest | None = None
    response_rate_change: ZTest | None = None
    invitations_delivered: int = 0
    bounce_rate: Score = Score(n=0)  # invitations not delivered over invitations sent


@dataclass(frozen=True)
class PeriodFigures:
    """One period (day, week, month or quarter) of a trend; ``start`` is its first local day."""

    start: dt.date
    responses: int
    csat: Score
    mean_score: Score
    nps: Score
    resolution_confirmed: Score
    complaints: int
    on_time: Score
    invitations_sent: int
    response_rate: Score
    bounce_rate: Score = Score(n=0)


def overview(
    start: DateLike,
    end: DateLike,
    unit_ids: Iterable[int] | None = None,
    min_group: int = MIN_GROUP,
    *,
    tz: str = "UTC",
    category_ids: Iterable[int] | None = None,
    channel: str | None = None,
    questionnaire_id: int | None = None,
    language: str | None = None,
) -> Overview:
    """Figures for [start, end) in ``unit_ids`` and the units below them (None: everything),
    optionally only for some categories (and those below), a channel, a questionnaire or a
    language.

    Survey scores with fewer than ``min_group`` answers are suppressed. Changes against the
    previous period of the same length are tested only when both periods may be shown.
    """
    filters = Filters(
        to_instant(start, tz), to_instant(end, tz),
        unit_ids=None if unit_ids is None else expand(Unit, unit_ids),
        category_ids=None if category_ids is None else expand(Category, category_ids),
        channel=channel, questionnaire_id=questionnaire_id, language=language,
    )
    return overview_of(filters, min_group)


def overview_of(filters: Filters, min_group: int = MIN_GROUP) -> Overview:
    """The overview for ``filters`` (unit and category ids already expanded)."""
    return _overview(filters, min_group, None)[0]


def overview_and_trend(
    filters: Filters, grain: Grain | str, min_group: int = MIN_GROUP, tz: str = "UTC"
) -> tuple[Overview, list[PeriodFigures]]:
    """The overview and its trend per period of ``grain`` (every period listed, oldest first),
    from the same queries: each counts the previous period and this one's periods in one pass,
    and the overview adds the periods up (counts and sums add up)."""
    periods = Periods.covering(filters.start, filters.end, grain, tz)
    return _overview(filters, min_group, periods)  # type: ignore[return-value]


def _overview(filters: Filters, min_group: int,
              periods: Periods | None) -> tuple[Overview, list[PeriodFigures] | None]:
    split = None if periods is None else ByPeriod(periods)
    counted = all_tallies(filters, split, previous=True)
    answers, complaints = counted.answers, counted.complaints
    now, before = answers.total_now(), answers.total_before()
    complaints_now, complaints_before = complaints.total_now(), complaints.total_before()
    sent_now, sent_before = counted.invitations.total_now(), counted.invitations.total_before()
    response_total = sum(count.responses for count in counted.responses.current.values())
    figures = Overview(
        start=filters.start,
        end=filters.end,
        min_group=min_group,
        responses=response_total,
        suppressed=suppress_small(response_total, min_group),
        csat=survey_proportion(now.csat_satisfied, now.csat_n, min_group),
        csat_change=csat_change(now, before, min_group),
        mean_score=survey_mean(now.csat_n, now.csat_sum, now.csat_sum_sq, min_group),
        nps=survey_nps(now, min_group),
        nps_change=nps_change(now, before, min_group),
        ces=survey_mean(now.ces_n, now.ces_sum, now.ces_sum_sq, min_group),
        resolution_confirmed=survey_proportion(now.resolution_yes, now.resolution_n, min_group),
        resolution_change=resolution_change(now, before, min_group),
        complaints=complaints_now.received,
        complaints_previous=complaints_before.received,
        complaints_change=count_change(complaints_now.received, complaints_before.received,
                                       filters.lengths),
        on_time=plain_proportion(complaints_now.resolved_on_time,
                                 complaints_now.resolved_with_due),
        on_time_change=proportion_change(
            complaints_now.resolved_on_time, complaints_now.resolved_with_due,
            complaints_before.resolved_on_time, complaints_before.resolved_with_due, 1),
        invitations_sent=sent_now.sent,
        response_rate=response_share(sent_now),
        response_rate_change=proportion_change(sent_now.responded, sent_now.delivered,
                                               sent_before.responded, sent_before.delivered, 1),
        invitations_delivered=sent_now.delivered,
        bounce_rate=bounce_share(sent_now),
    )
    if periods is None:
        return figures, None
    trend = [
        _period_figures(first, answers.now(first), counted.responses.current.get(first),
                        complaints.now(first), counted.invitations.now(first), min_group)
        for first in periods.starts
    ]
    return figures, _complementary(trend, answers, min_group)


#: The survey figures of a trend's period, by their name in ``FIGURE_COUNTS``.
PERIOD_SURVEY_FIGURES = {"csat": "csat", "mean_score": "mean", "nps": "nps",
                         "resolution_confirmed": "resolution_confirmed"}


def _complementary(trend: list[PeriodFigures], answers: Tally[AnswerTotals],
                   min_group: int) -> list[PeriodFigures]:
    """Hide what the grouped results hide (``hidden_survey_figures``): the periods add up to the
    overview's figure, so one hidden period could be worked out from the others."""
    _, hidden = hidden_survey_figures({p.start: p.responses for p in trend},
                                      {p.start: answers.now(p.start) for p in trend}, min_group)
    result = []
    for period in trend:
        changes = {field: Score(n=getattr(period, field).n, suppressed=True)
                   for field, name in PERIOD_SURVEY_FIGURES.items()
                   if period.start in hidden[name] and getattr(period, field).shown}
        result.append(replace(period, **changes) if changes else period)
    return result


def _period_figures(first: dt.date, a: AnswerTotals, responses: ResponseCount | None,
                    c: ComplaintTotals, i: InvitationTotals, min_group: int) -> PeriodFigures:
    return PeriodFigures(
        start=first,
        responses=responses.responses if responses is not None else 0,
        csat=survey_proportion(a.csat_satisfied, a.csat_n, min_group),
        mean_score=survey_mean(a.csat_n, a.csat_sum, a.csat_sum_sq, min_group),
        nps=survey_nps(a, min_group),
        resolution_confirmed=survey_proportion(a.resolution_yes, a.resolution_n, min_group),
        complaints=c.received,
        on_time=plain_proportion(c.resolved_on_time, c.resolved_with_due),
        invitations_sent=i.sent,
        response_rate=response_share(i),
        bounce_rate=bounce_share(i),
    )
