"""Phone interviews, the pages: who sees the call list and the numbers, units, CSRF, and a call
worked through the forms."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Invitation, InvitationState, Response, ResponseMode
from tests.support.factories import make_user
from tests.support.phone import phone_invitation, phone_rule
from tests.support.web import csrf_token_from, login

NUMBER = "+90 532 111 22 33"


def _calls(app: Flask) -> tuple[int, int]:
    """A call in unit parks and one in unit fire, both due now (the rule calls at any hour)."""
    with app.app_context():
        phone_rule(calling_hours_start="00:00", calling_hours_end="00:00",
                   calling_days=[1, 2, 3, 4, 5, 6, 7])
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        parks = phone_invitation(now, unit="parks").id
        fire = phone_invitation(now, unit="fire", phone="+90 533 999 88 77").id
    return parks, fire


def _client(app: Flask, role: str, units: list[str] | None = None) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    email = f"{role}-{'-'.join(units or [])}@example.org"
    login(client, email, make_user(app, email, role, units=units))
    return client


def test_who_sees_the_call_list_and_the_numbers(app: Flask) -> None:
    parks, fire = _calls(app)
    assert _client(app, "viewer").get("/phone/").status_code == 403
    designer = _client(app, "designer").get("/phone/").get_data(as_text=True)
    assert f"/phone/{parks}" in designer and f"/phone/{fire}" in designer
    assert NUMBER not in designer and "Ayşe" not in designer
    admin = _client(app, "admin")
    listed = admin.get("/phone/").get_data(as_text=True)
    assert NUMBER in listed and "Ayşe Yılmaz" in listed
    screen = admin.get(f"/phone/{parks}").get_data(as_text=True)
    assert NUMBER in screen and "Overall, how satisfied" not in screen  # in Turkish
    assert "ele alınışından" in screen


def test_a_unit_designer_sees_only_their_units_calls(app: Flask) -> None:
    parks, fire = _calls(app)
    client = _client(app, "designer", ["parks"])
    page = client.get("/phone/").get_data(as_text=True)
    assert f"/phone/{parks}" in page and f"/phone/{fire}" not in page
    assert client.get(f"/phone/{fire}").status_code == 404
    assert client.post(f"/phone/{fire}/call", data={
        "csrf_token": csrf_token_from(client.get(f"/phone/{parks}").get_data(as_text=True)),
        "outcome": "refused"}).status_code == 404


def test_calls_are_recorded_through_the_forms_with_csrf(app: Flask) -> None:
    parks, fire = _calls(app)
    client = _client(app, "designer")
    assert client.post(f"/phone/{parks}/call", data={"outcome": "busy"}).status_code == 400
    token = csrf_token_from(client.get(f"/phone/{parks}").get_data(as_text=True))
    missing = client.post(f"/phone/{parks}/call", data={"csrf_token": token,
                                                        "outcome": "call_back"})
    assert missing.status_code == 400 and "Enter the day and time" in missing.get_data(
        as_text=True)
    done = client.post(f"/phone/{parks}/call", data={"csrf_token": token, "outcome": "busy"})
    assert done.status_code == 302
    empty = client.post(f"/phone/{fire}/interview", data={"csrf_token": token})
    assert empty.status_code == 400
    saved = client.post(f"/phone/{fire}/interview", data={"csrf_token": token, "overall": "5"})
    assert saved.status_code == 302
    with app.app_context():
        busy = db.session.get(Invitation, parks)
        assert busy.attempts == 1 and busy.state == InvitationState.PLANNED
        response = db.session.scalar(select(Response).where(Response.invitation_id == fire))
        assert response.mode == ResponseMode.PHONE and response.interviewer_id is not None
    again = client.post(f"/phone/{fire}/interview", data={"csrf_token": token, "overall": "1"})
    assert again.status_code == 409 and "This call is closed" in again.get_data(as_text=True)
    opted = client.post(f"/phone/{parks}/opt-out", data={"csrf_token": token})
    assert opted.status_code == 302
    with app.app_context():
        assert db.session.get(Invitation, parks).state == InvitationState.CANCELLED
