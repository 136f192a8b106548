"""The planner on service events: rules by trigger, delay, window, sampling, and fatigue across
complaint and service surveys (a complainant's survey comes first)."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import func, select

from app.distribution.planner import (
    plan_for_resolution,
    plan_for_service_event,
    plan_for_service_events,
)
from app.distribution.windows import into_send_window
from app.extensions import db
from app.models import Invitation, InvitationState, RuleTrigger, SuppressionReason
from tests.support.distribution import make_rule
from tests.support.factories import make_complaint, make_service_event

UTC = dt.UTC
SERVED = dt.datetime(2024, 5, 14, 10, 0, tzinfo=UTC)  # a Tuesday, 13:00 in Istanbul
EVENT = RuleTrigger.SERVICE_EVENT


def test_a_rule_on_service_events_plans_after_its_delay_inside_the_window(app: Flask) -> None:
    with app.app_context():
        rule = make_rule("visits", triggered_by=EVENT, delay_minutes=10 * 60)
        event = make_service_event(occurred_at=SERVED)
        invitation = plan_for_service_event(event)
        assert invitation is not None and invitation.state == InvitationState.PLANNED
        assert invitation.rule_id == rule.id and invitation.complaint_id is None
        assert invitation.service_event_id == event.id
        # 23:00 in Istanbul is outside 09:00-20:00: the next morning at nine.
        assert invitation.due_at == dt.datetime(2024, 5, 15, 6, 0, tzinfo=UTC)
        assert invitation.due_at == into_send_window(SERVED + dt.timedelta(hours=10), rule)
        assert plan_for_service_event(event).id == invitation.id  # taken in twice: one survey


def test_rules_keep_to_their_trigger(app: Flask) -> None:
    with app.app_context():
        make_rule("complaints")  # on resolved complaints
        assert plan_for_service_event(make_service_event()) is None
        assert db.session.scalar(select(func.count(Invitation.id))) == 0
        visits = make_rule("visits", triggered_by=EVENT)
        complaint_invitation = plan_for_resolution(make_complaint(email="other@example.org"))
        assert complaint_invitation.rule.key == "complaints"
        assert plan_for_service_event(make_service_event()).rule_id == visits.id


def test_service_unit_and_channel_filters(app: Flask) -> None:
    with app.app_context():
        make_rule("permits-desk", triggered_by=EVENT, service_codes=["licences"],
                  unit_codes=["town-hall"], channels=["walk_in"], fatigue_days=0)
        covered = make_service_event(service="building", service_parent="licences",
                                     unit="desk-2", unit_parent="town-hall")
        assert plan_for_service_event(covered) is not None
        for event in (
            make_service_event(service="parking", unit="desk-2"),
            make_service_event(service="building", unit="parks"),
            make_service_event(service="building", unit="desk-2", channel="phone"),
        ):
            assert plan_for_service_event(event) is None


def test_sampling_on_service_events_is_stable_and_keeps_its_share(app: Flask) -> None:
    with app.app_context():
        make_rule("visits", triggered_by=EVENT, sample_rate=0.3, fatigue_days=0)
        events = [make_service_event(email=f"p{i}@example.org") for i in range(300)]
        invitations = plan_for_service_events(events)
        assert len(invitations) == 300
        sampled = [i for i in invitations if i.state == InvitationState.PLANNED]
        assert 60 <= len(sampled) <= 120
        left_out = {i.suppression_reason for i in invitations if i not in sampled}
        assert left_out == {SuppressionReason.NOT_SAMPLED}


def test_no_consent_and_opt_out_suppress_a_service_survey(app: Flask) -> None:
    with app.app_context():
        make_rule("visits", triggered_by=EVENT)
        no_consent = plan_for_service_event(make_service_event(consent=False))
        opted = plan_for_service_event(make_service_event(email="x@example.org", opted_out=True))
        assert no_consent.suppression_reason == SuppressionReason.NO_CONSENT
        assert opted.suppression_reason == SuppressionReason.OPTED_OUT


def test_a_service_survey_waits_for_a_complaint_survey_of_the_same_address(app: Flask) -> None:
    with app.app_context():
        make_rule("complaints")
        make_rule("visits", triggered_by=EVENT)
        first = plan_for_resolution(make_complaint(email="ayse@example.org"))
        assert first.state == InvitationState.PLANNED
        later = plan_for_service_event(make_service_event(email="AYSE@example.org"))
        assert later.suppression_reason == SuppressionReason.FATIGUE
        someone_else = plan_for_service_event(make_service_event(email="can@example.org"))
        assert someone_else.state == InvitationState.PLANNED


def test_a_sent_service_survey_holds_off_a_complaint_survey_inside_the_window(app: Flask
                                                                             ) -> None:
    with app.app_context():
        make_rule("complaints", fatigue_days=30)
        make_rule("visits", triggered_by=EVENT)
        service = plan_for_service_event(make_service_event(occurred_at=SERVED))
        service.state, service.sent_at = InvitationState.SENT, SERVED + dt.timedelta(days=1)
        db.session.flush()
        complaint = make_complaint(email="mehmet@example.org",
                                   resolved_at=SERVED + dt.timedelta(days=10))
        assert plan_for_resolution(complaint).suppression_reason == SuppressionReason.FATIGUE
        outside = make_complaint(email="mehmet@example.org",
                                 resolved_at=SERVED + dt.timedelta(days=40))
        assert plan_for_resolution(outside).state == InvitationState.PLANNED


def test_a_complaint_survey_takes_precedence_over_a_planned_service_survey(app: Flask) -> None:
    with app.app_context():
        make_rule("complaints", fatigue_days=30)
        make_rule("visits", triggered_by=EVENT)
        service = plan_for_service_event(make_service_event(occurred_at=SERVED))
        far = plan_for_service_event(make_service_event(
            person=service.service_event.person, occurred_at=SERVED + dt.timedelta(days=90)))
        assert service.state == InvitationState.PLANNED
        assert far.suppression_reason == SuppressionReason.FATIGUE  # the first one is planned
        complaint = make_complaint(email="mehmet@example.org",
                                   resolved_at=SERVED + dt.timedelta(hours=2))
        mine = plan_for_resolution(complaint)
        assert mine.state == InvitationState.PLANNED
        db.session.expire_all()
        assert service.state == InvitationState.SUPPRESSED
        assert service.suppression_reason == SuppressionReason.FATIGUE
