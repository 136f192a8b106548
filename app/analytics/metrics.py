"""Metric definitions as pure functions: counts and sums in, estimates with intervals out.

The database computes the counts and sums (see ``app.analytics.aggregates``); these functions turn
them into figures. Nothing here reads the database, a request or a clock, so each formula can be
checked against scipy/statsmodels on the same numbers (tests/analytics/test_metrics.py).

Conventions: proportions are fractions in [0, 1] (NPS in [-1, 1]); intervals are two-sided at
``confidence`` (default 95 %); invalid input (no observations, more successes than trials) raises
``ValueError`` rather than returning a figure that looks real.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

#: Default smallest segment that may show a score (ISO 10004 asks for respondents' anonymity;
#: docs/design.md: fewer than k responses show "too few responses").
MIN_GROUP = 5

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, from ``n`` observations."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class NpsEstimate(Estimate):
    """NPS as a fraction in [-1, 1], with the shares it comes from and its standard error."""

    promoters: float
    detractors: float
    se: float


@dataclass(frozen=True)
class ZTest:
    """A two-sided z test of a difference (first minus second)."""

    difference: float
    z: float
    p_value: float

    def significant(self, alpha: float = 1 - CONFIDENCE) -> bool:
        return self.p_value < alpha


@dataclass(frozen=True)
class Correlation:
    rho: float
    p_value: float
    n: int


def suppress_small(n: int, k: int = MIN_GROUP) -> bool:
    """True when a segment of ``n`` responses is too small to show a score (fewer than ``k``).

    A score from very few people can identify them (a unit with two respondents) and is too noisy
    to act on; it is shown as "too few responses" instead. Zero responses are suppressed too.
    """
    return n < k


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def _check_counts(successes: int, n: int) -> None:
    if n <= 0:
        raise ValueError("a proportion needs at least one observation")
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """Share ``successes / n`` with the Wilson score interval.

    p = x/n, z = Phi^-1(1 - alpha/2);
    centre = (p + z^2/(2n)) / (1 + z^2/n);
    half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/(4n^2)).

    Source: E. B. Wilson, "Probable inference, the law of succession, and statistical inference",
    JASA 22 (1927) 209-212; recommended over the Wald interval by Brown, Cai and DasGupta,
    "Interval estimation for a binomial proportion", Statistical Science 16 (2001) 101-133.
    Unlike the Wald interval it stays inside [0, 1] and behaves near 0 % and 100 %.
    Same as statsmodels ``proportion_confint(x, n, method="wilson")``.
    """
    _check_counts(successes, n)
    z = _z(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Estimate(value=p, low=max(0.0, centre - half), high=min(1.0, centre + half), n=n)


def csat(satisfied: int, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """CSAT: the share of answers of 4 or 5 on the 1-5 overall rating ("top-two box"),
    with a Wilson interval (see ``wilson_interval``)."""
    return wilson_interval(satisfied, n, confidence)


def mean_interval(
    n: int, total: float, total_sq: float, confidence: float = CONFIDENCE
) -> Estimate:
    """Mean with Student's t interval, from the count, the sum and the sum of squares.

    mean = S/n; s^2 = (Q - S^2/n) / (n - 1)  (sample variance, ddof = 1);
    mean +- t_{1-alpha/2, n-1} * s / sqrt(n).

    Source: Student (W. S. Gosset), "The probable error of a mean", Biometrika 6 (1908) 1-25.
    Taking (n, sum, sum of squares) lets the database do the work in one pass. Same as
    statsmodels ``DescrStatsW(x).tconfint_mean(alpha)``. Needs n >= 2 (one value has no spread).
    """
    if n < 2:
        raise ValueError("a t interval needs at least two observations")
    mean = total / n
    # Rounding can make Q - S^2/n a hair below zero when all values are equal.
    variance = max(0.0, (total_sq - total * total / n) / (n - 1))
    t = float(stats.t.ppf(1 - (1 - confidence) / 2, n - 1))
    half = t * math.sqrt(variance / n)
    return Estimate(value=mean, low=mean - half, high=mean + half, n=n)


def ces(n: int, total: float, total_sq: float, confidence: float = CONFIDENCE) -> Estimate:
    """Customer effort score: the mean effort on the 1-7 scale, with a t interval
    (see ``mean_interval``)."""
    return mean_interval(n, total, total_sq, confidence)


def nps(promoters: int, detractors: int, n: int, confidence: float = CONFIDENCE) -> NpsEstimate:
    """Net Promoter Score as a fraction: share of promoters (9-10) minus share of detractors (0-6).

    Each answer scores +1 (promoter), 0 (passive) or -1 (detractor); NPS is their mean, so its
    variance is E[X^2] - E[X]^2 = pP + pD - (pP - pD)^2 (trinomial), and
    SE = sqrt((pP + pD - (pP - pD)^2) / n); interval NPS +- z * SE, clipped to [-1, 1].

    Source: F. F. Reichheld, "The one number you need to grow", HBR 81 (2003) (definition);
    the standard error as in B. Rocks, "Interval estimation for the 'net promoter score'",
    The American Statistician 70 (2016) 365-372 (Wald form).
    """
    _check_counts(promoters, n)
    _check_counts(detractors, n)
    if promoters + detractors > n:
        raise ValueError("promoters and detractors cannot outnumber the answers")
    p_p, p_d = promoters / n, detractors / n
    value = p_p - p_d
    se = math.sqrt(max(0.0, p_p + p_d - value * value) / n)
    half = _z(confidence) * se
    return NpsEstimate(
        value=value,
        low=max(-1.0, value - half),
        high=min(1.0, value + half),
        n=n,
        promoters=p_p,
        detractors=p_d,
        se=se,
    )


def response_rate(responses: int, delivered: int, confidence: float = CONFIDENCE) -> Estimate:
    """Responses per invitation delivered (sent, and neither bounced nor reported failed), with
    a Wilson interval."""
    return wilson_interval(responses, delivered, confidence)


def bounce_rate(undelivered: int, sent: int, confidence: float = CONFIDENCE) -> Estimate:
    """Invitations that did not arrive (bounced, or their delivery reported failed) per
    invitation sent, with a Wilson interval."""
    return wilson_interval(undelivered, sent, confidence)


def on_time_share(on_time: int, resolved: int, confidence: float = CONFIDENCE) -> Estimate:
    """Share of complaints resolved by their due time (ISO 10002 timeliness), Wilson interval."""
    return wilson_interval(on_time, resolved, confidence)


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> ZTest:
    """Two-sided z test that two proportions differ (e.g. CSAT this period against the last).

    p1 = x1/n1, p2 = x2/n2, pooled p = (x1 + x2)/(n1 + n2);
    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)); p-value = 2 * (1 - Phi(|z|)).

    Source: any introductory text, e.g. A. Agresti, "Categorical Data Analysis" (3rd ed., 2013),
    section 3.1. Same as statsmodels ``proportions_ztest([x1, x2], [n1, n2])``. When both
    periods are all 0 % or all 100 % there is no variation and no evidence of change: z = 0,
    p = 1 (statsmodels gives NaN).
    """
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return ZTest(difference=p1 - p2, z=0.0, p_value=1.0)
    z = (p1 - p2) / se
    return ZTest(difference=p1 - p2, z=z, p_value=float(2 * stats.norm.sf(abs(z))))


def nps_difference_test(first: NpsEstimate, second: NpsEstimate) -> ZTest:
    """Two-sided z test that two NPS values from independent samples differ.

    z = (NPS1 - NPS2) / sqrt(SE1^2 + SE2^2), with the trinomial SE of ``nps``.
    """
    se = math.sqrt(first.se**2 + second.se**2)
    difference = first.value - second.value
    if se == 0:
        return ZTest(difference=difference, z=0.0, p_value=1.0 if difference == 0 else 0.0)
    z = difference / se
    return ZTest(difference=difference, z=z, p_value=float(2 * stats.norm.sf(abs(z))))


def spearman(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Spearman's rank correlation with a two-sided p-value (e.g. complaint rate against CSAT
    across units).

    rho = Pearson correlation of the ranks (ties get their average rank);
    t = rho * sqrt((n - 2) / (1 - rho^2)) with n - 2 degrees of freedom.

    Source: C. Spearman, "The proof and measurement of association between two things",
    Am. J. Psychol. 15 (1904) 72-101; the t approximation as in scipy ``spearmanr``.
    Needs at least three pairs; rho is NaN when one side has no variation.
    """
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    n = len(x)
    if n < 3:
        raise ValueError("a rank correlation needs at least three pairs")
    rank_x, rank_y = stats.rankdata(x), stats.rankdata(y)
    mean_x, mean_y = rank_x.mean(), rank_y.mean()
    dx, dy = rank_x - mean_x, rank_y - mean_y
    denominator = math.sqrt(float((dx * dx).sum() * (dy * dy).sum()))
    if denominator == 0:
        return Correlation(rho=math.nan, p_value=math.nan, n=n)
    rho = max(-1.0, min(1.0, float((dx * dy).sum()) / denominator))
    if abs(rho) == 1.0:
        return Correlation(rho=rho, p_value=0.0, n=n)
    t = rho * math.sqrt((n - 2) / (1 - rho * rho))
    return Correlation(rho=rho, p_value=float(2 * stats.t.sf(abs(t), n - 2)), n=n)


