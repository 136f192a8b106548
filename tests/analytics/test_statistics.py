"""The formulas added for issue 7 against scipy/statsmodels (or numpy) on the same numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import rates  # not its test_* names: pytest would collect them

from app.analytics import metrics

RNG = np.random.default_rng(10004)


@pytest.mark.parametrize("count", [0, 1, 7, 40, 812])
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_poisson_interval_matches_statsmodels(count: int, confidence: float) -> None:
    low, high = rates.confint_poisson(count, 1, method="exact-c", alpha=1 - confidence)
    result = metrics.poisson_interval(count, confidence)
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-9)
    assert result.value == count


def test_rate_per_thousand_scales_the_interval() -> None:
    rate = metrics.rate_per_thousand(30, 12_000)
    interval = metrics.poisson_interval(30)
    assert rate.value == pytest.approx(2.5)
    assert (rate.low, rate.high) == pytest.approx((interval.low / 12, interval.high / 12))
    with pytest.raises(ValueError):
        metrics.rate_per_thousand(3, 0)


@pytest.mark.filterwarnings("ignore:divide by zero")  # statsmodels' ratio when x2 = 0
@pytest.mark.parametrize(("x1", "t1", "x2", "t2"),
                         [(30, 1, 18, 1), (30, 2, 18, 1), (5, 1, 0, 1), (120, 31, 96, 30),
                          (0, 1, 4, 1)])
def test_poisson_rate_test_matches_statsmodels(x1: int, t1: float, x2: int, t2: float) -> None:
    expected = rates.test_poisson_2indep(x1, t1, x2, t2, method="exact-cond")
    result = metrics.poisson_rate_test(x1, t1, x2, t2)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.significant() == (expected.pvalue < 0.05)


def test_poisson_rate_test_without_events() -> None:
    result = metrics.poisson_rate_test(0, 1, 0, 1)
    assert (result.p_value, result.ratio, result.significant()) == (1.0, 1.0, False)
    assert metrics.poisson_rate_test(3, 1, 0, 1).ratio == math.inf


def _sums(x: np.ndarray, y: np.ndarray) -> tuple[int, float, float, float, float, float]:
    return (len(x), float(x.sum()), float(y.sum()), float((x * y).sum()), float((x * x).sum()),
            float((y * y).sum()))


@pytest.mark.parametrize("n", [4, 12, 300])
def test_pearson_from_sums_matches_scipy(n: int) -> None:
    x = RNG.integers(1, 6, n).astype(float)
    y = np.clip(x + RNG.integers(-2, 3, n), 1, 5).astype(float)
    expected = stats.pearsonr(x, y)
    result = metrics.pearson_from_sums(*_sums(x, y))
    assert result.r == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)
    low, high = expected.confidence_interval(0.95)
    assert (result.low, result.high) == pytest.approx((low, high))


def test_pearson_without_variation_is_undefined() -> None:
    x, y = np.array([3.0, 3, 3, 3]), np.array([1.0, 2, 3, 4])
    assert math.isnan(metrics.pearson_from_sums(*_sums(x, y)).r)
    with pytest.raises(ValueError):
        metrics.pearson_from_sums(2, 1, 1, 1, 1, 1)


def _alpha_numpy(items: np.ndarray) -> float:
    """Cronbach's alpha computed directly: items in columns, responses in rows."""
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))


@pytest.mark.parametrize(("n", "k"), [(5, 2), (40, 4), (400, 6)])
def test_cronbach_alpha_from_sums_matches_numpy(n: int, k: int) -> None:
    mood = RNG.normal(0, 1, (n, 1))
    items = np.clip(np.rint(3 + mood + RNG.normal(0, 0.8, (n, k))), 1, 5)
    totals = items.sum(axis=1)
    result = metrics.cronbach_alpha(n, items.sum(axis=0).tolist(),
                                    (items * items).sum(axis=0).tolist(),
                                    float(totals.sum()), float((totals * totals).sum()))
    assert result == pytest.approx(_alpha_numpy(items))
    try:  # pingouin is GPL: never a dependency, only a second opinion where it is installed
        import pandas as pd
        import pingouin
    except ImportError:
        return
    assert result == pytest.approx(pingouin.cronbach_alpha(pd.DataFrame(items))[0])


def test_cronbach_alpha_edge_cases() -> None:
    assert math.isnan(metrics.cronbach_alpha(3, [9, 9], [27, 27], 18, 108))  # nothing varies
    with pytest.raises(ValueError):
        metrics.cronbach_alpha(10, [1.0], [1.0], 1.0, 1.0)
    with pytest.raises(ValueError):
        metrics.cronbach_alpha(1, [1.0, 2.0], [1.0, 4.0], 3.0, 9.0)


@pytest.mark.parametrize(
    ("importance", "performance", "quadrant"),
    [(4.5, 3.0, metrics.CONCENTRATE), (4.5, 4.5, metrics.KEEP_UP),
     (3.0, 3.0, metrics.LOW_PRIORITY), (3.0, 4.5, metrics.POSSIBLE_OVERKILL),
     (4.0, 4.0, metrics.KEEP_UP)],  # on the cross-hairs counts as high
)
def test_importance_performance_quadrants(importance: float, performance: float,
                                          quadrant: str) -> None:
    assert metrics.ipa_quadrant(importance, performance, 4.0, 4.0) == quadrant
