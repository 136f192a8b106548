"""Changes against the previous period of the same length, and whether they are real.

A share's change is tested with the two-proportion z test, NPS with the test on the difference
of two NPS (their standard errors), a count of complaints with the exact Poisson rate test
(``app.analytics.metrics``). A change is only tested when both periods may be shown.
"""

from __future__ import annotations

from collections.abc import Callable

from app.analytics import metrics
from app.analytics.aggregates import AnswerTotals
from app.analytics.metrics import CountTest, ZTest, suppress_small


def proportion_change(x_now: int, n_now: int, x_before: int, n_before: int,
                      min_group: int) -> ZTest | None:
    """Two-proportion z test of a share against the previous period; None when either period
    has no data or fewer than ``min_group`` observations (1 for shares about complaints)."""
    smaller = min(n_now, n_before)
    if smaller == 0 or suppress_small(smaller, min_group):
        return None
    return metrics.two_proportion_z_test(x_now, n_now, x_before, n_before)


def count_change(now: int, before: int,
                 lengths: tuple[float, float] = (1.0, 1.0)) -> CountTest | None:
    """Exact test of complaints now against the compared period, whose length may differ
    (``lengths``: now, before; a month against the month before). None when the compared
    period had none: that is usually before records began, not a real rise."""
    if before == 0:
        return None
    return metrics.poisson_rate_test(now, lengths[0], before, lengths[1])


def csat_change(now: AnswerTotals, before: AnswerTotals, min_group: int) -> ZTest | None:
    """The CSAT share now against before."""
    return proportion_change(now.csat_satisfied, now.csat_n, before.csat_satisfied,
                             before.csat_n, min_group)


def nps_change(now: AnswerTotals, before: AnswerTotals, min_group: int) -> ZTest | None:
    """NPS now against before (difference of two NPS, each with its standard error)."""
    smaller = min(now.nps_n, before.nps_n)
    if smaller == 0 or suppress_small(smaller, min_group):
        return None
    return metrics.nps_difference_test(
        metrics.nps(now.nps_promoters, now.nps_detractors, now.nps_n),
        metrics.nps(before.nps_promoters, before.nps_detractors, before.nps_n),
    )


def resolution_change(now: AnswerTotals, before: AnswerTotals,
                      min_group: int) -> ZTest | None:
    """The share of respondents confirming resolution now against before."""
    return proportion_change(now.resolution_yes, now.resolution_n, before.resolution_yes,
                             before.resolution_n, min_group)


#: The tested change of each survey figure that has one.
SURVEY_CHANGES: dict[str, Callable[[AnswerTotals, AnswerTotals, int], ZTest | None]] = {
    "csat": csat_change,
    "nps": nps_change,
    "resolution_confirmed": resolution_change,
}
