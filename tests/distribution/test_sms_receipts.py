"""SMS delivery receipts over real HTTP: invitations go to a real gateway (http.server), its
delivery reports come back, signed, to the app served on a real port; each is counted once,
however often it arrives, and bad requests are refused with a 4xx that says why, storing nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from sqlalchemy import func, select

from app.distribution.dispatcher import dispatch_due
from app.distribution.receipts import signature_for
from app.extensions import db
from app.models import AuditLog, InvitationChannel, InvitationState, MessageDelivery
from tests.support.distribution import fetch, planned_invitation
from tests.support.server import serve
from tests.support.sms import Gateway

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)
SECRET = "receipt-secret-for-tests"


def _post(url: str, payload: Any, secret: str = SECRET, **headers: str) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(f"{url}/callbacks/sms/delivery", data=body, timeout=10, headers={
        "Content-Type": "application/json", "X-Memnun-Signature": signature_for(secret, body),
        **headers})


def _reference(invitation_id: int, kind: str = "invitation") -> str:
    return f"memnun.{kind}.{invitation_id}@memnun.test"


def _audits() -> list[tuple[str, str]]:
    return [(entry.action, entry.target) for entry in db.session.scalars(
        select(AuditLog).where(AuditLog.actor == "sms-gateway").order_by(AuditLog.id))]


def test_delivery_reports_are_taken_once_and_bad_ones_refused(make_app: Any, gateway: Gateway
                                                              ) -> None:
    app = make_app(MEMNUN_SMS_GATEWAY_URL=gateway.url, MEMNUN_SMS_RECEIPT_SECRET=SECRET)
    with app.app_context():
        ids = [planned_invitation(app, NOW, channel=InvitationChannel.SMS, email=None,
                                  phone=f"+90 532 123 45 6{number}") for number in range(3)]
        assert dispatch_due(now=NOW).sent == 3
    delivered, failed, interim = ids
    references = {request["json"]["reference"] for request in gateway.requests}
    assert references == {_reference(i) for i in ids}

    with serve(app) as live:
        # Refused, and nothing stored: no signature, a wrong one, a body that is not JSON, a
        # reference that is not ours, an unknown status (a batch with one bad report is
        # refused whole).
        good = {"reference": _reference(delivered), "status": "delivered"}
        body = json.dumps(good).encode()
        unsigned = requests.post(f"{live.url}/callbacks/sms/delivery", data=body, timeout=10,
                                 headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401 and "X-Memnun-Signature" in unsigned.json()["error"]
        assert _post(live.url, good, secret="guessed").status_code == 401
        not_json = requests.post(f"{live.url}/callbacks/sms/delivery", data=b"{oops", timeout=10,
                                 headers={"Content-Type": "application/json",
                                          "X-Memnun-Signature": signature_for(SECRET, b"{oops")})
        assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
        foreign = _post(live.url, [good, {"reference": "memnun.invitation.1@elsewhere.example",
                                          "status": "delivered"}])
        assert foreign.status_code == 422 and "report 2" in foreign.json()["error"]
        odd = _post(live.url, {"reference": _reference(failed), "status": "maybe"})
        assert odd.status_code == 422 and "unknown 'status'" in odd.json()["error"]
        assert _post(live.url, {"reference": 7}).status_code == 422
        with app.app_context():
            assert [fetch(i).delivery for i in ids] == [None, None, None]
            assert _audits() == []

        # The reports: one delivered, one failed, one still under way, and a reminder's.
        answer = _post(live.url, [
            good,
            {"reference": _reference(failed), "status": "UNDELIV", "error": "EC_ABSENT"},
            {"reference": _reference(interim), "status": "enroute"},
            {"reference": _reference(delivered, "reminder"), "status": "delivered"},
        ])
        assert answer.status_code == 200
        assert answer.json() == {"recorded": 2, "unchanged": 2}
        # The gateway sends them again, and a contradicting late report: counted once.
        again = _post(live.url, [good, {"reference": _reference(failed), "status": "failed"},
                                 {"reference": _reference(delivered), "status": "failed"}])
        assert again.status_code == 200 and again.json() == {"recorded": 0, "unchanged": 3}

    with app.app_context():
        first, second, third = (fetch(i) for i in ids)
        assert (first.delivery, first.state) == (MessageDelivery.DELIVERED, InvitationState.SENT)
        assert first.delivery_reported_at is not None
        assert (second.delivery, second.state) == (MessageDelivery.FAILED, InvitationState.FAILED)
        assert second.last_error == "SMS not delivered: EC_ABSENT"
        assert second.reminder_due_at is None  # no reminder to a phone the SMS did not reach
        assert (third.delivery, third.state) == (None, InvitationState.SENT)
        assert _audits() == [("sms_delivered", f"invitation:{delivered}"),
                             ("sms_failed", f"invitation:{failed}")]
        assert db.session.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.actor == "sms-gateway")) == 2


def test_without_a_secret_no_report_is_taken(make_app: Any) -> None:
    app = make_app()
    with serve(app) as live:
        answer = _post(live.url, {"reference": _reference(1), "status": "delivered"})
    assert answer.status_code == 404 and "MEMNUN_SMS_RECEIPT_SECRET" in answer.json()["error"]
