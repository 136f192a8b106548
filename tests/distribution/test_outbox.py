"""The file mail backend and the admin outbox page that shows what it wrote."""

from __future__ import annotations

import datetime as dt
import html
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.distribution.dispatcher import dispatch_due
from app.distribution.mail import (
    EML_NAME_RE,
    FileBackend,
    MailServerUnavailable,
    SmtpBackend,
    get_backend,
)
from tests.support.distribution import in_english, planned_invitation
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=UTC)
SURVEY_LINK = re.compile(r'href="(http://memnun\.test/s/[A-Za-z0-9_-]{43})"')


def _outbox(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox").iterdir())


def _send_two(app: Flask) -> tuple[int, int]:
    with app.app_context():
        first = planned_invitation(app, NOW - dt.timedelta(minutes=5), external_id="CMP-<b>1")
        second = planned_invitation(app, NOW, language="en", email="john@example.org")
        assert dispatch_due(now=NOW).sent == 2
    return first, second


# --- the backend ---------------------------------------------------------------------------------


def test_get_backend_follows_the_configuration(app: Flask) -> None:
    assert isinstance(get_backend({"MEMNUN_MAIL_BACKEND": "file", "MEMNUN_OUTBOX_DIR": "x"}),
                      FileBackend)
    smtp = get_backend({**app.config, "MEMNUN_MAIL_BACKEND": "smtp", "MEMNUN_SMTP_PORT": 2525,
                        "MEMNUN_SMTP_TLS": True, "MEMNUN_SMTP_USER": "u"})
    assert isinstance(smtp, SmtpBackend)
    assert (smtp.port, smtp.tls, smtp.user) == (2525, True, "u")
    with pytest.raises(ValueError, match="MEMNUN_MAIL_BACKEND"):
        get_backend({"MEMNUN_MAIL_BACKEND": "pigeon"})


def test_file_backend_writes_one_whole_eml_per_message(app: Flask, tmp_path: Path) -> None:
    first, second = _send_two(app)
    files = _outbox(tmp_path)
    assert len(files) == 2  # nothing half-written or temporary is left beside them
    names = [EML_NAME_RE.match(path.name) for path in files]
    assert all(names)
    assert [int(m.group(2)) for m in names] == [first, second]  # sorted by time = by sending
    assert all("@" not in path.name and "example" not in path.name for path in files)
    raw = files[0].read_bytes()
    # Long headers stay on one line, so no parser reads them with a leading space.
    assert re.search(rb"^List-Unsubscribe: <http://memnun\.test/s/[\w-]{43}/opt-out>$", raw, re.M)
    message = message_from_bytes(raw, policy=policy.default)
    assert message["X-Memnun-Invitation"] == str(first)
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None


def test_an_unwritable_outbox_counts_as_an_unavailable_server(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    from email.message import EmailMessage

    with pytest.raises(MailServerUnavailable):
        FileBackend(blocker / "outbox").send(EmailMessage(), invitation_id=1)


# --- the outbox page -----------------------------------------------------------------------------


def test_admin_sees_the_outbox_newest_first(app: Flask, admin_client: FlaskClient) -> None:
    first, second = _send_two(app)
    page = admin_client.get("/admin/outbox")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Memnun: Şikâyetinizi nasıl ele aldık?" in body
    assert "Memnun: How did we handle your complaint?" in body
    assert body.index(">en<") < body.index(">tr<")  # the newer (English) message comes first
    assert f"<td>{second}</td>" in body and f"<td>{first}</td>" in body


def test_a_message_page_shows_headers_parts_and_clickable_links(
    app: Flask, admin_client: FlaskClient, tmp_path: Path
) -> None:
    first, _ = _send_two(app)
    name = next(p.name for p in _outbox(tmp_path) if f"-inv{first}-" in p.name)
    page = admin_client.get(f"/admin/outbox/{name}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # The survey link can be clicked right here, outside the preview.
    survey = SURVEY_LINK.search(body)
    assert survey and f'<a href="{survey.group(1)}" target="_blank"' in body
    assert f'href="{survey.group(1)}?overall=5"' in body
    assert "List-Unsubscribe" in body and f"&lt;memnun.invitation.{first}@memnun.test&gt;" in body
    # The HTML part sits in a sandboxed iframe as escaped srcdoc; the reference, which holds
    # markup, is escaped inside it twice over and never becomes a tag on this page.
    srcdoc = re.search(r'<iframe[^>]*sandbox="[^"]*"[^>]*srcdoc="([^"]*)"', body)
    assert srcdoc, "no sandboxed preview"
    assert "<" not in srcdoc.group(1)
    assert "CMP-&lt;b&gt;1" in html.unescape(srcdoc.group(1))
    assert "CMP-<b>1" not in body
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "script-src 'none'" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2Ftest.sqlite",
        "%2E%2E",
        "20240515T100000000000Z-inv1-deadbeef.eml",  # well-formed but not there
        "secret.eml",  # there, but no name the backend writes
        "20240515T100000000000Z-inv1-deadbeef.eml%00.txt",
    ],
)
def test_names_outside_the_outbox_are_not_found(
    app: Flask, admin_client: FlaskClient, tmp_path: Path, name: str
) -> None:
    _send_two(app)
    (tmp_path / "outbox" / "secret.eml").write_text("Subject: not for you\n\nhidden\n")
    response = admin_client.get(f"/admin/outbox/{name}")
    assert response.status_code == 404
    assert "hidden" not in response.get_data(as_text=True)


def test_only_admins_may_open_the_outbox(app: Flask, client: FlaskClient, tmp_path: Path
                                         ) -> None:
    _send_two(app)
    name = _outbox(tmp_path)[0].name
    for path in ("/admin/outbox", f"/admin/outbox/{name}"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    password = make_user(app, "viewer@example.org", role="viewer")
    login(client, "viewer@example.org", password)
    for path in ("/admin/outbox", f"/admin/outbox/{name}"):
        assert client.get(path).status_code == 403
    assert client.post("/admin/outbox/dispatch").status_code in (400, 403)


def test_send_now_button_runs_a_pass(app: Flask, admin_client: FlaskClient, tmp_path: Path
                                     ) -> None:
    with app.app_context():
        planned_invitation(app, dt.datetime.now(UTC) - dt.timedelta(minutes=1))
    page = in_english(admin_client).get("/admin/outbox").get_data(as_text=True)
    assert "No messages yet" in page
    refused = admin_client.post("/admin/outbox/dispatch")  # no CSRF token
    assert refused.status_code == 400 and not (tmp_path / "outbox").exists()
    response = admin_client.post("/admin/outbox/dispatch",
                                 data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert len(_outbox(tmp_path)) == 1
    assert "1 sent" in admin_client.get("/admin/outbox").get_data(as_text=True)
