"""A survey without a complaint, over real parts: a service event (or a campaign's sample) is
planned, sent through a real SMTP server, answered through its link over HTTP; the response
speaks for a service user (or a campaign), and opting out works the same."""

from __future__ import annotations

import datetime as dt
import re

import requests
from flask import Flask
from sqlalchemy import select

from app.distribution.campaigns import close_due_campaigns, start_campaign
from app.distribution.dispatcher import dispatch_due
from app.distribution.planner import plan_for_service_event
from app.extensions import db
from app.models import (
    Complainant,
    Invitation,
    InvitationState,
    Response,
    ResponseMode,
    ResponseSource,
    RuleTrigger,
    ServiceEvent,
    SuppressionReason,
)
from app.respond.services import opt_out
from tests.support.campaigns import make_campaign, serve
from tests.support.distribution import DEFINITION, make_questionnaire, make_rule, smtp_config
from tests.support.factories import make_service_event
from tests.support.server import serve as serve_app
from tests.support.web import csrf_token_from

VISIT = {**DEFINITION, "title": {"tr": "Hizmetimiz nasıldı?", "en": "How was our service?"}}
LINK_RE = re.compile(r"(http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_-]{43})(?=[\s\"<])")


def _link(message) -> str:  # type: ignore[no-untyped-def]
    body = message.get_body(preferencelist=("plain",)).get_content()
    return LINK_RE.search(body).group(1)


def _answer(link: str, overall: str = "4") -> requests.Response:
    browser = requests.Session()
    page = browser.get(link)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_from(page.text), "overall": overall, "comment": ""}
    answered = browser.post(page.url, data=form, allow_redirects=False)
    assert answered.status_code in (302, 303), answered.text
    return page


