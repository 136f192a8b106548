"""The planner: rule matching and priority, suppression reasons, fatigue, sampling, send windows."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.distribution.planner import (
    cancel_open_invitations,
    plan_for_resolution,
    sample_fraction,
)
from app.distribution.rules import RuleError, ensure_default_rule, matching_rule
from app.distribution.windows import in_send_window, into_send_window
from app.extensions import db
from app.models import (
    DistributionRule,
    Invitation,
    InvitationState,
    QuestionnaireVersion,
    SuppressionReason,
    VersionStatus,
)
from tests.support.distribution import DEFINITION, make_questionnaire, make_rule
from tests.support.factories import make_complaint

UTC = dt.UTC
RESOLVED = dt.datetime(2024, 5, 14, 10, 0, tzinfo=UTC)  # a Tuesday, 13:00 in Istanbul


# --- the default rule ----------------------------------------------------------------------------


def test_default_rule_is_created_once_with_the_configured_time_zone(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(MEMNUN_TIMEZONE="Europe/Amsterdam")
    with app.app_context():
        make_questionnaire()
        rule = ensure_default_rule()
        again = ensure_default_rule()
        db.session.commit()
        assert again.id == rule.id
        assert db.session.scalar(select(func.count(DistributionRule.id))) == 1
        assert rule.key == "default"
        assert rule.timezone == "Europe/Amsterdam"
        assert (rule.delay_minutes, rule.reminder_after_minutes) == (24 * 60, 3 * 24 * 60)
        assert (rule.expires_after_minutes, rule.fatigue_days) == (14 * 24 * 60, 30)
        assert (rule.send_window_start, rule.send_window_end) == ("09:00", "20:00")
        assert rule.sample_rate == 1.0 and rule.active


def test_default_rule_needs_its_questionnaire(app: Flask) -> None:
    with app.app_context(), pytest.raises(RuleError, match="post-resolution"):
        ensure_default_rule()


# --- matching and priority -----------------------------------------------------------------------


def test_empty_filters_match_every_complaint(app: Flask) -> None:
    with app.app_context():
        rule = make_rule()
        complaint = make_complaint(category="roads", unit="fire", channel="phone")
        assert matching_rule(complaint).id == rule.id


def test_filters_select_by_category_unit_and_channel(app: Flask) -> None:
    with app.app_context():
        water_web = make_rule("water-web", category_codes=["water"], channels=["web"])
        parks = make_rule("parks", unit_codes=["parks"])
        assert matching_rule(make_complaint(category="water", channel="web")).id == water_web.id
        assert matching_rule(make_complaint(category="water", channel="phone")).id == parks.id
        assert matching_rule(make_complaint(category="roads", unit="fire")) is None


def test_a_rule_for_a_parent_unit_or_category_covers_its_children(app: Flask) -> None:
    with app.app_context():
        rule = make_rule("science", unit_codes=["science"], category_codes=["cleaning"])
        child = make_complaint(unit="science.roads", unit_parent="science",
                               category="garbage", category_parent="cleaning")
        assert matching_rule(child).id == rule.id
        assert matching_rule(make_complaint(unit="other", category="garbage")) is None


def test_inactive_rules_never_match(app: Flask) -> None:
    with app.app_context():
        make_rule(active=False)
        assert matching_rule(make_complaint()) is None


def test_the_higher_priority_wins_then_the_older_rule(app: Flask) -> None:
    with app.app_context():
        make_rule("general", priority=0)
        urgent = make_rule("water", priority=5, category_codes=["water"])
        assert matching_rule(make_complaint(category="water")).id == urgent.id

        first = make_rule("first", priority=9)
        make_rule("second", priority=9)
        assert matching_rule(make_complaint(category="water")).id == first.id


def test_two_matching_rules_give_one_invitation(app: Flask) -> None:
    with app.app_context():
        make_rule("general")
        water = make_rule("water", priority=1, category_codes=["water"])
        complaint = make_complaint(category="water")
        invitation = plan_for_resolution(complaint)
        plan_for_resolution(complaint)  # the same resolution delivered twice
        db.session.commit()
        rows = db.session.scalars(select(Invitation)).all()
        assert [(i.id, i.rule_id) for i in rows] == [(invitation.id, water.id)]


# --- planned invitations -------------------------------------------------------------------------


def test_planned_invitation_has_its_due_time_version_and_language(app: Flask) -> None:
    with app.app_context():
        questionnaire = make_questionnaire()
        newer = QuestionnaireVersion(questionnaire=questionnaire, number=2,
                                     status=VersionStatus.PUBLISHED, definition=DEFINITION)
        draft = QuestionnaireVersion(questionnaire=questionnaire, number=3,
                                     status=VersionStatus.DRAFT, definition=DEFINITION)
        db.session.add_all([newer, draft])
        rule = make_rule(questionnaire=questionnaire)
        invitation = plan_for_resolution(make_complaint(language="en", resolved_at=RESOLVED))
        db.session.commit()
        assert invitation.state == InvitationState.PLANNED
        assert invitation.suppression_reason is None
        assert invitation.rule_id == rule.id
        assert invitation.version_id == newer.id  # the latest published, never a draft
        assert invitation.language == "en"
        assert invitation.due_at == dt.datetime(2024, 5, 15, 10, 0, tzinfo=UTC)
        assert invitation.token_hash is None  # the dispatcher gives it its link


@pytest.mark.parametrize(("language", "chosen"),
                         [("de", "tr"), ("EN", "en"), ("en-GB", "en"), ("en_US", "en"), ("", "tr")])
def test_the_survey_language_is_one_the_version_offers(app: Flask, language: str, chosen: str
                                                       ) -> None:
    with app.app_context():
        make_rule()
        invitation = plan_for_resolution(make_complaint(language=language))
        assert invitation.language == chosen


# --- suppression ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"consent": False}, SuppressionReason.NO_CONSENT),
        ({"email": None}, SuppressionReason.NO_CONTACT),
        ({"email": "  "}, SuppressionReason.NO_CONTACT),
        ({"with_complainant": False}, SuppressionReason.NO_CONTACT),
        ({"opted_out": True}, SuppressionReason.OPTED_OUT),
        ({"opted_out": True, "consent": False}, SuppressionReason.OPTED_OUT),
    ],
)
def test_suppression_reasons_are_recorded(app: Flask, fields: dict, reason: SuppressionReason
                                          ) -> None:
    with app.app_context():
        make_rule()
        invitation = plan_for_resolution(make_complaint(**fields))
        db.session.commit()
        stored = db.session.get(Invitation, invitation.id)
        assert stored.state == InvitationState.SUPPRESSED
        assert stored.suppression_reason == reason


def test_no_matching_rule_is_a_suppression_too(app: Flask) -> None:
    with app.app_context():
        make_rule(category_codes=["roads"])
        invitation = plan_for_resolution(make_complaint(category="water"))
        assert invitation.state == InvitationState.SUPPRESSED
        assert invitation.suppression_reason == SuppressionReason.NO_MATCHING_RULE
        assert invitation.rule_id is None


def test_a_rule_without_a_published_version_suppresses_and_says_why(app: Flask) -> None:
    with app.app_context():
        make_rule(questionnaire=make_questionnaire(published=False))
        invitation = plan_for_resolution(make_complaint())
        assert invitation.suppression_reason == SuppressionReason.NO_MATCHING_RULE
        assert "published" in invitation.last_error


def test_an_opt_out_under_another_complainant_row_with_the_same_address_counts(app: Flask
                                                                              ) -> None:
    with app.app_context():
        make_rule()
        make_complaint(email="Ayse@Example.org", opted_out=True)
        invitation = plan_for_resolution(make_complaint(email="ayse@example.org"))
        assert invitation.suppression_reason == SuppressionReason.OPTED_OUT


# --- fatigue -------------------------------------------------------------------------------------


def _earlier_invitation(state: InvitationState, sent_days_before: float | None, email: str
                        ) -> None:
    complaint = make_complaint(email=email, resolved_at=RESOLVED - dt.timedelta(days=60))
    sent_at = None
    if sent_days_before is not None:
        sent_at = RESOLVED + dt.timedelta(days=1) - dt.timedelta(days=sent_days_before)
    db.session.add(Invitation(complaint=complaint, state=state, sent_at=sent_at,
                              due_at=sent_at or RESOLVED))
    db.session.flush()


@pytest.mark.parametrize(
    ("state", "sent_days_before", "fatigued"),
    [
        (InvitationState.SENT, 10, True),
        (InvitationState.RESPONDED, 29, True),
        (InvitationState.CANCELLED, 5, True),  # sent, then the complaint was reopened
        (InvitationState.PLANNED, None, True),
        (InvitationState.EXPIRED, 31, False),
        (InvitationState.CANCELLED, None, False),  # never sent
        (InvitationState.SUPPRESSED, None, False),
        (InvitationState.FAILED, None, False),
    ],
)
def test_fatigue_window_across_rules_and_complaints(
    app: Flask, state: InvitationState, sent_days_before: float | None, fatigued: bool
) -> None:
    with app.app_context():
        make_rule()
        _earlier_invitation(state, sent_days_before, email="AYSE@example.org")
        invitation = plan_for_resolution(make_complaint(email="ayse@example.org",
                                                        resolved_at=RESOLVED))
        expected = SuppressionReason.FATIGUE if fatigued else None
        assert invitation.suppression_reason == expected


def test_fatigue_counts_other_rules_and_ignores_other_people(app: Flask) -> None:
    with app.app_context():
        make_rule("general")
        water = make_rule("water", priority=1, category_codes=["water"], fatigue_days=7)
        _earlier_invitation(InvitationState.SENT, 10, email="someone@example.org")
        _earlier_invitation(InvitationState.SENT, 5, email="other@example.org")
        first = plan_for_resolution(make_complaint(email="someone@example.org", category="water"))
        assert first.rule_id == water.id and first.state == InvitationState.PLANNED
        second = plan_for_resolution(make_complaint(email="someone@example.org", category="roads"))
        assert second.suppression_reason == SuppressionReason.FATIGUE  # 30 days here


# --- sampling ------------------------------------------------------------------------------------


def test_sampling_is_a_fixed_function_of_rule_key_and_complaint() -> None:
    digest = hashlib.sha256(b"default:42").digest()
    assert sample_fraction("default", 42) == int.from_bytes(digest[:8], "big") / 2**64
    assert sample_fraction("default", 42) != sample_fraction("other", 42)


def test_sample_rate_keeps_about_its_share_and_replanning_agrees(app: Flask) -> None:
    with app.app_context():
        make_rule(sample_rate=0.3, fatigue_days=0)
        complaints = [make_complaint(email=f"p{i}@example.org") for i in range(200)]
        first = {c.id: plan_for_resolution(c).state for c in complaints}
        sampled = sum(state == InvitationState.PLANNED for state in first.values())
        assert 35 <= sampled <= 85  # 60 expected; binomial sd 6.5
        for complaint in complaints:  # a reopen and a second resolution decide the same way
            cancel_open_invitations(complaint)
            again = plan_for_resolution(complaint)
            assert (again.state == InvitationState.PLANNED) == (
                first[complaint.id] == InvitationState.PLANNED
            )
            if again.state == InvitationState.SUPPRESSED:
                assert again.suppression_reason == SuppressionReason.NOT_SAMPLED


@pytest.mark.parametrize(("rate", "state"), [(0.0, InvitationState.SUPPRESSED),
                                             (1.0, InvitationState.PLANNED)])
def test_sample_rate_ends(app: Flask, rate: float, state: InvitationState) -> None:
    with app.app_context():
        make_rule(sample_rate=rate, fatigue_days=0)
        states = {plan_for_resolution(make_complaint()).state for _ in range(30)}
        assert states == {state}


# --- reopen --------------------------------------------------------------------------------------


def test_reopen_cancels_unanswered_invitations_only(app: Flask) -> None:
    with app.app_context():
        make_rule()
        complaint = make_complaint()
        rows = [
            Invitation(complaint=complaint, state=InvitationState.PLANNED, due_at=RESOLVED,
                       claimed_until=RESOLVED),
            Invitation(complaint=complaint, state=InvitationState.SENT, sent_at=RESOLVED),
            Invitation(complaint=complaint, state=InvitationState.REMINDED, sent_at=RESOLVED),
            Invitation(complaint=complaint, state=InvitationState.RESPONDED, sent_at=RESOLVED,
                       responded_at=RESOLVED),
            Invitation(complaint=complaint, state=InvitationState.SUPPRESSED),
        ]
        other = Invitation(complaint=make_complaint(), state=InvitationState.PLANNED)
        db.session.add_all([*rows, other])
        db.session.commit()
        assert cancel_open_invitations(complaint) == 3
        db.session.commit()
        db.session.expire_all()
        states = [db.session.get(Invitation, r.id).state for r in rows]
        assert states == [InvitationState.CANCELLED] * 3 + [
            InvitationState.RESPONDED, InvitationState.SUPPRESSED]
        assert rows[0].claimed_until is None
        assert db.session.get(Invitation, other.id).state == InvitationState.PLANNED


def test_a_second_resolution_plans_again_subject_to_fatigue(app: Flask) -> None:
    with app.app_context():
        make_rule()
        complaint = make_complaint()
        first = plan_for_resolution(complaint)
        cancel_open_invitations(complaint)  # reopened before anything was sent
        second = plan_for_resolution(complaint)
        assert second.id != first.id and second.state == InvitationState.PLANNED

        second.state, second.sent_at = InvitationState.SENT, RESOLVED + dt.timedelta(days=1)
        cancel_open_invitations(complaint)  # reopened after the survey went out
        third = plan_for_resolution(complaint)
        assert third.suppression_reason == SuppressionReason.FATIGUE


# --- send windows and daylight saving ------------------------------------------------------------


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "resolved", "delay_minutes", "due"),
    [
        # Amsterdam, spring forward on 31 March 2024: 09:00 is 08:00 UTC before, 07:00 after.
        ("Europe/Amsterdam", "2024-03-29T19:30", 60, "2024-03-30T08:00"),
        ("Europe/Amsterdam", "2024-03-30T06:30", 24 * 60, "2024-03-31T07:00"),
        # Amsterdam, fall back on 27 October 2024: 20:00 CEST is 18:00 UTC, 09:00 CET 08:00 UTC.
        ("Europe/Amsterdam", "2024-10-26T17:30", 60, "2024-10-27T08:00"),
        ("Europe/Amsterdam", "2024-10-26T16:30", 60, "2024-10-26T17:30"),
        # Istanbul has kept +03 all year since September 2016: 09:00 is 06:00 UTC in any month.
        ("Europe/Istanbul", "2024-01-09T18:00", 60, "2024-01-10T06:00"),
        ("Europe/Istanbul", "2024-07-09T18:00", 60, "2024-07-10T06:00"),
        # ... but it still changed clocks in 2015: +02 until 29 March, +03 after.
        ("Europe/Istanbul", "2015-03-28T18:30", 60, "2015-03-29T06:00"),
        ("Europe/Istanbul", "2015-03-27T18:30", 60, "2015-03-28T07:00"),
    ],
)
def test_due_time_moves_into_the_send_window_across_dst_changes(
    app: Flask, zone: str, resolved: str, delay_minutes: int, due: str
) -> None:
    with app.app_context():
        make_rule(timezone=zone, delay_minutes=delay_minutes)
        invitation = plan_for_resolution(make_complaint(resolved_at=_utc(resolved)))
        assert invitation.due_at == _utc(due)


def test_send_window_edges_midnight_and_dst_gap(app: Flask) -> None:
    with app.app_context():
        rule = make_rule(timezone="Europe/Amsterdam")
        # 20:00 closes the window; 09:00 opens it (both local, CEST = UTC+2 in June).
        assert in_send_window(_utc("2024-06-03T07:00"), rule)
        assert not in_send_window(_utc("2024-06-03T06:59"), rule)
        assert not in_send_window(_utc("2024-06-03T18:00"), rule)
        assert into_send_window(_utc("2024-06-03T12:00"), rule) == _utc("2024-06-03T12:00")

        night = make_rule("night", timezone="Europe/Amsterdam",
                          send_window_start="22:00", send_window_end="06:00")
        assert in_send_window(_utc("2024-06-03T23:30"), night)  # 01:30 local
        assert into_send_window(_utc("2024-06-03T10:00"), night) == _utc("2024-06-03T20:00")

        whole_day = make_rule("day", timezone="Europe/Amsterdam",
                              send_window_start="00:00", send_window_end="24:00")
        assert in_send_window(_utc("2024-06-03T21:59"), whole_day)  # 23:59 local
        broken = make_rule("broken", send_window_start="nine", send_window_end="20")
        assert into_send_window(_utc("2024-06-03T03:00"), broken) == _utc("2024-06-03T06:00")

        # 02:30 does not exist on 31 March 2024 in Amsterdam: the opening falls to 03:30 CEST.
        gap = make_rule("gap", timezone="Europe/Amsterdam",
                        send_window_start="02:30", send_window_end="05:00")
        assert into_send_window(_utc("2024-03-30T23:00"), gap) == _utc("2024-03-31T01:30")
