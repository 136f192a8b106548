"""Webhooks against a real HTTP receiver on 127.0.0.1: signing, retries with backoff, giving up,
the admin page, and a respondent who never waits for a receiver."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DeliveryState, Invitation, InvitationState, Webhook, WebhookDelivery
from app.models.types import utcnow
from app.respond.services import submit_response
from app.scheduler import DISPATCH, WEBHOOKS, run_job
from app.webhooks import (
    LOW_SCORE,
    RESPONSE_CREATED,
    deliver_due_webhooks,
    enqueue_webhook,
    sign,
)
from app.webhooks.delivery import NO_ANSWER
from app.webhooks.services import register_webhook
from tests.support.api import TURKISH_NAME
from tests.support.datasets.survey import SurveyData, utc
from tests.support.factories import make_user
from tests.support.server import free_port
from tests.support.web import csrf_token_from, login

SECRET = "çok-gizli-bir-anahtar-0123456789"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server that answers with the statuses in ``script`` (then 200)."""

    url: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            state.received.append(Received(dict(self.headers.items()), self.rfile.read(length)))
            time.sleep(state.delay)
            status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            if status in (301, 302, 307, 308):
                self.send_header("Location", state.url + "elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/memnun"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join(timeout=5)


def make_invitation(app, unit: str = "fen") -> int:  # type: ignore[no-untyped-def]
    """A sent invitation for a fresh complaint, answerable now; returns its id."""
    with app.app_context():
        data = SurveyData()
        complaint = data.complaint(unit, utc(2026, 1, 5))
        complaint.complainant = None
        invitation = data.invitation(complaint, sent=utcnow() - dt.timedelta(hours=1))
        data.commit()
        return invitation.id


def answer(app, invitation_id: int) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        response = submit_response(invitation, {"overall": 2, "resolved": "no"}, "tr")
        return response.id


def add_webhook(app, url: str, events: list[str] | None = None) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        webhook, _ = register_webhook(url, events or [RESPONSE_CREATED], SECRET, "test")
        return webhook.id


def deliveries(app) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        db.session.expunge_all()
        return list(rows)


def check_signature(received: Received) -> dict[str, Any]:
    """The receiver's side: recompute the HMAC from the secret; the parsed body."""
    timestamp = received.headers["X-Memnun-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + received.body,
                        hashlib.sha256).hexdigest()
    assert received.headers["X-Memnun-Signature"] == f"sha256={expected}"
    assert abs(int(timestamp) - time.time()) < 60
    assert received.headers["Content-Type"].startswith("application/json")
    return json.loads(received.body.decode("utf-8"))


def test_a_response_is_posted_signed_retried_after_a_failure_then_delivered(
    app, receiver
) -> None:
    add_webhook(app, receiver.url)
    receiver.script = [500]
    invitation_id = make_invitation(app)
    response_id = answer(app, invitation_id)
    # Storing the response only queued the event: nothing was sent yet.
    assert receiver.received == []
    [queued] = deliveries(app)
    assert (queued.state, queued.attempts, queued.event_type) == (DeliveryState.PENDING, 0,
                                                                  RESPONSE_CREATED)

    now = utcnow()
    with app.app_context():
        first = deliver_due_webhooks(now=now)
    assert (first.delivered, first.retried) == (0, 1)
    [after_failure] = deliveries(app)
    assert (after_failure.attempts, after_failure.last_status) == (1, 500)
    assert "500" in after_failure.last_error
    assert after_failure.next_attempt_at == now + dt.timedelta(minutes=1)
    with app.app_context():  # not due again before its backoff ran out
        assert deliver_due_webhooks(now=now + dt.timedelta(seconds=59)).retried == 0
    assert len(receiver.received) == 1

    with app.app_context():
        second = deliver_due_webhooks(now=now + dt.timedelta(seconds=61))
    assert second.delivered == 1
    [delivered] = deliveries(app)
    assert (delivered.state, delivered.attempts, delivered.last_status) == (
        DeliveryState.DELIVERED, 2, 200)
    assert delivered.last_error is None and delivered.delivered_at is not None

    assert len(receiver.received) == 2
    bodies = [check_signature(item) for item in receiver.received]
    assert bodies[0] == bodies[1]  # the same event, the same id, on every try
    ids = {item.headers["X-Memnun-Delivery"] for item in receiver.received}
    assert ids == {bodies[0]["id"]}
    assert {item.headers["X-Memnun-Event"] for item in receiver.received} == {RESPONSE_CREATED}
    event = bodies[0]
    assert event["type"] == RESPONSE_CREATED
    data = event["data"]
    assert data["id"] == response_id and data["unit"] == "fen" and data["category"] == "cop"
    assert {a["question"]: a["value"] for a in data["answers"]} == {"overall": 2,
                                                                   "resolved": "no"}
    assert "complainant" not in data

    with app.app_context():  # delivered: never sent again
        assert deliver_due_webhooks(now=now + dt.timedelta(hours=1)).delivered == 0
    assert len(receiver.received) == 2


def test_a_tampered_body_does_not_match_the_signature() -> None:
    body = json.dumps({"type": RESPONSE_CREATED, "data": {"overall": 5}}).encode()
    signature = sign(SECRET, 1767225600, body)
    assert signature == sign(SECRET, 1767225600, body)
    assert signature != sign(SECRET, 1767225600, body.replace(b"5", b"1"))
    assert signature != sign(SECRET, 1767225601, body)  # the time is signed too
    assert signature != sign(SECRET + "x", 1767225600, body)


def test_backoff_doubles_and_the_delivery_fails_after_the_last_attempt(make_app, receiver) -> None:
    app = make_app(MEMNUN_WEBHOOK_MAX_ATTEMPTS=4, MEMNUN_WEBHOOK_ALLOWED_PRIVATE_HOSTS="127.0.0.1")
    add_webhook(app, receiver.url)
    receiver.script = [503] * 10
    answer(app, make_invitation(app))
    moment = utcnow()
    gaps = []
    for _ in range(4):
        with app.app_context():
            deliver_due_webhooks(now=moment)
        [row] = deliveries(app)
        if row.state == DeliveryState.PENDING:
            gaps.append(row.next_attempt_at - moment)
            moment = row.next_attempt_at
    assert gaps == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)]
    [row] = deliveries(app)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.FAILED, 4, 503)
    with app.app_context():
        assert deliver_due_webhooks(now=moment + dt.timedelta(days=1)).failed == 0
    assert len(receiver.received) == 4


