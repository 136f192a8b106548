"""Two-factor login from the outside: codes an authenticator app would show (pyotp, from the key
the enrolment page prints), enrolment and both steps of a login through the test client."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pyotp
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.web import csrf_token_from

SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
RECOVERY_RE = re.compile(r"<code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</code>")


def app_code(secret: str, steps_from_now: int = 0) -> str:
    """The code the app shows ``steps_from_now`` 30-second steps from now. Waits out the last
    seconds of a step first, so that the code is still within the drift allowed when it
    arrives."""
    if time.time() % 30 > 26:
        time.sleep(30 - time.time() % 30 + 0.1)
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(time.time()) + steps_from_now)


def secret_on_page(html: str) -> str:
    match = SECRET_RE.search(html)
    assert match, "no key on the enrolment page"
    return match.group(1).replace(" ", "")


def recovery_codes_on_page(html: str) -> list[str]:
    return RECOVERY_RE.findall(html)


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]


def enrol(client: FlaskClient, steps_from_now: int = -1) -> Enrolled:
    """Switch two-factor login on for the signed-in user of ``client``, confirming with the code
    of the step before this one (so that later steps remain for logins)."""
    page = client.get("/auth/two-factor").get_data(as_text=True)
    secret = secret_on_page(page)
    response = client.post(
        "/auth/two-factor/enable",
        data={"code": app_code(secret, steps_from_now), "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = recovery_codes_on_page(response.get_data(as_text=True))
    assert len(codes) == 10
    return Enrolled(secret, codes)


def password_step(client: FlaskClient, email: str, password: str) -> TestResponse:
    page = client.get("/auth/login")
    return client.post(
        "/auth/login",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )


def code_step(client: FlaskClient, code: str) -> TestResponse:
    page = client.get("/auth/login/code")
    return client.post(
        "/auth/login/code",
        data={"code": code, "csrf_token": csrf_token_from(page.get_data(as_text=True))},
    )


@dataclass
class TwoFactorUser:
    email: str
    password: str
    enrolled: Enrolled
    client: FlaskClient  # signed in: the session in which two-factor login was switched on
