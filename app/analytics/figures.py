"""Figures ready to show (``Score``: value and interval, or nothing) from the totals.

Survey figures (about what respondents said) are suppressed below the smallest group
(``min_group``, ``app.analytics.metrics.suppress_small``); shares about complaints and
invitations are shown whenever there is data. The intervals are those of
``app.analytics.metrics``: Wilson for a share, Student's t for a mean, the NPS standard error
for NPS.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.analytics import metrics
from app.analytics.aggregates import AnswerTotals, InvitationTotals
from app.analytics.metrics import Estimate, suppress_small


@dataclass(frozen=True)
class Score:
    """A figure ready to show: value and interval, or nothing when suppressed or without data.

    ``suppressed`` means "too few responses" (below the smallest group); a figure with no data at
    all that is not about respondents (e.g. on-time resolution) has ``value`` None and is not
    suppressed.
    """

    n: int
    value: float | None = None
    low: float | None = None
    high: float | None = None
    suppressed: bool = False

    @classmethod
    def of(cls, estimate: Estimate) -> Score:
        return cls(n=estimate.n, value=estimate.value, low=estimate.low, high=estimate.high)

    @property
    def shown(self) -> bool:
        return self.value is not None and not self.suppressed


def survey_proportion(successes: int, n: int, min_group: int) -> Score:
    """A share of respondents (CSAT, resolution confirmed): successes / n, Wilson interval."""
    if suppress_small(n, min_group) or n == 0:
        return Score(n=n, suppressed=True)
    return Score.of(metrics.wilson_interval(successes, n))


def survey_mean(n: int, total: float, total_sq: float, min_group: int) -> Score:
    """A mean score (mean, CES): total / n, t interval from the sum of squares."""
    if suppress_small(n, min_group) or n < 2:  # one value has no interval
        return Score(n=n, suppressed=True)
    return Score.of(metrics.mean_interval(n, total, total_sq))


def survey_nps(totals: AnswerTotals, min_group: int) -> Score:
    """NPS = (promoters - detractors) / n, as a fraction in [-1, 1]."""
    if suppress_small(totals.nps_n, min_group) or totals.nps_n == 0:
        return Score(n=totals.nps_n, suppressed=True)
    return Score.of(metrics.nps(totals.nps_promoters, totals.nps_detractors, totals.nps_n))


def survey_figure(name: str, a: AnswerTotals, min_group: int) -> Score:
    """The survey figure ``name`` (csat, mean, nps, ces or resolution_confirmed) of ``a``."""
    if name == "csat":
        return survey_proportion(a.csat_satisfied, a.csat_n, min_group)
    if name == "mean":
        return survey_mean(a.csat_n, a.csat_sum, a.csat_sum_sq, min_group)
    if name == "nps":
        return survey_nps(a, min_group)
    if name == "ces":
        return survey_mean(a.ces_n, a.ces_sum, a.ces_sum_sq, min_group)
    return survey_proportion(a.resolution_yes, a.resolution_n, min_group)


def plain_proportion(successes: int, n: int) -> Score:
    """A share about complaints or invitations, not respondents: shown whenever there is data."""
    return Score(n=0) if n == 0 else Score.of(metrics.wilson_interval(successes, n))


def response_share(totals: InvitationTotals) -> Score:
    """The response rate: invitations answered over invitations delivered (sent, and neither
    bounced nor reported failed), Wilson interval."""
    if totals.delivered == 0:
        return Score(n=0)
    return Score.of(metrics.response_rate(totals.responded, totals.delivered))


def bounce_share(totals: InvitationTotals) -> Score:
    """The bounce rate: invitations not delivered over invitations sent, Wilson interval."""
    return Score(n=0) if totals.sent == 0 else Score.of(
        metrics.bounce_rate(totals.undelivered, totals.sent))