def test_an_unreachable_receiver_is_retried_and_holds_up_nothing_else(app, receiver) -> None:
    dead = add_webhook(app, f"http://127.0.0.1:{free_port()}/nobody-listens")
    add_webhook(app, receiver.url)
    for _ in range(3):
        answer(app, make_invitation(app))
    with app.app_context():
        result = deliver_due_webhooks()
    # The live receiver got all three; the dead one was tried once and its other two deferred.
    assert (result.delivered, result.retried, result.deferred) == (3, 1, 2)
    assert len(receiver.received) == 3
    failed = [row for row in deliveries(app) if row.webhook_id == dead and row.attempts]
    assert len(failed) == 1 and failed[0].last_status is None
    # One text for every way of not answering: the admin page is no port scanner.
    assert failed[0].last_error == NO_ANSWER


def test_redirects_are_not_followed(app, receiver) -> None:
    add_webhook(app, receiver.url)
    receiver.script = [302]
    answer(app, make_invitation(app))
    with app.app_context():
        assert deliver_due_webhooks().retried == 1
    [row] = deliveries(app)
    assert row.last_status == 302 and len(receiver.received) == 1


def test_the_respondent_never_waits_for_a_receiver(app, receiver) -> None:
    add_webhook(app, receiver.url)
    receiver.delay = 3.0  # a slow receiver
    invitation_id = make_invitation(app)
    started = time.monotonic()
    answer(app, invitation_id)
    assert time.monotonic() - started < 2.0
    assert receiver.received == [] and len(deliveries(app)) == 1


def test_only_active_subscribers_get_an_event(app, receiver) -> None:
    add_webhook(app, receiver.url, [LOW_SCORE])
    inactive = add_webhook(app, receiver.url)
    with app.app_context():
        db.session.get(Webhook, inactive).active = False
        db.session.commit()
        assert enqueue_webhook(RESPONSE_CREATED, {"x": 1}) == 0
        assert enqueue_webhook(LOW_SCORE, {"score": 1, "text": TURKISH_NAME}) == 1
        with pytest.raises(ValueError):
            enqueue_webhook("complaint.exploded", {})
        assert deliver_due_webhooks().delivered == 1
    [received] = receiver.received
    event = check_signature(received)
    assert event["type"] == LOW_SCORE and event["data"] == {"score": 1, "text": TURKISH_NAME}