# --- counts of complaints ------------------------------------------------------------------------


@dataclass(frozen=True)
class CountTest:
    """An exact test that two counts of events (e.g. complaints in two periods) come from the same
    rate, given how long each was observed (``exposure``: days, transactions)."""

    first: int
    second: int
    ratio: float  # rate of the first against the second (inf when the second is 0)
    p_value: float

    def significant(self, alpha: float = 1 - CONFIDENCE) -> bool:
        return self.p_value < alpha


def poisson_interval(count: int, confidence: float = CONFIDENCE) -> Estimate:
    """An exact (Garwood) interval for the mean of a Poisson count.

    low = chi2_{alpha/2}(2x) / 2 (0 when x = 0); high = chi2_{1-alpha/2}(2x + 2) / 2.

    Source: F. Garwood, "Fiducial limits for the Poisson distribution", Biometrika 28 (1936)
    437-442. Same as statsmodels ``confint_poisson(x, 1, method="exact-c")``. Complaints are
    counted, not sampled; the interval says how far the underlying rate could be from the count,
    which is what matters when two periods are compared.
    """
    if count < 0:
        raise ValueError("a count cannot be negative")
    alpha = 1 - confidence
    _z(confidence)  # validates confidence
    low = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return Estimate(value=float(count), low=low, high=high, n=count)


