"""The two-factor page of a signed-in member of staff: enrolment with a QR code and the key as
text, confirmed by a first code; recovery codes shown once and made anew; switching off with the
password or a code; CSRF on every form; other sessions end when the login changes."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pyotp
import pytest
import segno
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, User
from tests.support.factories import make_user
from tests.support.two_factor import (
    TwoFactorUser,
    app_code,
    code_step,
    password_step,
    recovery_codes_on_page,
    secret_on_page,
)
from tests.support.web import csrf_token_from, login

EMAIL = "viewer@example.org"


@pytest.fixture
def viewer(app):  # type: ignore[no-untyped-def]
    password = make_user(app, EMAIL, "viewer")
    client = app.test_client()
    login(client, EMAIL, password)
    return client, password


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/").status_code == 200


def _enable(client, code: str, token: str):  # type: ignore[no-untyped-def]
    return client.post("/auth/two-factor/enable", data={"code": code, "csrf_token": token})


def test_enrolment_shows_a_qr_code_and_the_key_and_needs_a_first_code(app, viewer) -> None:  # type: ignore[no-untyped-def]
    client, _ = viewer
    page = client.get("/auth/two-factor")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    secret = secret_on_page(html)
    assert len(secret) == 32
    # The QR code is an SVG inside the page (nothing is fetched) of the otpauth address that
    # authenticator apps read: the same key, the account and the issuer.
    qr = re.search(r'<img class="qr" src="(data:image/svg\+xml[^"]+)"', html)
    uri = pyotp.TOTP(secret).provisioning_uri(name=EMAIL, issuer_name="Memnun")
    assert qr and qr.group(1) == segno.make(uri, error="m").svg_data_uri(
        scale=5, border=4, dark="#000", light="#fff"
    )
    assert uri.startswith("otpauth://totp/Memnun:viewer%40example.org?secret=")
    assert (
        client.get("/auth/two-factor")
        .get_data(as_text=True)
        .count(" ".join(secret[i : i + 4] for i in range(0, 32, 4)))
        == 1
    )  # the same key on reload
    token = csrf_token_from(html)
    wrong = _enable(client, "12345x", token)
    assert wrong.status_code == 400 and "This code is not right" in wrong.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(User).where(User.email == EMAIL)).two_factor_on
    done = _enable(client, app_code(secret, -1), token)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = recovery_codes_on_page(done.get_data(as_text=True))
    assert len(codes) == 10
    # Shown once: the page now says how many are left, and not which.
    status = client.get("/auth/two-factor").get_data(as_text=True)
    assert "10 unused recovery codes" in status and not recovery_codes_on_page(status)
    assert "totp-secret" not in status


def test_every_form_needs_its_csrf_token(app, enrolled: TwoFactorUser) -> None:
    client = enrolled.client
    for path, field in [
        ("/auth/two-factor/recovery-codes", "codes-answer"),
        ("/auth/two-factor/off", "off-answer"),
    ]:
        response = client.post(path, data={field: enrolled.password})
        assert response.status_code == 400
    other = app.test_client()
    login(other, "admin2@example.org", make_user(app, "admin2@example.org", "admin"))
    page = other.get("/auth/two-factor").get_data(as_text=True)
    assert (
        other.post(
            "/auth/two-factor/enable", data={"code": app_code(secret_on_page(page))}
        ).status_code
        == 400
    )
    password_answer = app.test_client()
    assert password_step(password_answer, enrolled.email, enrolled.password).status_code == 302
    assert (
        password_answer.post(
            "/auth/login/code", data={"code": app_code(enrolled.enrolled.secret)}
        ).status_code
        == 400
    )
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == enrolled.email))
        assert user.two_factor_on


def test_switching_on_ends_the_other_sessions(app, viewer) -> None:  # type: ignore[no-untyped-def]
    client, password = viewer
    other = app.test_client()
    login(other, EMAIL, password)
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert (
        _enable(client, app_code(secret_on_page(page), -1), csrf_token_from(page)).status_code
        == 200
    )
    assert _signed_in(client) and not _signed_in(other)


def test_new_recovery_codes_need_the_password_or_a_code(app, enrolled: TwoFactorUser) -> None:
    client = enrolled.client
    token = csrf_token_from(client.get("/auth/two-factor").get_data(as_text=True))
    refused = client.post(
        "/auth/two-factor/recovery-codes", data={"codes-answer": "guess", "codes-csrf_token": token}
    )
    assert refused.status_code == 400
    assert "neither your password" in refused.get_data(as_text=True)
    made = client.post(
        "/auth/two-factor/recovery-codes",
        data={"codes-answer": app_code(enrolled.enrolled.secret), "codes-csrf_token": token},
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    new = recovery_codes_on_page(made.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(enrolled.enrolled.recovery_codes)
    halfway = app.test_client()
    password_step(halfway, enrolled.email, enrolled.password)
    assert code_step(halfway, enrolled.enrolled.recovery_codes[0]).status_code == 400
    assert code_step(halfway, new[0]).status_code == 302


def test_switching_off(app, enrolled: TwoFactorUser) -> None:
    client = enrolled.client
    other = app.test_client()
    password_step(other, enrolled.email, enrolled.password)
    assert code_step(other, app_code(enrolled.enrolled.secret)).status_code == 302
    token = csrf_token_from(client.get("/auth/two-factor").get_data(as_text=True))
    refused = client.post(
        "/auth/two-factor/off", data={"off-answer": "wrong password", "off-csrf_token": token}
    )
    assert refused.status_code == 400
    done = client.post(
        "/auth/two-factor/off", data={"off-answer": enrolled.password, "off-csrf_token": token}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/auth/two-factor"
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert "Two-factor login is off." in page and "totp-secret" in page
    assert not _signed_in(other)  # the other device's session ended
    # The password alone logs in again.
    again = app.test_client()
    response = password_step(again, enrolled.email, enrolled.password)
    assert response.headers["Location"] == "/"
    with app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions[-1] == "user.2fa.disable"


def test_the_enrolment_page_asks_no_other_host(app, viewer) -> None:  # type: ignore[no-untyped-def]
    client, _ = viewer
    html = client.get("/auth/two-factor").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources)
    svg = unquote(re.search(r'src="data:image/svg\+xml;charset=utf-8,([^"]+)"', html).group(1))
    assert svg.startswith("<svg") and "<path" in svg
    assert "href" not in svg  # an SVG that links nowhere
