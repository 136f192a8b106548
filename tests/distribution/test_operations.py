"""The operations page: invitations by state, suppression reasons, failures (without personal
data), and retrying failed invitations one by one or all at once."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.distribution.dispatcher import dispatch_due
from app.extensions import db
from app.models import AuditLog, Invitation, InvitationState, SuppressionReason
from app.models.types import utcnow
from tests.support.datasets.delivered import build_delivered
from tests.support.distribution import fetch, in_english, planned_invitation, smtp_config
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=UTC)


def _failed(app: Flask, email: str, error: str, attempts: int = 8) -> int:
    invitation_id = planned_invitation(app, NOW, email=email)
    db.session.execute(update(Invitation).where(Invitation.id == invitation_id).values(
        state=InvitationState.FAILED, attempts=attempts, last_error=error))
    db.session.commit()
    return invitation_id


def _outbox(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        first = _failed(app, "ayse@example.org", "550 5.1.1 <address>: mailbox unavailable")
        second = _failed(app, "john@example.org", "452 4.2.2 mailbox full")
        suppressed = planned_invitation(app, NOW, email="x@example.org")
        db.session.execute(update(Invitation).where(Invitation.id == suppressed).values(
            state=InvitationState.SUPPRESSED, suppression_reason=SuppressionReason.FATIGUE))
        planned_invitation(app, NOW, email="y@example.org")
        db.session.commit()
    return first, second, suppressed


def test_the_page_counts_states_reasons_and_lists_failures_without_personal_data(
    app: Flask, admin_client: FlaskClient
) -> None:
    first, second, _ = _outbox(app)
    in_english(admin_client)
    page = admin_client.get("/admin/operations").get_data(as_text=True)
    counts = dict(re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', page))
    assert (counts["failed"], counts["planned"], counts["suppressed"], counts["sent"]) == (
        "2", "1", "1", "0")
    assert counts["surveyed recently (fatigue window)"] == "1"
    assert counts["E-mail"] == "4"
    assert "mailbox unavailable" in page and "mailbox full" in page
    assert f'name="invitation" value="{first}"' in page
    assert f'name="invitation" value="{second}"' in page
    for personal in ("ayse@example.org", "john@example.org", "Ayşe"):  # no personal data
        assert personal not in page


def test_retry_one_then_all(app: Flask, admin_client: FlaskClient) -> None:
    first, second, suppressed = _outbox(app)
    in_english(admin_client)
    token = csrf_token_from(admin_client.get("/admin/operations").get_data(as_text=True))
    response = admin_client.post("/admin/operations/retry",
                                 data={"invitation": str(first), "csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        retried = fetch(first)
        assert (retried.state, retried.attempts, retried.claimed_until) == (
            InvitationState.PLANNED, 0, None)
        assert retried.due_at > NOW  # due again now, inside the rule's send window
        assert fetch(second).state == InvitationState.FAILED  # only the one asked for
    admin_client.post("/admin/operations/retry", data={"csrf_token": token})
    with app.app_context():
        assert fetch(second).state == InvitationState.PLANNED
        assert fetch(suppressed).state == InvitationState.SUPPRESSED  # only failed ones
        audits = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "invitation.retry").order_by(AuditLog.id)).all()
        assert [(a.target, a.detail) for a in audits] == [
            (f"invitation:{first}", {"count": 1}), ("invitation:*", {"count": 1})]
    page = admin_client.get("/admin/operations").get_data(as_text=True)
    assert "No invitation failed." in page


def test_a_retried_invitation_is_sent_by_the_next_pass(make_app: Any, smtp_server: Any,
                                                       client: FlaskClient) -> None:
    app = make_app(**smtp_config(smtp_server))
    admin = app.test_client()
    login(admin, "admin@example.org", make_user(app))
    with app.app_context():
        invitation_id = _failed(app, "ayse@example.org", "452 mailbox full")
        # Any hour of the day: the retry is due at once.
        db.session.execute(update(Invitation).values(rule_id=None))
        db.session.commit()
    token = csrf_token_from(admin.get("/admin/operations").get_data(as_text=True))
    admin.post("/admin/operations/retry", data={"invitation": str(invitation_id),
                                               "csrf_token": token})
    with app.app_context():
        result = dispatch_due(now=dt.datetime.now(UTC) + dt.timedelta(days=1))
        assert result.sent == 1
        assert fetch(invitation_id).state == InvitationState.SENT
    assert len(smtp_server.messages) == 1


def test_retry_needs_csrf_and_the_satisfaction_team(app: Flask, client: FlaskClient) -> None:
    first, _, _ = _outbox(app)
    assert client.get("/admin/operations").status_code == 302  # to the login page
    password = make_user(app, "viewer@example.org", role="viewer")
    login(client, "viewer@example.org", password)
    assert client.get("/admin/operations").status_code == 403
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))
    assert client.post("/admin/operations/retry", data={"csrf_token": token}).status_code == 403
    admin = app.test_client()
    login(admin, "admin@example.org", make_user(app))
    assert admin.post("/admin/operations/retry", data={}).status_code == 400  # no CSRF token
    with app.app_context():
        assert fetch(first).state == InvitationState.FAILED


def test_the_page_shows_bounce_rates_by_unit_rule_and_channel(
    app: Flask, admin_client: FlaskClient, compiled_catalogues: None
) -> None:
    with app.app_context():
        build_delivered(utcnow() - dt.timedelta(days=20))
    in_english(admin_client)
    page = admin_client.get("/admin/operations").get_data(as_text=True)

    def rows(by: str) -> list[list[str]]:
        table = page.split(f'id="bounce-{by}"')[1].split("</table>")[0]
        return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
                for row in table.split("<tbody>")[1].split("</tr>")[:-1]]

    assert rows("unit") == [["Fen İşleri", "5", "2", "40.0%", "11.8% – 76.9%", "33.3%"],
                            ["Park ve Bahçeler", "2", "0", "0.0%", "0.0% – 65.8%", "50.0%"]]
    assert [row[:4] for row in rows("rule")] == [["after-resolution", "4", "2", "50.0%"],
                                                 ["no rule", "3", "0", "0.0%"]]
    assert [row[:4] for row in rows("sent_by")] == [["E-mail", "5", "1", "20.0%"],
                                                    ["SMS", "2", "1", "50.0%"]]
    admin_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "tr"
    page = admin_client.get("/admin/operations").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "tr"}):
        from flask_babel import gettext

        for label in ("Bounce rate by unit", "Bounce rate by rule", "Not delivered"):
            assert gettext(label) != label and gettext(label) in page