def rate_per_thousand(count: int, exposure: float, confidence: float = CONFIDENCE) -> Estimate:
    """Events per 1,000 units of ``exposure`` (complaints per 1,000 transactions), with the
    exact Poisson interval of the count scaled the same way."""
    if exposure <= 0:
        raise ValueError("a rate needs a positive exposure")
    interval = poisson_interval(count, confidence)
    scale = 1000.0 / exposure
    return Estimate(value=count * scale, low=interval.low * scale, high=interval.high * scale,
                    n=count)


def poisson_rate_test(
    first: int, first_exposure: float, second: int, second_exposure: float
) -> CountTest:
    """Two-sided exact conditional test that two Poisson rates are equal.

    Given the total x1 + x2, x1 is binomial with p = t1 / (t1 + t2) under equal rates; the
    p-value is that of the exact binomial test (scipy ``binomtest``, "two-sided": the sum of the
    probabilities no larger than that of x1).

    Source: J. Przyborowski and H. Wilenski, "Homogeneity of results in testing samples from
    Poisson series", Biometrika 31 (1940) 313-323. Same as statsmodels
    ``test_poisson_2indep(x1, t1, x2, t2, method="exact-cond")``.
    """
    if first < 0 or second < 0:
        raise ValueError("a count cannot be negative")
    if first_exposure <= 0 or second_exposure <= 0:
        raise ValueError("exposures must be positive")
    rate_first, rate_second = first / first_exposure, second / second_exposure
    ratio = math.inf if rate_second == 0 and rate_first > 0 else (
        1.0 if rate_second == 0 else rate_first / rate_second
    )
    total = first + second
    if total == 0:
        return CountTest(first=first, second=second, ratio=1.0, p_value=1.0)
    p = first_exposure / (first_exposure + second_exposure)
    p_value = float(stats.binomtest(first, total, p, alternative="two-sided").pvalue)
    return CountTest(first=first, second=second, ratio=ratio, p_value=min(1.0, p_value))


