"""Survey results against direct computations on the random dataset: versions compared by key
(never across a scale change), distributions, importance-performance, key drivers against
scipy, Cronbach's alpha against numpy, comments; on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from app.analytics import metrics, survey
from app.analytics.filters import Filters
from tests.support.datasets.generated import END, START, between

WHOLE = Filters(START, END)


def _of(data, questionnaire: str, versions=(1, 2)):  # type: ignore[no-untyped-def]
    return [r for r in data.responses if between(r.submitted_at, START, END)
            and r.questionnaire == questionnaire and r.version in versions]


def test_a_key_whose_scale_changed_is_not_mixed(app, data) -> None:
    with app.app_context():
        catalogue = survey.catalogue(data.questionnaire_ids["q"])
        distributions = {d.key: d for d in survey.distributions(WHOLE, catalogue, 5)}
    assert catalogue is not None
    # "ease" was a 1-5 rating in version 1 and is a 1-7 effort question in version 2 (newest).
    assert catalogue.question("ease").type == "effort"
    assert catalogue.versions["ease"] == {data.version_ids[("q", 2)]}
    assert catalogue.left_out["ease"] == (1,)
    assert catalogue.versions["overall"] == {data.version_ids[("q", 1)],
                                             data.version_ids[("q", 2)]}
    ease = distributions["ease"]
    expected: dict[float, int] = {}
    for response in _of(data, "q", versions=(2,)):
        value = response.number("ease")
        if value is not None:
            expected[value] = expected.get(value, 0) + 1
    assert ease.counts == expected and ease.left_out == (1,)
    assert ease.mean is not None and ease.mean.value == pytest.approx(
        sum(v * c for v, c in expected.items()) / sum(expected.values()))
    # Both versions count where the scale stayed the same.
    overall = distributions["overall"]
    assert overall.responses == sum(r.number("overall") is not None for r in _of(data, "q"))
    # Choices by key, free text never.
    assert set(distributions["resolved"].counts) == {"yes", "no"}
    assert "improve" not in distributions


def test_nps_split(app, data) -> None:
    with app.app_context():
        catalogue = survey.catalogue(data.questionnaire_ids["q"])
        recommend = next(d for d in survey.distributions(WHOLE, catalogue, 5)
                         if d.key == "recommend")
    values = [r.number("recommend") for r in _of(data, "q")]
    values = [v for v in values if v is not None]
    promoters, detractors = sum(v >= 9 for v in values), sum(v <= 6 for v in values)
    assert recommend.nps is not None
    assert (recommend.nps.promoters, recommend.nps.detractors,
            recommend.nps.passives) == (promoters, detractors,
                                        len(values) - promoters - detractors)
    assert recommend.nps.score.value == pytest.approx((promoters - detractors) / len(values))


def test_importance_performance(app, data) -> None:
    with app.app_context():
        catalogue = survey.catalogue(data.questionnaire_ids["ipa"])
        ipa = survey.importance_performance(WHOLE, catalogue, 5)
    responses = _of(data, "ipa", versions=(1,))
    means = {}
    for attribute in ("accessibility", "responsiveness", "objectivity"):
        importance = [r.number(f"{attribute}_importance") for r in responses]
        performance = [r.number(attribute) for r in responses]
        means[attribute] = (np.mean([v for v in importance if v is not None]),
                            np.mean([v for v in performance if v is not None]))
    points = {p.attribute: p for p in ipa.points}
    assert set(points) == set(means)
    for attribute, (importance, performance) in means.items():
        assert points[attribute].importance.value == pytest.approx(importance)
        assert points[attribute].performance.value == pytest.approx(performance)
    assert ipa.importance_centre == pytest.approx(np.mean([m[0] for m in means.values()]))
    assert ipa.performance_centre == pytest.approx(np.mean([m[1] for m in means.values()]))
    for attribute, (importance, performance) in means.items():
        assert points[attribute].quadrant == metrics.ipa_quadrant(
            importance, performance, ipa.importance_centre, ipa.performance_centre)


def test_key_drivers_match_scipy(app, data) -> None:
    with app.app_context():
        catalogue = survey.catalogue(data.questionnaire_ids["q"])
        drivers = {d.key: d for d in survey.key_drivers(WHOLE, catalogue, 5)}
    # Items on a 1-5 scale: timeliness and courtesy in both versions; "ease" only where it was
    # a rating (version 1), which is not the newest scale, so it is left out.
    assert set(drivers) == {"timeliness", "courtesy"}
    for key, driver in drivers.items():
        pairs = [(r.number(key), r.number("overall")) for r in _of(data, "q")]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        expected = stats.pearsonr([p[0] for p in pairs], [p[1] for p in pairs])
        assert driver.pairs == len(pairs)
        assert driver.correlation is not None
        assert driver.correlation.r == pytest.approx(expected.statistic)
        assert driver.correlation.p_value == pytest.approx(expected.pvalue)
    ordered = list(drivers.values())
    assert ordered == sorted(ordered, key=lambda d: -d.correlation.r)  # strongest first


def test_cronbach_alpha_matches_numpy(app, data) -> None:
    with app.app_context():
        catalogue = survey.catalogue(data.questionnaire_ids["ipa"])
        alpha = survey.cronbach_alpha(WHOLE, catalogue, 5)
        q_catalogue = survey.catalogue(data.questionnaire_ids["q"])
        q_alpha = survey.cronbach_alpha(WHOLE, q_catalogue, 5)
    keys = ["overall", "accessibility", "responsiveness", "objectivity"]
    assert alpha.items == tuple(keys)
    rows = [[r.number(k) for k in keys] for r in _of(data, "ipa", versions=(1,))]
    complete = np.array([row for row in rows if None not in row], dtype=float)
    k = len(keys)
    expected = k / (k - 1) * (1 - complete.var(axis=0, ddof=1).sum()
                              / complete.sum(axis=1).var(ddof=1))
    assert alpha.responses == len(complete)
    assert alpha.alpha == pytest.approx(expected)
    # The satisfaction questionnaire's 1-5 items (its "ease" is now 1-7, so not among them).
    assert q_alpha.items == ("overall", "timeliness", "courtesy")
    assert q_alpha.alpha is not None


def test_comments_newest_first_as_typed(app, data) -> None:
    with app.app_context():
        found = survey.comments(WHOLE, limit=5)
        fen_only = survey.comments(WHOLE.but(unit_ids={data.unit_ids["a1"]}), limit=500)
    texts = sorted(((r.submitted_at, r.unit) for r in data.responses
                    if between(r.submitted_at, START, END) and "improve" in r.answers),
                   reverse=True)
    assert [c.submitted_at for c in found] == [t[0] for t in texts[:5]]
    assert all(c.text == "<b>slow</b> & rude" for c in found)  # stored as typed
    assert len(fen_only) == sum(unit == "a1" for _, unit in texts)
