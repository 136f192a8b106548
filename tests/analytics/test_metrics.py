"""Each metric formula against scipy/statsmodels on the same numbers, and NPS by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint, proportions_ztest
from statsmodels.stats.weightstats import DescrStatsW

from app.analytics import metrics

PROPORTIONS = [(0, 1), (1, 1), (0, 12), (12, 12), (3, 10), (41, 57), (812, 1000), (1, 5000)]


@pytest.mark.parametrize(("x", "n"), PROPORTIONS)
@pytest.mark.parametrize("confidence", [0.95, 0.90, 0.99])
def test_wilson_interval_matches_statsmodels(x: int, n: int, confidence: float) -> None:
    low, high = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    result = metrics.wilson_interval(x, n, confidence)
    assert result.value == pytest.approx(x / n)
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-12)
    assert result.n == n


def test_wilson_is_not_the_normal_interval() -> None:
    # statsmodels' default (Wald) gives [1, 1] for 12 of 12; Wilson does not claim certainty.
    assert metrics.wilson_interval(12, 12).low < 0.8
    assert metrics.csat(12, 12) == metrics.wilson_interval(12, 12)


@pytest.mark.parametrize(
    "values",
    [
        [5, 4, 3, 5, 2, 4],
        [1, 1],
        [4, 4, 4, 4, 4],
        [1, 2, 3, 4, 5, 5, 5, 5, 4, 3, 2, 1, 5, 5, 4],
        [7, 1, 6, 2, 5, 3, 4],
    ],
)
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_mean_interval_matches_statsmodels(values: list[float], confidence: float) -> None:
    data = np.array(values, dtype=float)
    low, high = DescrStatsW(data).tconfint_mean(alpha=1 - confidence)
    result = metrics.mean_interval(len(data), float(data.sum()), float((data**2).sum()),
                                   confidence)
    assert result.value == pytest.approx(data.mean())
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-9)


def test_mean_interval_on_many_values_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(1, 6, size=20_000).astype(float)
    low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
    result = metrics.ces(len(data), float(data.sum()), float((data**2).sum()))
    assert (result.low, result.high) == pytest.approx((low, high), rel=1e-9)


def test_mean_interval_needs_two_values() -> None:
    with pytest.raises(ValueError, match="two"):
        metrics.mean_interval(1, 4, 16)


def test_nps_hand_computed() -> None:
    # 100 answers: 50 promoters, 30 passives, 20 detractors.
    # NPS = 0.50 - 0.20 = 0.30; variance = 0.50 + 0.20 - 0.30^2 = 0.61;
    # SE = sqrt(0.61 / 100) = 0.0781025; 95 %: 0.30 -+ 1.959964 * 0.0781025 = 0.30 -+ 0.153078.
    result = metrics.nps(50, 20, 100)
    assert result.value == pytest.approx(0.30)
    assert (result.promoters, result.detractors) == (0.5, 0.2)
    assert result.se == pytest.approx(0.0781025, abs=1e-7)
    assert result.low == pytest.approx(0.146922, abs=1e-6)
    assert result.high == pytest.approx(0.453078, abs=1e-6)


def test_nps_equals_the_mean_of_plus_minus_scores() -> None:
    # Scoring each answer +1 / 0 / -1, NPS is the mean and its SE the (ddof=0) standard error.
    scores = np.array([1] * 7 + [0] * 2 + [-1] * 3, dtype=float)
    result = metrics.nps(7, 3, 12)
    assert result.value == pytest.approx(scores.mean())
    assert result.se == pytest.approx(scores.std(ddof=0) / math.sqrt(len(scores)))


def test_nps_interval_stays_in_range() -> None:
    result = metrics.nps(5, 0, 5)
    assert (result.value, result.se, result.low, result.high) == (1.0, 0.0, 1.0, 1.0)
    assert metrics.nps(0, 1, 1).low == -1.0
    with pytest.raises(ValueError):
        metrics.nps(3, 3, 5)


def test_response_rate_and_on_time_are_wilson_shares() -> None:
    assert metrics.response_rate(30, 120) == metrics.wilson_interval(30, 120)
    assert metrics.on_time_share(88, 100) == metrics.wilson_interval(88, 100)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(83, 100, 70, 100), (5, 83, 12, 99), (3, 10, 7, 8), (400, 500, 390, 500), (0, 10, 3, 10)],
)
def test_two_proportion_z_test_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    z, p_value = proportions_ztest([x1, x2], [n1, n2])
    result = metrics.two_proportion_z_test(x1, n1, x2, n2)
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(p_value)
    assert result.difference == pytest.approx(x1 / n1 - x2 / n2)
    assert result.significant() == (p_value < 0.05)


def test_z_test_without_variation_is_not_a_change() -> None:
    result = metrics.two_proportion_z_test(10, 10, 20, 20)
    assert (result.z, result.p_value, result.significant()) == (0.0, 1.0, False)


def test_nps_difference_test() -> None:
    first, second = metrics.nps(50, 20, 100), metrics.nps(30, 30, 100)
    result = metrics.nps_difference_test(first, second)
    z = (0.30 - 0.0) / math.sqrt(first.se**2 + second.se**2)
    assert result.z == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(z))


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]),
        ([3.1, 2.0, 8.5, 4.4, 4.4, 9.0, 1.2], [0.8, 0.9, 0.4, 0.7, 0.75, 0.3, 0.95]),
        ([1, 1, 2, 2, 3, 3], [3, 2, 2, 1, 1, 1]),
    ],
)
def test_spearman_matches_scipy(x: list[float], y: list[float]) -> None:
    expected = stats.spearmanr(x, y)
    result = metrics.spearman(x, y)
    assert result.rho == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_spearman_perfect_and_constant() -> None:
    assert metrics.spearman([1, 2, 3], [10, 20, 30]).rho == 1.0
    assert math.isnan(metrics.spearman([1, 2, 3], [4, 4, 4]).rho)


@pytest.mark.parametrize(("n", "k", "hidden"), [(0, 5, True), (4, 5, True), (5, 5, False),
                                                  (1, 1, False), (30, 5, False)])
def test_suppress_small(n: int, k: int, hidden: bool) -> None:
    assert metrics.suppress_small(n, k) is hidden


def test_default_smallest_group_is_five() -> None:
    assert metrics.MIN_GROUP == 5
    assert metrics.suppress_small(4) and not metrics.suppress_small(5)


@pytest.mark.parametrize(("x", "n"), [(1, 0), (-1, 5), (6, 5)])
def test_impossible_counts_are_refused(x: int, n: int) -> None:
    with pytest.raises(ValueError):
        metrics.wilson_interval(x, n)