# --- relations between items ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pearson:
    """Pearson's r with its two-sided p-value and Fisher-z interval."""

    r: float
    p_value: float
    low: float
    high: float
    n: int


def pearson_from_sums(
    n: int, sum_x: float, sum_y: float, sum_xy: float, sum_x2: float, sum_y2: float,
    confidence: float = CONFIDENCE,
) -> Pearson:
    """Pearson's correlation from the five sums the database computes over pairs (x, y).

    r = (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2)(n Syy - Sy^2));
    t = r sqrt((n - 2) / (1 - r^2)) with n - 2 degrees of freedom (the exact test for normal
    data, as scipy ``pearsonr``); interval tanh(atanh(r) -+ z / sqrt(n - 3)) (Fisher 1915).

    Used for key drivers: each item against overall satisfaction, pairing answers of the same
    response. Needs at least three pairs; r is NaN when one side does not vary.
    """
    if n < 3:
        raise ValueError("a correlation needs at least three pairs")
    sxx = n * sum_x2 - sum_x * sum_x
    syy = n * sum_y2 - sum_y * sum_y
    sxy = n * sum_xy - sum_x * sum_y
    if sxx <= 0 or syy <= 0:
        return Pearson(r=math.nan, p_value=math.nan, low=math.nan, high=math.nan, n=n)
    r = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    if abs(r) == 1.0:
        return Pearson(r=r, p_value=0.0, low=r, high=r, n=n)
    t = r * math.sqrt((n - 2) / (1 - r * r))
    p_value = float(2 * stats.t.sf(abs(t), n - 2))
    if n > 3:
        half = _z(confidence) / math.sqrt(n - 3)
        low, high = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)
    else:
        low, high = -1.0, 1.0
    return Pearson(r=r, p_value=p_value, low=low, high=high, n=n)


def cronbach_alpha(
    n: int,
    item_sums: Sequence[float],
    item_sums_sq: Sequence[float],
    total_sum: float,
    total_sum_sq: float,
) -> float:
    """Cronbach's alpha of a k-item scale from sums over ``n`` complete responses.

    alpha = k / (k - 1) * (1 - sum_i var(item_i) / var(total)), each variance with ddof = 1
    from a sum and a sum of squares, where total is a response's sum over the k items.

    Source: L. J. Cronbach, "Coefficient alpha and the internal structure of tests",
    Psychometrika 16 (1951) 297-334. Needs k >= 2 items and n >= 2 responses; NaN when the
    totals do not vary.
    """
    k = len(item_sums)
    if k < 2 or len(item_sums_sq) != k:
        raise ValueError("alpha needs at least two items, each with its sum and sum of squares")
    if n < 2:
        raise ValueError("alpha needs at least two responses")

    def variance(total: float, total_sq: float) -> float:
        return max(0.0, (total_sq - total * total / n) / (n - 1))

    item_variance = sum(variance(s, q) for s, q in zip(item_sums, item_sums_sq, strict=True))
    total_variance = variance(total_sum, total_sum_sq)
    if total_variance == 0:
        return math.nan
    return k / (k - 1) * (1 - item_variance / total_variance)


# --- importance-performance ----------------------------------------------------------------------

KEEP_UP = "keep_up"
CONCENTRATE = "concentrate_here"
LOW_PRIORITY = "low_priority"
POSSIBLE_OVERKILL = "possible_overkill"


def ipa_quadrant(
    importance: float, performance: float, importance_centre: float, performance_centre: float
) -> str:
    """The importance-performance quadrant of an attribute against the cross-hairs.

    High importance and high performance: keep up the good work; high importance and low
    performance: concentrate here; low and low: low priority; low importance and high
    performance: possible overkill. A value on a cross-hair counts as high.

    Source: J. A. Martilla and J. C. James, "Importance-performance analysis", Journal of
    Marketing 41 (1977) 77-79. The cross-hairs are usually the means over the attributes
    (data-centred), which ``importance_performance`` in ``app.analytics.survey`` uses.
    """
    important = importance >= importance_centre
    performing = performance >= performance_centre
    if important:
        return KEEP_UP if performing else CONCENTRATE
    return POSSIBLE_OVERKILL if performing else LOW_PRIORITY
