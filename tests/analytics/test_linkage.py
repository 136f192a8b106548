"""Linkage, segments and operations against direct computations (numpy, scipy, statsmodels) on
the random dataset, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from app.analytics import metrics, segments
from app.analytics.filters import Filters
from app.analytics.linkage import (
    complaint_rates,
    linkage,
    median_days,
    rate_csat_correlation,
    satisfaction_by_days,
    satisfaction_by_timeliness,
    transactions,
)
from app.analytics.operations import invitation_funnel, response_rates
from app.analytics.splits import Dimension
from app.analytics.tree import flat, level, unit_tree
from app.models import Complaint
from tests.support.datasets.generated import (
    END,
    START,
    VOLUMES,
    between,
    csat_counts,
    resolution_counts,
    sent_counts,
)

WHOLE = Filters(START, END)


def _days(complaint) -> float:  # type: ignore[no-untyped-def]
    return (complaint.resolved_at - complaint.received_at).total_seconds() / 86400


def _responses(data, **where):  # type: ignore[no-untyped-def]
    chosen = [r for r in data.responses if between(r.submitted_at, START, END)]
    for name, allowed in where.items():
        chosen = [r for r in chosen if getattr(r, name) in allowed]
    return chosen


def test_median_days_to_resolve(app, data) -> None:
    resolved = [c for c in data.complaints if between(c.resolved_at, START, END)]
    with app.app_context():
        whole = median_days(WHOLE)
        per_unit = median_days(WHOLE, Complaint.unit_id)
        rolled = median_days(WHOLE, Complaint.unit_id,
                             level(unit_tree(), data.unit_ids["org"]).mapping)
        odd = median_days(Filters(START, END, unit_ids={data.unit_ids["a2"]}))
    assert whole[None] == pytest.approx(np.median([_days(c) for c in resolved]), abs=1e-6)
    for code, unit_id in data.unit_ids.items():
        durations = [_days(c) for c in resolved if c.unit == code]
        if durations:
            assert per_unit[unit_id] == pytest.approx(np.median(durations), abs=1e-6), code
        else:
            assert unit_id not in per_unit
    for node, members in (("a", {"a", "a1", "a2"}), ("b", {"b", "b1"})):
        expected = np.median([_days(c) for c in resolved if c.unit in members])
        assert rolled[data.unit_ids[node]] == pytest.approx(expected, abs=1e-6)
    assert data.unit_ids["solo"] not in rolled  # outside the level
    assert len(odd) == 1


def test_transactions_are_cut_at_the_period_ends(app, data) -> None:
    # 16 November 2024 to 10 February 2025 (UTC): half of November, a third of February.
    start, end = dt.datetime(2024, 11, 16, tzinfo=dt.UTC), dt.datetime(2025, 2, 11, tzinfo=dt.UTC)
    with app.app_context():
        found = transactions(Filters(start, end), "UTC")
        none = transactions(Filters(start, end, channel="web"), "UTC")
    for code in VOLUMES:
        expected = (data.volumes[(code, dt.date(2024, 11, 1))] * 15 / 30
                    + data.volumes[(code, dt.date(2024, 12, 1))]
                    + data.volumes[(code, dt.date(2025, 1, 1))]
                    + data.volumes[(code, dt.date(2025, 2, 1))] * 10 / 28)
        assert found[data.unit_ids[code]] == pytest.approx(expected)
    assert none == {}  # volumes are per unit, not per channel


def test_linkage_rows_and_spearman(app, data) -> None:
    with app.app_context():
        units = unit_tree()
        rows = linkage(WHOLE, Dimension.UNIT, 5, flat(units), tz="UTC")
        rates = complaint_rates(WHOLE, None, "UTC")
        volume = sum(transactions(WHOLE, "UTC").values())
    by_key = {row.key: row for row in rows}
    received = [c for c in data.complaints if between(c.received_at, START, END)]
    for code in ("a1", "solo"):
        row = by_key[data.unit_ids[code]]
        chosen = _responses(data, unit={code})
        satisfied, n = csat_counts(chosen)
        assert row.csat.value == pytest.approx(satisfied / n)
        yes, asked = resolution_counts(chosen)
        assert row.false_closure.value == pytest.approx((asked - yes) / asked)
        assert row.really_resolved.value == pytest.approx(yes / asked)
        complaints = sum(c.unit == code for c in received)
        assert row.complaints == complaints
        assert row.complaint_rate is not None
        assert row.complaint_rate.value == pytest.approx(complaints * 1000 / row.transactions)
    # The whole: only units with a known volume count ("b", "org" have none, but no complaints).
    assert rates[None][1].value == pytest.approx(len(received) * 1000 / volume)
    # Spearman across the units where both figures are shown, against scipy.
    pairs = [(r.complaint_rate.value, r.csat.value) for r in rows
             if r.complaint_rate is not None and r.csat.shown]
    correlation = rate_csat_correlation(rows)
    expected = stats.spearmanr([p[0] for p in pairs], [p[1] for p in pairs])
    assert correlation is not None and correlation.n == len(pairs) >= 3
    assert (correlation.rho, correlation.p_value) == pytest.approx(
        (expected.statistic, expected.pvalue))


def test_satisfaction_by_timeliness_and_days(app, data) -> None:
    with app.app_context():
        split = satisfaction_by_timeliness(WHOLE, 5)
        buckets = satisfaction_by_days(WHOLE, 5, edges=(2, 5, 10))
    chosen = [r for r in _responses(data) if r.complaint.due_at is not None]
    on_time = [r for r in chosen if r.complaint.resolved_at <= r.complaint.due_at]
    late = [r for r in chosen if r.complaint.resolved_at > r.complaint.due_at]
    (x1, n1), (x2, n2) = csat_counts(on_time), csat_counts(late)
    assert (split.on_time.csat.n, split.on_time.csat.value) == (n1, pytest.approx(x1 / n1))
    assert (split.late.csat.n, split.late.csat.value) == (n2, pytest.approx(x2 / n2))
    z, p_value = proportions_ztest([x1, x2], [n1, n2])
    assert split.change is not None
    assert (split.change.z, split.change.p_value) == pytest.approx((z, p_value))
    edges = [0, 2, 5, 10, float("inf")]
    for bucket, low, high in zip(buckets, edges, edges[1:], strict=False):
        inside = [r for r in _responses(data) if low <= _days(r.complaint) < high]
        satisfied, n = csat_counts(inside)
        assert bucket.low == low and (bucket.high or float("inf")) == high
        assert bucket.csat.n == n
        if bucket.csat.shown:
            assert bucket.csat.value == pytest.approx(satisfied / n)


def test_first_time_and_repeat_complainants(app, data) -> None:
    with app.app_context():
        found = {s.key: s for s in segments.complainant_history(WHOLE, 5)}
    earlier = {}
    for complaint in data.complaints:
        if complaint.complainant is not None:
            earlier.setdefault(complaint.complainant, []).append(complaint.received_at)

    def kind(response) -> str:  # type: ignore[no-untyped-def]
        person = response.complaint.complainant
        if person is None:
            return segments.UNKNOWN
        received = response.complaint.received_at
        return segments.REPEAT if any(t < received for t in earlier[person]) else \
            segments.FIRST_TIME

    for key in (segments.FIRST_TIME, segments.REPEAT):
        chosen = [r for r in _responses(data) if kind(r) == key]
        satisfied, n = csat_counts(chosen)
        assert found[key].responses == len(chosen)
        assert found[key].csat.value == pytest.approx(satisfied / n)


def test_outcome_process_and_staff(app, data) -> None:
    with app.app_context():
        found = {a.key: a for a in segments.aspects(WHOLE, 5)}
    for key, attributes in segments.ASPECTS.items():
        values = [(answer[0], answer[2]) for r in _responses(data)
                  for answer in r.answers.values()
                  if answer[1] in attributes and answer[2] is not None
                  and answer[0] in ("rating", "likert", "yes_no")]
        positive = sum((kind == "yes_no" and v == 1) or (kind != "yes_no" and v >= 4)
                       for kind, v in values)
        assert found[key].answers == len(values), key
        if values:
            assert found[key].positive.value == pytest.approx(positive / len(values))


def test_invitation_funnel_and_response_rates(app, data) -> None:
    with app.app_context():
        funnel = invitation_funnel(WHOLE)
        by_channel = response_rates(WHOLE, Dimension.CHANNEL)
        by_language = response_rates(WHOLE, Dimension.LANGUAGE)
        only_ipa = invitation_funnel(WHOLE.but(questionnaire_id=data.questionnaire_ids["ipa"]))
    made = [i for i in data.invitations if between(i.created_at, START, END)]
    assert funnel.planned == len(made)
    assert funnel.sent == sum(i.sent_at is not None for i in made)
    assert funnel.responded == sum(i.state == "responded" for i in made)
    assert funnel.expired == sum(i.state == "expired" for i in made)
    assert funnel.failed == sum(i.state == "failed" for i in made)
    reasons = {}
    for invitation in made:
        if invitation.reason:
            reasons[invitation.reason] = reasons.get(invitation.reason, 0) + 1
    assert funnel.suppressed == reasons
    assert only_ipa.planned == sum(i.questionnaire == "ipa" for i in made)
    for channel, score in by_channel.items():
        responded, sent = sent_counts([i for i in data.invitations
                                       if i.complaint.channel == channel], START, END)
        assert (score.n, score.value) == (sent, pytest.approx(responded / sent))
        assert (score.low, score.high) == pytest.approx(
            (metrics.wilson_interval(responded, sent).low,
             metrics.wilson_interval(responded, sent).high))
    assert set(by_language) == {"tr", "en"}


def test_targets_fall_back_up_the_tree(app, data) -> None:
    from app.analytics.figures import Score
    from app.analytics.targets import below_target, targets_for

    with app.app_context():
        units = unit_tree()
        ids = data.unit_ids
        assert targets_for(None, units) == {"csat": 0.7}
        assert targets_for(ids["a"], units) == {"csat": 0.8}  # its own
        assert targets_for(ids["a1"], units) == {"csat": 0.8}  # its parent's
        assert targets_for(ids["b1"], units) == {"csat": 0.7}  # the organisation's
    under = Score(n=50, value=0.6, low=0.46, high=0.72)
    surely = Score(n=500, value=0.6, low=0.55, high=0.65)
    assert [(g.metric, g.surely) for g in below_target({"csat": under}, {"csat": 0.7})] == [
        ("csat", False)]
    assert below_target({"csat": surely}, {"csat": 0.7})[0].surely
    assert below_target({"csat": Score(n=2, suppressed=True)}, {"csat": 0.7}) == []
    assert below_target({"csat": Score(n=50, value=0.75, low=0.6, high=0.85)},
                        {"csat": 0.7}) == []
