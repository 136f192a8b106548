"""SMS, the second channel, against a real HTTP gateway on 127.0.0.1 (http.server in a thread):
planning, the message, credentials, retries, failures, a gateway that is down, and opt-outs."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask

from app.distribution.dispatcher import dispatch_due
from app.distribution.planner import plan_for_resolution
from app.distribution.sms import fill_template, scrub_sms
from app.distribution.tokens import find_invitation
from app.extensions import db
from app.models import Complainant, InvitationChannel, InvitationState, SuppressionReason
from tests.support.distribution import fetch, make_rule, planned_invitation, smtp_config
from tests.support.factories import make_complaint
from tests.support.server import free_port
from tests.support.sms import Gateway

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=UTC)  # 13:00 in Istanbul, inside the window
PHONE = "+90 532 123 45 67"
LINK_RE = re.compile(r"http://memnun\.test/s/([A-Za-z0-9_-]{43})(?=\s|$)")


def sms_config(gateway: Gateway, **extra: Any) -> dict[str, Any]:
    return {
        "MEMNUN_SMS_GATEWAY_URL": gateway.url,
        "MEMNUN_SMS_GATEWAY_TOKEN": "gw-token-123",
        "MEMNUN_SMS_GATEWAY_TIMEOUT": 2,
        "MEMNUN_ORGANISATION_NAME": "Kadıköy Belediyesi",
        **extra,
    }


def sms_invitation(app: Flask, **fields: Any) -> int:
    fields.setdefault("phone", PHONE)
    fields.setdefault("email", None)
    return planned_invitation(app, NOW, channel=InvitationChannel.SMS, **fields)


# --- planning ------------------------------------------------------------------------------------


def test_no_email_but_a_phone_plans_an_sms_when_a_gateway_is_configured(
    make_app: Any, gateway: Gateway
) -> None:
    app = make_app(**sms_config(gateway))
    with app.app_context():
        make_rule()
        invitation = plan_for_resolution(make_complaint(email=None, phone=PHONE), now=NOW)
        assert invitation.state == InvitationState.PLANNED
        assert invitation.channel == InvitationChannel.SMS
        # Someone with an e-mail address still gets e-mail.
        other = plan_for_resolution(
            make_complaint(email="john@example.org", phone="+90 555 000 00 00"), now=NOW
        )
        assert (other.state, other.channel) == (InvitationState.PLANNED, InvitationChannel.EMAIL)


def test_without_a_gateway_a_phone_alone_is_no_contact(app: Flask) -> None:
    with app.app_context():
        make_rule()
        invitation = plan_for_resolution(make_complaint(email=None, phone=PHONE), now=NOW)
        assert invitation.state == InvitationState.SUPPRESSED
        assert invitation.suppression_reason == SuppressionReason.NO_CONTACT


def test_sms_fatigue_and_opt_out_go_by_phone_number(make_app: Any, gateway: Gateway) -> None:
    app = make_app(**sms_config(gateway))
    with app.app_context():
        make_rule()
        first = plan_for_resolution(make_complaint(email=None, phone=PHONE), now=NOW)
        second = plan_for_resolution(make_complaint(email=None, phone=PHONE), now=NOW)
        assert first.state == InvitationState.PLANNED
        assert second.suppression_reason == SuppressionReason.FATIGUE
        db.session.add(Complainant(phone="+90 555 111 22 33", opted_out_at=NOW))
        third = plan_for_resolution(
            make_complaint(email=None, phone="+90 555 111 22 33"), now=NOW
        )
        assert third.suppression_reason == SuppressionReason.OPTED_OUT


# --- sending -------------------------------------------------------------------------------------


def test_an_sms_goes_to_the_gateway_with_a_short_link_and_the_bearer_token(
    make_app: Any, gateway: Gateway
) -> None:
    app = make_app(**sms_config(gateway))
    with app.app_context():
        invitation_id = sms_invitation(app, external_id="CMP-SMS-1")
        result = dispatch_due(now=NOW)
        assert result.sent == 1
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.SENT, 1)
        assert invitation.reminder_due_at == NOW + dt.timedelta(days=3)
    [request] = gateway.requests
    assert request["path"] == "/v1/messages?account=memnun"
    assert request["headers"]["Authorization"] == "Bearer gw-token-123"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["json"]
    assert body["to"] == PHONE
    assert body["reference"] == f"memnun.invitation.{invitation_id}@memnun.test"
    assert request["headers"]["Idempotency-Key"] == body["reference"]
    assert "Kadıköy Belediyesi" in body["body"] and "CMP-SMS-1" in body["body"]
    token = LINK_RE.search(body["body"]).group(1)
    with app.app_context():
        assert find_invitation(token).id == invitation_id  # the short link opens this survey


def test_basic_auth_and_the_configured_body_template(make_app: Any, gateway: Gateway) -> None:
    app = make_app(**sms_config(
        gateway, MEMNUN_SMS_GATEWAY_TOKEN=None, MEMNUN_SMS_GATEWAY_USER="memnun",
        MEMNUN_SMS_GATEWAY_PASSWORD="s3cret",
        MEMNUN_SMS_BODY_TEMPLATE="{organisation} {reference} {link} {0} {unknown} {link.__class__}",
    ))
    with app.app_context():
        sms_invitation(app, external_id="CMP-7")
        assert dispatch_due(now=NOW).sent == 1
    [request] = gateway.requests
    expected = base64.b64encode(b"memnun:s3cret").decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    body = request["json"]["body"]
    assert body.startswith("Kadıköy Belediyesi CMP-7 http://memnun.test/s/")
    # Only the three placeholders are filled; nothing else is evaluated.
    assert body.endswith(" {0} {unknown} {link.__class__}")
    assert fill_template("{link}{link}", {"link": "x"}) == "xx"


def test_the_default_body_is_in_the_complainants_language(make_app: Any, gateway: Gateway
                                                          ) -> None:
    app = make_app(**sms_config(gateway))
    with app.app_context():
        sms_invitation(app, language="en")
        dispatch_due(now=NOW)
    body = gateway.requests[0]["json"]["body"]
    assert "how did we handle your complaint" in body


def test_a_server_error_is_retried_with_the_same_reference(make_app: Any, gateway: Gateway
                                                           ) -> None:
    app = make_app(**sms_config(gateway))
    gateway.statuses = [(503, '{"error": "busy"}')]
    with app.app_context():
        invitation_id = sms_invitation(app)
        result = dispatch_due(now=NOW)
        assert (result.sent, result.retried) == (0, 1)
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.PLANNED, 1)
        assert invitation.last_error.startswith("HTTP 503")
        assert invitation.due_at == NOW + dt.timedelta(minutes=1)
        assert dispatch_due(now=NOW + dt.timedelta(minutes=1)).sent == 1
        assert fetch(invitation_id).state == InvitationState.SENT
    first, second = gateway.requests
    assert first["json"] == second["json"]  # same text, same link, same reference


def test_a_refused_message_fails_for_good_without_keeping_the_number(
    make_app: Any, gateway: Gateway
) -> None:
    app = make_app(**sms_config(gateway))
    gateway.statuses = [(400, '{"error": "invalid number +90 532 123 45 67"}')]
    with app.app_context():
        invitation_id = sms_invitation(app)
        result = dispatch_due(now=NOW)
        assert (result.failed, result.retried) == (1, 0)
        invitation = fetch(invitation_id)
        assert invitation.state == InvitationState.FAILED
        assert invitation.last_error.startswith("HTTP 400")
        assert "invalid number" in invitation.last_error
        assert "532" not in invitation.last_error
        assert dispatch_due(now=NOW + dt.timedelta(days=1)).total == 0
    assert len(gateway.requests) == 1
    assert scrub_sms("call 0532 123 45 67 or a@b.org") == "call <number> or <address>"


def test_a_gateway_that_times_out_counts_as_a_temporary_failure(make_app: Any, gateway: Gateway
                                                                ) -> None:
    app = make_app(**sms_config(gateway, MEMNUN_SMS_GATEWAY_TIMEOUT=1))
    gateway.delay = 1.5
    with app.app_context():
        invitation_id = sms_invitation(app)
        result = dispatch_due(now=NOW)
        assert (result.sent, result.retried, result.failed) == (0, 1, 0)
        invitation = fetch(invitation_id)
        assert (invitation.state, invitation.attempts) == (InvitationState.PLANNED, 1)
        assert "timed out" in invitation.last_error


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_wait_and_count_no_attempt(make_app: Any, gateway: Gateway,
                                                       status: int) -> None:
    app = make_app(**sms_config(gateway))
    gateway.statuses = [(status, "{}")] * 3
    with app.app_context():
        ids = [sms_invitation(app, phone=f"+90 555 000 00 0{i}") for i in range(3)]
        result = dispatch_due(now=NOW)
        assert (result.sent, result.failed, result.retried) == (0, 0, 1)
        rows = [fetch(i) for i in ids]
        assert {(r.state, r.attempts, r.claimed_until) for r in rows} == {
            (InvitationState.PLANNED, 0, None)}
        assert "credentials" in rows[0].last_error
    assert len(gateway.requests) == 1  # the channel waits after the first refusal


def test_a_gateway_that_is_down_holds_sms_while_email_goes_on(make_app: Any, gateway: Gateway,
                                                              smtp_server: Any) -> None:
    down_url = f"http://127.0.0.1:{free_port()}/sms"
    app = make_app(**sms_config(gateway, MEMNUN_SMS_GATEWAY_URL=down_url),
                   **smtp_config(smtp_server))
    with app.app_context():
        texts = [sms_invitation(app, phone=f"+90 555 000 00 0{i}") for i in range(2)]
        mail = planned_invitation(app, NOW, email="john@example.org")
        result = dispatch_due(now=NOW)
        assert (result.sent, result.retried, result.failed) == (1, 1, 0)
        assert fetch(mail).state == InvitationState.SENT
        assert {(fetch(i).state, fetch(i).attempts) for i in texts} == {
            (InvitationState.PLANNED, 0)}
        assert "unavailable" in fetch(texts[0]).last_error

        app.config["MEMNUN_SMS_GATEWAY_URL"] = gateway.url  # the gateway is back
        assert dispatch_due(now=NOW + dt.timedelta(minutes=1)).sent == 2
    assert len(smtp_server.messages) == 1
    assert sorted(r["json"]["to"] for r in gateway.requests) == [
        "+90 555 000 00 00", "+90 555 000 00 01"]


def test_an_sms_to_a_number_that_opted_out_is_cancelled(make_app: Any, gateway: Gateway) -> None:
    app = make_app(**sms_config(gateway))
    with app.app_context():
        invitation_id = sms_invitation(app)
        db.session.add(Complainant(phone=PHONE, opted_out_at=NOW))
        db.session.commit()
        assert dispatch_due(now=NOW).cancelled == 1
        invitation = fetch(invitation_id)
        assert invitation.state == InvitationState.CANCELLED
        assert invitation.suppression_reason == SuppressionReason.OPTED_OUT
    assert gateway.requests == []


def test_one_sms_reminder_for_those_who_have_not_answered(make_app: Any, gateway: Gateway
                                                         ) -> None:
    app = make_app(**sms_config(gateway))
    with app.app_context():
        invitation_id = sms_invitation(app)
        dispatch_due(now=NOW)
        assert dispatch_due(now=NOW + dt.timedelta(days=3)).reminded == 1
        assert fetch(invitation_id).state == InvitationState.REMINDED
        assert dispatch_due(now=NOW + dt.timedelta(days=4)).reminded == 0
    first, reminder = gateway.requests
    assert reminder["json"]["reference"] == f"memnun.reminder.{invitation_id}@memnun.test"
    # The same text, marked as a reminder (the words depend on the translations).
    assert first["json"]["body"] in reminder["json"]["body"]
    assert len(reminder["json"]["body"]) > len(first["json"]["body"])
    assert LINK_RE.search(reminder["json"]["body"]).group(1) == LINK_RE.search(
        first["json"]["body"]).group(1)
