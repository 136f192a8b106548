"""Campaigns: the sample size per unit against hand computations, the people counted and
drawn (distinct, may be asked), starting, progress and the closing job."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from flask import Flask
from scipy.stats import norm
from sqlalchemy import func, select
from statsmodels.stats.proportion import proportion_confint

from app.distribution.campaigns import (
    CampaignError,
    close_due_campaigns,
    expected_margin,
    population,
    preview,
    progress,
    responses_for,
    start_campaign,
    unit_plan,
)
from app.extensions import db
from app.models import (
    AuditLog,
    CampaignState,
    Complainant,
    Invitation,
    InvitationState,
    Response,
    ServiceEvent,
    Unit,
)
from tests.support.campaigns import make_campaign, serve
from tests.support.distribution import make_questionnaire
from tests.support.factories import make_complaint, make_service_event

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 20, 9, tzinfo=UTC)
Z = norm.ppf(0.975)


def wilson_half_width(n: int) -> float:
    """The 95 % Wilson interval's half-width at p = 0.5, by its closed form."""
    return Z * math.sqrt(n * 0.25 + Z * Z / 4) / (n + Z * Z)


def hand_responses(population: int, margin: float) -> int:
    n0 = next(n for n in range(1, 100_000) if wilson_half_width(n) <= margin)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


@pytest.mark.parametrize(("population", "margin"), [
    (100, 0.05), (1000, 0.05), (5000, 0.03), (200_000, 0.05), (40, 0.1)])
def test_responses_needed_with_the_finite_population_correction(
        population: int, margin: float) -> None:
    assert responses_for(population, margin) == hand_responses(population, margin)
    # Wald's textbook figure for a large population: z^2 p q / e^2, 384.1 at +-5 points
    # (Wilson's interval is a little narrower: 381).
    if population == 200_000:
        assert abs(hand_responses(population, margin) - Z * Z * 0.25 / margin**2) < 5


def test_a_unit_plan_divides_by_the_response_rate_and_is_capped() -> None:
    plan = unit_plan(1, "Desk", served=1000, reachable=900, target_margin=0.05,
                     response_rate=0.4)
    needed = hand_responses(1000, 0.05)  # 278
    assert plan.sample == math.ceil(needed / 0.4)
    assert plan.expected_responses == pytest.approx(plan.sample * 0.4)
    fpc = math.sqrt((1000 - math.floor(plan.expected_responses)) / 999)
    assert plan.expected_margin == pytest.approx(
        wilson_half_width(math.floor(plan.expected_responses)) * fpc, abs=0.002)
    assert plan.expected_margin <= 0.0505
    small = unit_plan(2, "Kiosk", served=120, reachable=80, target_margin=0.05,
                      response_rate=0.3)
    assert small.sample == 80  # everyone who may be asked, no more
    assert expected_margin(100, 100) == 0.0  # everyone answered: no sampling error


def test_population_counts_each_person_once_in_their_latest_unit(app: Flask) -> None:
    with app.app_context():
        campaign = make_campaign()
        serve(5, "north")
        serve(3, "south")
        moved = make_service_event(email="north-0@example.org", unit="south",
                                   occurred_at=dt.datetime(2024, 4, 20, tzinfo=UTC))
        make_service_event(email="late@example.org", unit="north",
                           occurred_at=dt.datetime(2024, 5, 2, tzinfo=UTC))  # after the period
        db.session.flush()
        units = {code: db.session.scalar(select(Unit.id).where(Unit.code == code))
                 for code in ("north", "south")}
        counts = population(campaign, NOW)
        assert counts == {units["north"]: (4, 4), units["south"]: (4, 4)}
        assert moved.unit_id == units["south"]


def test_only_people_who_may_be_asked_are_reachable(app: Flask) -> None:
    with app.app_context():
        campaign = make_campaign()
        serve(4, "north")
        serve(1, "north", prefix="no-consent", consent=False)
        serve(1, "north", prefix="opted", opted_out=True)
        serve(1, "north", email=None, prefix="no-contact")
        # The same address opted out under another record (a complaint of theirs).
        make_complaint(email="north-1@example.org", opted_out=True)
        # Asked ten days ago after a complaint: inside the 30-day window.
        asked = make_complaint(email="north-2@example.org")
        db.session.add(Invitation(complaint=asked, state=InvitationState.SENT,
                                  sent_at=NOW - dt.timedelta(days=10)))
        db.session.flush()
        ((served, askable),) = population(campaign, NOW).values()
        assert (served, askable) == (7, 2)


