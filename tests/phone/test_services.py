"""Phone interviews, the services: planning calls, spacing, calling hours, the maximum of calls,
the outcomes that end an invitation, the completed interview as a response, the fallback."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.distribution.dispatcher import INVITATION, claim_batch
from app.extensions import db
from app.models import (
    AuditLog,
    CallAttempt,
    CallOutcome,
    Complainant,
    Invitation,
    InvitationChannel,
    InvitationState,
    PhoneUse,
    Response,
    ResponseMode,
    User,
)
from app.phone import services as phone
from app.respond.services import AlreadyAnswered
from tests.support.factories import make_complaint, make_user
from tests.support.phone import next_tuesday, phone_invitation, phone_rule

HOUR = dt.timedelta(hours=1)


def _user(app: Flask, role: str = "designer") -> User:
    db.session.commit()  # make_user writes through a session of its own
    make_user(app, f"{role}@example.org", role)
    return db.session.scalar(select(User).where(User.email == f"{role}@example.org"))


def test_a_rule_that_calls_everyone_plans_calls_inside_the_calling_hours(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        saturday = next_tuesday() + dt.timedelta(days=4)
        invitation = phone_invitation(saturday)
        assert invitation.state == InvitationState.PLANNED
        assert invitation.channel == InvitationChannel.PHONE
        monday_ten = (saturday + dt.timedelta(days=2)).replace(hour=7)  # 10:00 in Istanbul
        assert invitation.due_at == monday_ten
        assert invitation.expires_at == monday_ten + dt.timedelta(days=14)
        # The dispatcher never claims it: people make the call.
        assert claim_batch(INVITATION, monday_ten + HOUR, monday_ten + 2 * HOUR, 10) == []


def test_phone_only_calls_those_without_an_e_mail_address(app: Flask) -> None:
    with app.app_context():
        phone_rule(PhoneUse.PHONE_ONLY)
        assert phone_invitation().channel == InvitationChannel.PHONE
        assert phone_invitation(email="ali@example.org").channel == InvitationChannel.EMAIL


def test_fallback_calls_people_with_only_a_phone_when_there_is_no_sms(app: Flask) -> None:
    with app.app_context():
        phone_rule(PhoneUse.FALLBACK)
        assert phone_invitation().channel == InvitationChannel.PHONE
        assert phone_invitation(email="ali@example.org").channel == InvitationChannel.EMAIL


def test_calls_are_spaced_and_end_after_the_last_failed_one(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        first = invitation.due_at
        phone.record_call(invitation, CallOutcome.NO_ANSWER, user, now=first)
        assert (invitation.attempts, invitation.due_at) == (1, first + 4 * HOUR)
        with pytest.raises(phone.CallRefused) as early:
            phone.record_call(invitation, CallOutcome.BUSY, user, now=first + HOUR)
        assert early.value.code == "not_due"
        # 14:00 + 4 h is 18:00 in Istanbul, the end of the hours: the next call is the next day.
        phone.record_call(invitation, CallOutcome.BUSY, user, now=first + 4 * HOUR)
        assert invitation.due_at == first.replace(hour=7) + dt.timedelta(days=1)  # 10:00
        phone.record_call(invitation, CallOutcome.NO_ANSWER, user, now=invitation.due_at)
        db.session.expire_all()
        stored = db.session.get(Invitation, invitation.id)
        assert (stored.state, stored.attempts) == (InvitationState.EXPIRED, 3)
        outcomes = db.session.scalars(select(CallAttempt.outcome).order_by(CallAttempt.id)).all()
        assert outcomes == [CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.NO_ANSWER]
        with pytest.raises(phone.CallRefused) as closed:
            phone.record_call(stored, CallOutcome.NO_ANSWER, user, now=stored.due_at)
        assert closed.value.code == "closed"


def test_no_call_outside_the_calling_hours(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        evening = invitation.due_at + 9 * HOUR  # 22:00 in Istanbul
        with pytest.raises(phone.CallRefused) as refused:
            phone.record_call(invitation, CallOutcome.NO_ANSWER, user, now=evening)
        assert refused.value.code == "outside_hours"
        [call] = phone.call_list(user, evening)
        assert not call.callable_now
        assert call.opens_at == invitation.due_at.replace(hour=7) + dt.timedelta(days=1)
        [call] = phone.call_list(user, invitation.due_at)
        assert call.callable_now and call.name is None and call.phone is None  # a designer


def test_a_call_back_sets_the_next_call_inside_the_hours(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        now = invitation.due_at
        with pytest.raises(phone.CallRefused) as refused:
            phone.record_call(invitation, CallOutcome.CALL_BACK, user, now=now,
                              call_back_at=now + 10 * HOUR)
        assert refused.value.code == "bad_call_back"
        phone.record_call(invitation, CallOutcome.CALL_BACK, user, now=now,
                          call_back_at=now + dt.timedelta(days=1, hours=2))
        assert invitation.due_at == now + dt.timedelta(days=1, hours=2)
        assert invitation.attempts == 0 and invitation.state == InvitationState.PLANNED


def test_refused_ends_the_invitation(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        phone.record_call(invitation, CallOutcome.REFUSED, user, now=invitation.due_at)
        db.session.expire_all()
        assert db.session.get(Invitation, invitation.id).state == InvitationState.CANCELLED
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "phone.refused"))
        assert audit.target == f"invitation:{invitation.id}"
        assert audit.actor == f"user:{user.id}"
        assert "+90" not in str(audit.detail)


def test_a_wrong_number_ends_it_and_is_never_called_again(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        other = make_complaint(email=None, phone="+90 532 111 22 33").complainant
        db.session.commit()
        phone.record_call(invitation, CallOutcome.WRONG_NUMBER, user, now=invitation.due_at)
        db.session.expire_all()
        assert db.session.get(Invitation, invitation.id).state == InvitationState.CANCELLED
        assert db.session.get(Complainant, other.id).phone_wrong_at is not None
        again = phone_invitation()
        assert again.state == InvitationState.SUPPRESSED  # no other way to reach this person


def test_a_completed_interview_is_the_one_phone_response(app: Flask) -> None:
    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        response = phone.complete_interview(invitation, {"overall": 4}, "tr", user,
                                            now=invitation.due_at)
        db.session.expire_all()
        stored = db.session.get(Response, response.id)
        assert (stored.mode, stored.interviewer_id) == (ResponseMode.PHONE, user.id)
        assert stored.invitation_id == invitation.id
        fresh = db.session.get(Invitation, invitation.id)
        assert fresh.state == InvitationState.RESPONDED
        with pytest.raises((phone.CallRefused, AlreadyAnswered)):
            phone.complete_interview(fresh, {"overall": 2}, "tr", user, now=fresh.due_at)
        assert db.session.scalar(select(func.count(Response.id))) == 1
        assert db.session.scalar(select(CallAttempt.outcome)) == CallOutcome.COMPLETED
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action == "phone.completed")) == 1


def test_an_unanswered_link_gets_a_call_when_the_rule_falls_back(app: Flask) -> None:
    with app.app_context():
        phone_rule(PhoneUse.FALLBACK)
        mailed = phone_invitation(email="ali@example.org")
        now = mailed.due_at + dt.timedelta(days=15)
        mailed.state, mailed.sent_at = InvitationState.EXPIRED, mailed.due_at
        mailed.expires_at = now - HOUR
        db.session.commit()
        assert phone.plan_phone_fallbacks(now) == 1
        assert phone.plan_phone_fallbacks(now) == 0  # once
        call = db.session.scalar(select(Invitation).where(
            Invitation.channel == InvitationChannel.PHONE))
        assert call.complaint_id == mailed.complaint_id and call.state == InvitationState.PLANNED
        assert call.due_at >= now


def test_a_call_planned_again_keeps_its_calls_and_the_calling_hours(app: Flask) -> None:
    """Re-planning a call by hand: the calls made so far still count towards the rule's
    maximum, and a time outside the calling hours needs the user's confirmation."""
    from app.distribution import manual

    with app.app_context():
        phone_rule()
        user = _user(app)
        invitation = phone_invitation()
        first = invitation.due_at  # a Tuesday, 13:00 in Istanbul
        phone.record_call(invitation, CallOutcome.NO_ANSWER, user, now=first)
        evening = first + 7 * HOUR  # 20:00 in Istanbul: after the calling hours
        with pytest.raises(manual.OutsideCallingHours) as refused:
            manual.replan(invitation, evening, "user:1", now=first)
        assert refused.value.next_opening == first.replace(hour=7) + dt.timedelta(days=1)
        db.session.expire_all()
        assert db.session.get(Invitation, invitation.id).due_at == first + 4 * HOUR
        morning = first.replace(hour=8) + dt.timedelta(days=1)  # 11:00 on Wednesday
        manual.replan(db.session.get(Invitation, invitation.id), morning, "user:1", now=first)
        db.session.expire_all()
        stored = db.session.get(Invitation, invitation.id)
        assert (stored.due_at, stored.attempts, stored.state) == (
            morning, 1, InvitationState.PLANNED)