def test_the_scheduler_and_the_dispatch_command_deliver_webhooks(app, receiver) -> None:
    add_webhook(app, receiver.url)
    answer(app, make_invitation(app))
    for job in (DISPATCH, WEBHOOKS):  # the jobs of one scheduler tick
        run_job(job, None, app)
    assert len(receiver.received) == 1
    answer(app, make_invitation(app))
    result = app.test_cli_runner().invoke(args=["dispatch"])
    assert result.exit_code == 0, result.output
    assert "webhooks: delivered 1" in result.output
    assert len(receiver.received) == 2


# --- the admin page ------------------------------------------------------------------------------


def test_admin_registers_sees_the_secret_once_and_deletes(app, admin_client, receiver) -> None:
    page = admin_client.get("/admin/webhooks")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    created = admin_client.post("/admin/webhooks", data={
        "csrf_token": token, "url": receiver.url, "secret": "", "events": [RESPONSE_CREATED]})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    with app.app_context():
        webhook = db.session.scalar(select(Webhook))
        secret = webhook.secret
        assert webhook.url == receiver.url and webhook.events == [RESPONSE_CREATED]
        assert webhook.created_by == "user:admin@example.org"
    assert len(secret) >= 32 and secret in created.get_data(as_text=True)
    listing = admin_client.get("/admin/webhooks").get_data(as_text=True)
    assert receiver.url in listing and secret not in listing

    # A failing delivery shows on the page with its error, then the webhook is deleted.
    receiver.script = [500]
    answer(app, make_invitation(app))
    with app.app_context():
        deliver_due_webhooks()
    assert "HTTP 500" in admin_client.get("/admin/webhooks").get_data(as_text=True)
    refused = admin_client.post(f"/admin/webhooks/{webhook.id}/delete", data={})
    assert refused.status_code == 400  # no CSRF token
    deleted = admin_client.post(f"/admin/webhooks/{webhook.id}/delete",
                                data={"csrf_token": token})
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Webhook)) == 0
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


@pytest.mark.parametrize(
    ("url", "secret", "events"),
    [
        ("ftp://example.org/x", "", [RESPONSE_CREATED]),
        ("file:///etc/passwd", "", [RESPONSE_CREATED]),
        ("http://", "", [RESPONSE_CREATED]),
        ("https://example.org/x", "short", [RESPONSE_CREATED]),
        ("https://example.org/x", "", []),
        ("https://example.org/x", "", ["complaint.exploded"]),
    ],
)
def test_the_admin_page_refuses_bad_webhooks(app, admin_client, url, secret, events) -> None:
    token = csrf_token_from(admin_client.get("/admin/webhooks").get_data(as_text=True))
    response = admin_client.post("/admin/webhooks", data={
        "csrf_token": token, "url": url, "secret": secret, "events": events})
    assert response.status_code == 200
    assert 'class="error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Webhook)) == 0


def test_only_admins_reach_the_integration_pages(app, client) -> None:
    password = make_user(app, "viewer@example.org", role="viewer")
    login(client, "viewer@example.org", password)
    for path in ("/admin/integration", "/admin/webhooks", "/admin/api-keys", "/admin/import"):
        assert client.get(path).status_code == 403, path


def test_the_invitation_state_after_an_answer(app, receiver) -> None:
    """The webhook is fired by a real submission: the invitation is responded."""
    add_webhook(app, receiver.url)
    invitation_id = make_invitation(app)
    answer(app, invitation_id)
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).state == InvitationState.RESPONDED


@pytest.mark.parametrize("url", ["https://example.org/\x00hook", "https://example.org/\x1bhook"])
def test_a_webhook_url_with_nul_is_refused_with_a_message(app, admin_client, url: str) -> None:
    # PostgreSQL refuses NUL in text (a 500 when stored); refused at the form, nothing stored.
    token = csrf_token_from(admin_client.get("/admin/webhooks").get_data(as_text=True))
    sent = admin_client.post("/admin/webhooks", headers={"Accept-Language": "en"}, data={
        "csrf_token": token, "url": url, "secret": "", "events": [RESPONSE_CREATED]})
    assert sent.status_code < 500
    assert "control characters" in sent.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Webhook.id))) == 0