def test_start_draws_each_units_sample_from_people_who_may_be_asked(app: Flask) -> None:
    with app.app_context():
        campaign = make_campaign(margin_of_error=0.2, expected_response_rate=0.5)
        serve(60, "north")
        serve(30, "south")
        serve(10, "south", prefix="opted", opted_out=True)
        twice = serve(5, "north", prefix="twice")
        for event in twice:  # served twice: one person, one survey
            make_service_event(person=event.person, unit="north",
                               occurred_at=dt.datetime(2024, 4, 12, tzinfo=UTC), flush=False)
        db.session.commit()
        plan = {u.name: u for u in preview(campaign, NOW).units}
        assert (plan["North"].served, plan["South"].served) == (65, 40)
        assert plan["South"].reachable == 30
        planned = start_campaign(campaign, "admin@example.org", NOW)
        assert planned == plan["North"].sample + plan["South"].sample
        rows = db.session.execute(
            select(Unit.name, Complainant.email, Complainant.opted_out_at, Invitation.state,
                   Invitation.due_at, Invitation.language, Invitation.channel)
            .join(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
            .join(Unit, Unit.id == ServiceEvent.unit_id)
            .join(Complainant, Complainant.id == ServiceEvent.complainant_id)
            .where(Invitation.campaign_id == campaign.id)).all()
        assert len(rows) == planned
        assert len({row.email for row in rows}) == planned  # distinct people
        for unit in ("North", "South"):
            assert sum(row.name == unit for row in rows) == plan[unit].sample
        assert all(row.opted_out_at is None for row in rows)
        assert {(row.state, row.due_at, row.language, row.channel) for row in rows} == {
            (InvitationState.PLANNED, NOW, "tr", "email")}
        assert campaign.state == CampaignState.RUNNING and campaign.started_at == NOW
        assert db.session.scalar(select(AuditLog.detail).where(
            AuditLog.action == "campaign.start")) == {"planned": planned, "units": 2}
        with pytest.raises(CampaignError):
            start_campaign(campaign, "admin@example.org", NOW)


def test_the_sample_is_random_within_the_unit(app: Flask) -> None:
    with app.app_context():
        first = make_campaign("a", margin_of_error=0.3, expected_response_rate=1.0)
        serve(200, "north")
        db.session.commit()
        start_campaign(first, "admin", NOW)
        drawn = set(db.session.scalars(select(Invitation.service_event_id)))
        assert 0 < len(drawn) < 200
        ids = sorted(db.session.scalars(select(ServiceEvent.id)))
        # Not simply the first or the last ones served.
        assert drawn != set(ids[:len(drawn)]) and drawn != set(ids[-len(drawn):])


def test_people_sampled_are_then_fatigued_for_the_next_campaign(app: Flask) -> None:
    with app.app_context():
        questionnaire = make_questionnaire("q")
        serve(20, "north")
        first = make_campaign("first", questionnaire, margin_of_error=0.5,
                              expected_response_rate=1.0)
        db.session.commit()
        taken = start_campaign(first, "admin", NOW)
        second = make_campaign("second", questionnaire)
        ((served, askable),) = population(second, NOW).values()
        assert (served, askable) == (20, 20 - taken)


def test_progress_and_the_closing_job(app: Flask) -> None:
    with app.app_context():
        campaign = make_campaign(margin_of_error=0.3, expected_response_rate=1.0,
                                 closes_at=NOW + dt.timedelta(days=10))
        serve(30, "north")
        db.session.commit()
        planned = start_campaign(campaign, "admin", NOW)
        invitations = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        for invitation in invitations[:4]:
            invitation.state, invitation.sent_at = InvitationState.SENT, NOW
        answered = invitations[0]
        answered.state, answered.responded_at = InvitationState.RESPONDED, NOW
        event = db.session.get(ServiceEvent, answered.service_event_id)
        db.session.add(Response(invitation_id=answered.id, version_id=answered.version_id,
                                questionnaire_id=campaign.questionnaire_id,
                                service_event_id=event.id, unit_id=event.unit_id,
                                service_id=event.service_id, channel=event.channel,
                                source="campaign", language="tr"))
        db.session.commit()
        (line,) = progress(campaign)
        assert (line.served, line.sampled, line.sent, line.responded) == (30, planned, 4, 1)
        assert line.response_rate == 0.25
        # One answer of 30 people: the Wilson interval of round(0.5 * 1) = 0 of 1, as the
        # dashboards compute it, times sqrt((30 - 1) / (30 - 1)).
        low, high = proportion_confint(0, 1, method="wilson")
        assert line.current_margin == pytest.approx((high - low) / 2)
        assert close_due_campaigns(NOW + dt.timedelta(days=9)) == 0
        assert close_due_campaigns(NOW + dt.timedelta(days=10)) == 1
        db.session.expire_all()
        assert campaign.state == CampaignState.CLOSED
        assert campaign.closed_at == NOW + dt.timedelta(days=10)
        states = dict(db.session.execute(select(Invitation.state, func.count())
                                         .group_by(Invitation.state)).all())
        assert states == {InvitationState.RESPONDED: 1, InvitationState.EXPIRED: planned - 1}
        assert close_due_campaigns(NOW + dt.timedelta(days=11)) == 0  # closed once
