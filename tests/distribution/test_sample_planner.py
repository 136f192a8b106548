"""The sample planner: its formulas (checked against statsmodels' Wilson interval), the counts
it takes from the database, and the planner on the rule page."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from statsmodels.stats.proportion import proportion_confint

from app.distribution.sample_planner import (
    expected_responses,
    margin_of_error,
    plan_samples,
    responses_needed,
    rule_history,
    sample_rate_needed,
)
from app.extensions import db
from app.models import Answer, DistributionRule, Invitation, InvitationState, Response
from tests.support.distribution import bulk_due_invitations, in_english, make_rule
from tests.support.factories import make_complaint

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


# --- formulas ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("csat", "n"), [(0.5, 100), (0.8, 37), (0.95, 400), (0.0, 12)])
def test_the_margin_is_half_the_wilson_interval(csat: float, n: int) -> None:
    low, high = proportion_confint(round(csat * n), n, alpha=0.05, method="wilson")
    assert margin_of_error(csat, n) == pytest.approx((high - low) / 2, abs=1e-9)
    assert margin_of_error(csat, n + 0.7) == margin_of_error(csat, n)  # whole answers only
    assert margin_of_error(csat, 0.9) is None


def test_margin_for_an_unknown_csat_of_100_answers() -> None:
    # z / (2 sqrt(n + z^2)) for p = 0.5: about +-9.6 points.
    z = 1.959963984540054
    assert margin_of_error(0.5, 100) == pytest.approx(z / (2 * math.sqrt(100 + z * z)))


def test_responses_needed_is_the_fewest_that_reach_the_target() -> None:
    needed = responses_needed(0.5, 0.05)
    assert needed is not None and 379 <= needed <= 383  # Wald would say 385
    assert margin_of_error(0.5, needed) <= 0.05 < margin_of_error(0.5, needed - 1)
    assert responses_needed(0.9, 0.05) < needed  # a CSAT near the edge needs fewer
    assert responses_needed(0.5, 0) is None


def test_expected_responses_and_the_rate_a_target_needs() -> None:
    assert expected_responses(1000, 0.8, 0.5, 0.25) == pytest.approx(100)
    rate = sample_rate_needed(0.05, 0.5, 10_000, 0.8, 0.25)  # 2,000 answers at rate 1
    assert rate == pytest.approx(responses_needed(0.5, 0.05) / 2000)
    assert sample_rate_needed(0.05, 0.5, 100, 0.8, 0.25) is None  # 20 a month: out of reach
    assert sample_rate_needed(0.05, 0.5, 10_000, 0.0, 0.25) is None


# --- counts from the database --------------------------------------------------------------------


def _answered(complaint: Any, rule: Any, score: int | None, sent_at: dt.datetime) -> None:
    """An invitation sent for ``complaint``; with a response carrying ``score`` unless None."""
    version = rule.questionnaire.published_version
    invitation = Invitation(complaint=complaint, rule=rule, version=version, language="tr",
                            state=InvitationState.SENT, due_at=sent_at, sent_at=sent_at)
    db.session.add(invitation)
    db.session.flush()
    if score is None:
        return
    response = Response(invitation_id=invitation.id, version_id=version.id,
                        questionnaire_id=version.questionnaire_id, complaint_id=complaint.id,
                        unit_id=complaint.unit_id, category_id=complaint.category_id,
                        channel=complaint.channel, language="tr", submitted_at=sent_at)
    db.session.add(response)
    db.session.flush()
    db.session.add(Answer(response_id=response.id, question_key="overall", question_type="rating",
                          attribute="overall", value_number=score))


def default_rule() -> DistributionRule:
    return db.session.scalar(select(DistributionRule).where(DistributionRule.key == "default"))


def _history(app: Flask) -> None:
    """Parks (under City): 30 complaints in three months, 24 reachable, 10 surveyed, 6 answered
    (5 satisfied); Roads: 6 complaints, 1 answer; plus what the rule must not count."""
    rule = make_rule("default", unit_codes=["city"], sample_rate=0.5)
    recent = NOW - dt.timedelta(days=20)
    for i in range(30):
        complaint = make_complaint(unit="parks", unit_parent="city", resolved_at=recent,
                                   consent=i >= 6, email=f"p{i}@example.org")
        if i < 10:
            _answered(complaint, rule, [5, 5, 4, 4, 5, 2][i] if i < 6 else None, recent)
    for _ in range(6):
        complaint = make_complaint(unit="roads", unit_parent="city", resolved_at=recent)
    _answered(complaint, rule, 5, recent)
    # Not counted: too old, outside the rule's units, taken by a rule of higher priority.
    make_complaint(unit="parks", unit_parent="city", resolved_at=NOW - dt.timedelta(days=120))
    make_complaint(unit="library", resolved_at=recent)
    make_rule("web-first", unit_codes=["roads"], channels=["phone"], priority=5)
    for _ in range(3):
        make_complaint(unit="roads", unit_parent="city", channel="phone", resolved_at=recent)
    db.session.commit()


def test_history_counts_what_the_rule_would_take_in_three_months(app: Flask) -> None:
    with app.app_context():
        _history(app)
        rule = default_rule()
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            history = rule_history(rule, now=NOW)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert (history.complaints, history.reachable) == (36, 30)
        assert (history.delivered, history.responded) == (11, 7)
        assert (history.answers, history.satisfied) == (7, 6)
        by_name = {u.name: u for u in history.units}
        assert set(by_name) == {"Parks", "Roads"}
        assert (by_name["Parks"].complaints, by_name["Parks"].reachable) == (30, 24)
        assert (by_name["Roads"].answers, by_name["Roads"].satisfied) == (1, 1)
        # Counted by the database: every query over complaints is an aggregate.
        complaint_queries = [s for s in statements if "FROM complaint" in s]
        assert complaint_queries and all("count(" in s for s in complaint_queries)


def test_plan_at_the_current_rate_and_at_the_rate_for_the_target(app: Flask) -> None:
    with app.app_context():
        _history(app)
        rule = default_rule()
        plan = plan_samples(rule, 0.10, "All units", now=NOW)
    assert plan.response_rate == pytest.approx(7 / 11) and not plan.response_rate_assumed
    overall = plan.overall
    assert overall.complaints_per_month == pytest.approx(12)
    assert overall.csat == pytest.approx(6 / 7)
    expected = 12 * (30 / 36) * 0.5 * (7 / 11)
    assert overall.expected == pytest.approx(expected)
    assert overall.margin == pytest.approx(margin_of_error(6 / 7, expected))
    # +-10 points around 6/7 needs more answers than a rate of 1 gives: out of reach.
    assert overall.needed_rate is None and overall.expected_at_needed is None
    roads = next(line for line in plan.units if line.label == "Roads")
    assert roads.csat is None  # one answer: too few to show a score
    # ... so its margin is planned around 50 %; under one answer a month there is none.
    assert roads.expected < 1 and roads.margin is None


def test_a_new_rule_plans_with_an_assumed_response_rate(app: Flask) -> None:
    with app.app_context():
        rule = make_rule("fresh")
        make_complaint(resolved_at=NOW - dt.timedelta(days=1))
        db.session.commit()
        plan = plan_samples(rule, 0.05, "All units", now=NOW)
    assert plan.response_rate_assumed and plan.response_rate == 0.25
    assert plan.overall.csat is None and plan.overall.complaints_per_month == pytest.approx(1 / 3)


# --- on the rule page ----------------------------------------------------------------------------


def test_the_rule_page_shows_the_planner_for_the_typed_target(
    app: Flask, admin_client: FlaskClient
) -> None:
    with app.app_context():
        rule = make_rule("default", sample_rate=0.1)
        # 100 complaints a month, all reachable: 25 answers a month at a rate of 1.
        bulk_due_invitations(300, dt.datetime.now(UTC) - dt.timedelta(days=5))
        plan = plan_samples(rule, 0.20, "All units")
    page = in_english(admin_client).get("/admin/rules/default?target=20").get_data(as_text=True)
    assert "Sample planner" in page
    assert 'value="20"' in page
    assert f"{plan.overall.expected:.1f}" in page
    assert plan.overall.needed_rate is not None
    assert f"{plan.overall.needed_rate * 100:.1f} %" in page
    bad = admin_client.get("/admin/rules/default?target=abc").get_data(as_text=True)
    assert 'id="target-error"' in bad
