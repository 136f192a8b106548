"""One-click unsubscribe (RFC 8058) as a mailbox provider does it: the invitation that arrives
over SMTP names the URL and the mailto in List-Unsubscribe and says List-Unsubscribe-Post; the
provider POSTs ``List-Unsubscribe=One-Click`` to that URL with a plain HTTP client, no cookie
and no CSRF token, and the person is opted out at once. A GET (a scanner) never opts out."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from app.distribution.dispatcher import dispatch_due
from app.distribution.messages import build_message
from app.distribution.tokens import invitation_of_code, token_for, unsubscribe_code
from app.extensions import db
from app.models import AuditLog, InvitationState
from tests.support.distribution import fetch, planned_invitation, smtp_config
from tests.support.server import serve

pytestmark = pytest.mark.usefixtures("compiled_catalogues")

NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=dt.UTC)
LIST_UNSUBSCRIBE = re.compile(
    r"^<(https://memnun\.example/s/[A-Za-z0-9_-]{43}/opt-out)>, "
    r"<mailto:unsubscribe@memnun\.example\?subject=unsubscribe%20(\d+-[0-9a-f]{20})>$"
)


def _opted_out(invitation_id: int) -> dt.datetime | None:
    return fetch(invitation_id).complaint.complainant.opted_out_at


def test_a_provider_posts_one_click_without_cookies_and_the_person_is_opted_out(
    make_app: Any, smtp_server: Any
) -> None:
    app = make_app(**smtp_config(smtp_server), MEMNUN_BASE_URL="https://memnun.example",
                   MEMNUN_UNSUBSCRIBE_MAILTO="unsubscribe@memnun.example")
    with app.app_context():
        sent = planned_invitation(app, NOW - dt.timedelta(minutes=1), email="ayse@example.org")
        other = planned_invitation(app, NOW + dt.timedelta(days=3), email="Ayse@Example.org")
        stranger = planned_invitation(app, NOW - dt.timedelta(minutes=1),
                                      email="mehmet@example.org")
        assert dispatch_due(now=NOW).sent == 2
        # The reminder carries the same headers.
        reminder = build_message(fetch(sent), token_for(sent), reminder=True, now=NOW)
    message = next(m for m in smtp_server.messages if int(m["X-Memnun-Invitation"]) == sent)
    for headers in (message, reminder):
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert LIST_UNSUBSCRIBE.match(str(headers["List-Unsubscribe"])), headers["List-Unsubscribe"]
    match = LIST_UNSUBSCRIBE.match(str(message["List-Unsubscribe"]))
    assert match
    url, code = match.groups()
    with app.app_context():
        assert invitation_of_code(code) == sent
        assert invitation_of_code(f"{stranger}-{code.split('-')[1]}") is None  # not forgeable
        assert unsubscribe_code(sent) == code

    with serve(app) as live:
        target = live.url + urlsplit(url).path
        # A mail scanner follows the link: nothing happens but a redirect to the question page.
        scanned = requests.get(target, allow_redirects=True, timeout=10)
        assert scanned.status_code == 200
        # A POST with another body is refused and changes nothing.
        wrong = requests.post(target, data={"List-Unsubscribe": "Yes"}, timeout=10)
        assert wrong.status_code == 400 and "List-Unsubscribe=One-Click" in wrong.text
        with app.app_context():
            assert _opted_out(sent) is None
            assert fetch(other).state == InvitationState.PLANNED

        # The provider's POST: a fresh client, no cookie, no CSRF token, a form-encoded body.
        answer = requests.post(target, data="List-Unsubscribe=One-Click", timeout=10, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200
        assert "Set-Cookie" not in answer.headers
        with app.app_context():
            first = _opted_out(sent)
            assert first is not None
            # Every pending survey of the person is cancelled, nobody else's.
            assert fetch(sent).state == InvitationState.CANCELLED
            assert fetch(other).state == InvitationState.CANCELLED
            assert fetch(stranger).state == InvitationState.SENT
            assert _opted_out(stranger) is None

        # Taken again (providers retry, and multipart/form-data is allowed): same outcome.
        again = requests.post(target, files={"List-Unsubscribe": (None, "One-Click")},
                              timeout=10)
        assert again.status_code == 200
        # An unknown token answers as every unknown link does.
        forged = target.replace(target.split("/")[-2], "A" * 43)
        assert requests.post(forged, data={"List-Unsubscribe": "One-Click"},
                             timeout=10).status_code == 404
    with app.app_context():
        assert _opted_out(sent) == first
        audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "opt_out")).all()
        assert [entry.detail["how"] for entry in audits] == ["one_click", "one_click"]
        assert [entry.detail["cancelled"] for entry in audits] == [2, 0]
        assert all(entry.detail["invitation"] == sent for entry in audits)


def test_without_a_mailbox_the_header_names_the_url_only(make_app: Any) -> None:
    app = make_app(MEMNUN_BASE_URL="https://memnun.example")
    with app.app_context():
        invitation = planned_invitation(app, NOW)
        message = build_message(fetch(invitation), token_for(invitation), now=NOW)
    assert re.fullmatch(r"<https://memnun\.example/s/[\w-]{43}/opt-out>",
                        str(message["List-Unsubscribe"]))
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def _request(to: str, subject: str, body: str = "") -> bytes:
    """The unsubscribe e-mail a mailbox provider sends for the mailto of List-Unsubscribe."""
    return (f"From: ayse@example.org\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def test_the_mailto_request_piped_in_by_the_mta_opts_out(make_app: Any) -> None:
    app = make_app(MEMNUN_BASE_URL="https://memnun.example",
                   MEMNUN_UNSUBSCRIBE_MAILTO="unsubscribe@memnun.example")
    with app.app_context():
        invitation = planned_invitation(app, NOW)
        stranger = planned_invitation(app, NOW, email="mehmet@example.org")
        message = build_message(fetch(invitation), token_for(invitation), now=NOW)
    match = LIST_UNSUBSCRIBE.match(str(message["List-Unsubscribe"]))
    assert match
    code = match.group(2)
    runner = app.test_cli_runner()

    # A made-up code (another invitation's id with this one's HMAC) and mail without any code
    # are returned to their sender (EX_DATAERR) and change nothing.
    forged = code.replace(f"{invitation}-", f"{stranger}-")
    for raw in (_request("unsubscribe@memnun.example", f"unsubscribe {forged}"),
                _request("unsubscribe@memnun.example", "Out of office", "Back on Monday.")):
        result = runner.invoke(args=["unsubscribe", "read"], input=raw)
        assert result.exit_code == 65, result.output
    with app.app_context():
        assert _opted_out(invitation) is None and _opted_out(stranger) is None

    # The request as sent (a mail program that drops the subject: the code in the body works).
    for raw in (_request("unsubscribe@memnun.example", f"unsubscribe {code}"),
                _request("unsubscribe@memnun.example", "", f"unsubscribe {code}")):
        result = runner.invoke(args=["unsubscribe", "read"], input=raw)
        assert result.exit_code == 0, result.output
        assert f"opted out through invitation {invitation}" in result.output
    with app.app_context():
        assert _opted_out(invitation) is not None and _opted_out(stranger) is None
        assert fetch(invitation).state == InvitationState.CANCELLED
        audits = db.session.scalars(select(AuditLog).where(AuditLog.action == "opt_out")).all()
        assert [entry.detail["how"] for entry in audits] == ["mail", "mail"]
        # Nothing of the message is kept: not the sender's address.
        assert all("ayse@example.org" not in str(entry.detail) for entry in audits)