def test_service_event_to_response(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app.config.update(smtp_config(smtp_server))
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        make_rule("visits", questionnaire=make_questionnaire(definition=VISIT),
                  triggered_by=RuleTrigger.SERVICE_EVENT, delay_minutes=0,
                  send_window_start="00:00", send_window_end="00:00")
        event = make_service_event(service="building-permit", unit="town-hall", language="en",
                                   email="mehmet@example.org",
                                   occurred_at=now - dt.timedelta(hours=1))
        invitation = plan_for_service_event(event)
        assert invitation.state == InvitationState.PLANNED
        db.session.commit()
        event_id, unit_id, service_id = event.id, event.unit_id, event.service_id
    with serve_app(app) as live:
        app.config["MEMNUN_BASE_URL"] = live.url
        with app.app_context():
            assert dispatch_due().sent == 1
        (message,) = smtp_server.messages
        assert message["To"] == "mehmet@example.org"
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert "You used our service Building-Permit on" in text
        assert "Your complaint" not in text and "has been resolved" not in text
        page = _answer(_link(message))
        assert "About our service Building-Permit on" in page.text
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.source == ResponseSource.SERVICE_USER
        assert response.mode == ResponseMode.EMAIL
        assert (response.service_event_id, response.unit_id, response.service_id) == (
            event_id, unit_id, service_id)
        assert response.complaint_id is None and response.category_id is None
        assert db.session.scalar(select(Invitation.state)) == InvitationState.RESPONDED


def test_a_campaign_invitation_answered_and_an_opt_out(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app.config.update(smtp_config(smtp_server))
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        campaign = make_campaign(margin_of_error=0.05, expected_response_rate=1.0,
                                 served_from=now - dt.timedelta(days=30),
                                 served_until=now - dt.timedelta(days=1),
                                 closes_at=now + dt.timedelta(days=20))
        serve(2, "north", day=1)
        db.session.query(ServiceEvent).update(
            {ServiceEvent.occurred_at: now - dt.timedelta(days=10)})
        db.session.commit()
        assert start_campaign(campaign, "admin", now) == 2
    with serve_app(app) as live:
        app.config["MEMNUN_BASE_URL"] = live.url
        with app.app_context():
            assert dispatch_due().sent == 2
        first, second = smtp_server.messages
        _answer(_link(first), overall="2")  # a low score: no follow-up, no complaint to call about
        opt_out = requests.Session()
        page = opt_out.get(_link(second) + "/opt-out")
        assert page.status_code == 200
        done = opt_out.post(page.url, data={"csrf_token": csrf_token_from(page.text)},
                            allow_redirects=False)
        assert done.status_code in (302, 303)
    with app.app_context():
        response = db.session.scalar(select(Response))
        assert response.source == ResponseSource.CAMPAIGN and response.complaint_id is None
        states = sorted(db.session.execute(
            select(Invitation.state, Invitation.suppression_reason)).all())
        assert (InvitationState.CANCELLED, SuppressionReason.OPTED_OUT) in states
        assert (InvitationState.RESPONDED, None) in states
        to = {m["To"] for m in smtp_server.messages}
        assert len(to) == 2
        sent_to_opted = second["To"]
        person = db.session.scalar(select(ServiceEvent).join(Invitation).where(
            Invitation.state == InvitationState.CANCELLED)).person
        assert person.email == sent_to_opted and person.opted_out_at is not None


# --- a campaign's reminder ----------------------------------------------------------------------

SENT_AT = dt.datetime(2024, 5, 20, 9, tzinfo=dt.UTC)  # 12:00 in Istanbul, inside the window
REMINDER_DUE = SENT_AT + dt.timedelta(days=3)  # the rules' default reminder


def _campaign_sent(count: int, closes_at: dt.datetime) -> list[Invitation]:
    """A running campaign of ``count`` people served in April 2024, everyone drawn, sent at
    ``SENT_AT``; their invitations, in id order."""
    campaign = make_campaign(margin_of_error=0.05, expected_response_rate=1.0,
                             closes_at=closes_at)
    serve(count, "north")
    db.session.commit()
    assert start_campaign(campaign, "admin", SENT_AT) == count
    assert dispatch_due(now=SENT_AT).sent == count
    return list(db.session.scalars(select(Invitation).order_by(Invitation.id)))


def test_a_campaign_invitation_gets_one_reminder_unless_the_person_opted_out(
        app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app.config.update(smtp_config(smtp_server))
    with app.app_context():
        silent, opted, opted_elsewhere = _campaign_sent(3, dt.datetime(2024, 7, 1, tzinfo=dt.UTC))
        assert {row.reminder_due_at for row in (silent, opted, opted_elsewhere)} == {
            REMINDER_DUE}
        silent_id, silent_to = silent.id, silent.person.email
        opt_out(opted)  # through the survey's own opt-out
        # ... and the third opted out later under another record with the same address.
        db.session.add(Complainant(name="Same person", email=opted_elsewhere.person.email,
                                   language="tr", survey_consent=True,
                                   opted_out_at=SENT_AT + dt.timedelta(days=1)))
        db.session.commit()

        assert dispatch_due(now=REMINDER_DUE - dt.timedelta(minutes=1)).reminded == 0
        result = dispatch_due(now=REMINDER_DUE + dt.timedelta(minutes=1))
        assert (result.reminded, result.cancelled) == (1, 1)
        states = dict(db.session.execute(select(Invitation.id, Invitation.state)).all())
        assert states[silent_id] == InvitationState.REMINDED
        assert sorted(states.values()) == sorted(
            [InvitationState.REMINDED, InvitationState.CANCELLED, InvitationState.CANCELLED])
        assert dispatch_due(now=REMINDER_DUE + dt.timedelta(days=2)).total == 0  # only one
    reminders = [m for m in smtp_server.messages if m["X-Memnun-Kind"] == "reminder"]
    assert [(m["To"], int(m["X-Memnun-Invitation"])) for m in reminders] == [
        (silent_to, silent_id)]
    original = next(m for m in smtp_server.messages if m["X-Memnun-Kind"] == "invitation"
                    and int(m["X-Memnun-Invitation"]) == silent_id)
    assert reminders[0]["In-Reply-To"] == original["Message-ID"]


def test_no_campaign_reminder_planned_past_the_campaign_close(app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app.config.update(smtp_config(smtp_server))
    with app.app_context():
        # Closing before the reminder would fall due: none is planned.
        (early,) = _campaign_sent(1, SENT_AT + dt.timedelta(days=2))
        assert early.reminder_due_at is None and early.expires_at == SENT_AT + dt.timedelta(
            days=2)


def test_a_due_campaign_reminder_is_dropped_when_its_campaign_has_closed(
        app: Flask, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app.config.update(smtp_config(smtp_server))
    closes_at = REMINDER_DUE + dt.timedelta(minutes=30)
    with app.app_context():
        (invitation,) = _campaign_sent(1, closes_at)
        assert invitation.reminder_due_at == REMINDER_DUE
        invitation_id = invitation.id
        # The reminder was held back (outside the window, a stopped scheduler) until the
        # closing date had passed, before the closing job ran.
        assert dispatch_due(now=closes_at + dt.timedelta(minutes=1)).reminded == 0
        assert db.session.get(Invitation, invitation_id).reminder_due_at is None
        assert close_due_campaigns(closes_at + dt.timedelta(minutes=2)) == 1
        assert db.session.get(Invitation, invitation_id).state == InvitationState.EXPIRED
    assert [m["X-Memnun-Kind"] for m in smtp_server.messages] == ["invitation"]
