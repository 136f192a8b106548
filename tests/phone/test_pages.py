"""Phone interviews, the pages: who sees the call list and the numbers, units, CSRF, and a call
worked through the forms."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Invitation, InvitationState, Response, ResponseMode, User
from tests.support.comments import PERIOD, build_comments
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


def _user_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def _make_interviewer(admin: FlaskClient, user_id: int, role: str, **fields: str) -> None:
    """What an admin does on the user's page: tick "Phone interviewer" and save."""
    token = csrf_token_from(admin.get(f"/admin/users/{user_id}").get_data(as_text=True))
    saved = admin.post(f"/admin/users/{user_id}", data={
        "csrf_token": token, "role": role, "phone_interviewer": "y", **fields})
    assert saved.status_code == 302, saved.get_data(as_text=True)


def test_a_phone_interviewer_sees_whom_to_call(app: Flask) -> None:
    parks, fire = _calls(app)
    designer = _client(app, "designer")
    before = designer.get("/phone/").get_data(as_text=True)
    assert f"/phone/{parks}" in before and NUMBER not in before and "Ayşe" not in before
    assert NUMBER not in designer.get(f"/phone/{parks}").get_data(as_text=True)
    admin = _client(app, "admin")
    designer_id = _user_id(app, "designer-@example.org")
    _make_interviewer(admin, designer_id, "designer")
    assert "phone interviewer" in admin.get("/admin/users").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(select(AuditLog).where(
            AuditLog.action == "user.change", AuditLog.target == f"user:{designer_id}")).one()
        assert entry.actor.startswith("user:")
        assert entry.detail["before"]["phone_interviewer"] is False
        assert entry.detail["after"] == {"role": "designer", "units": [],
                                         "phone_interviewer": True}
    listed = designer.get("/phone/").get_data(as_text=True)  # the same session, at once
    assert NUMBER in listed and "+90 533 999 88 77" in listed and "Ayşe Yılmaz" in listed
    assert "Türkçe" in listed
    screen = designer.get(f"/phone/{parks}").get_data(as_text=True)
    assert NUMBER in screen and "Ayşe Yılmaz" in screen and "Türkçe" in screen


def test_an_interviewer_of_any_role_works_only_their_units(app: Flask) -> None:
    parks, fire = _calls(app)
    viewer = _client(app, "viewer", ["parks"])
    assert viewer.get("/phone/").status_code == 403
    assert viewer.get(f"/phone/{parks}").status_code == 403
    assert "/phone/" not in viewer.get("/").get_data(as_text=True)
    admin = _client(app, "admin")
    with app.app_context():
        from app.models import Unit

        parks_unit = db.session.scalar(select(Unit.id).where(Unit.code == "parks"))
    _make_interviewer(admin, _user_id(app, "viewer-parks@example.org"), "viewer",
                      units=str(parks_unit))
    listed = viewer.get("/phone/").get_data(as_text=True)
    assert NUMBER in listed and f"/phone/{parks}" in listed
    assert "+90 533 999 88 77" not in listed and f"/phone/{fire}" not in listed
    assert viewer.get(f"/phone/{fire}").status_code == 404
    assert NUMBER in viewer.get(f"/phone/{parks}").get_data(as_text=True)
    assert 'href="/phone/"' in viewer.get("/").get_data(as_text=True)


def test_the_permission_reveals_nothing_outside_the_call_list(app: Flask) -> None:
    """The comments explorer and its download stay redacted for an interviewer."""
    from app.models import Role
    from app.staff.accounts import change_access

    build_comments(app)
    client = _client(app, "designer")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "designer-@example.org"))
        change_access(None, user, Role.DESIGNER, [], phone_interviewer=True)
    page = client.get("/reports/comments", query_string=PERIOD)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "[phone]" in html and "[name]" in html
    assert "0532 123 45 67" not in html and "Ayşe Yılmaz" not in html
    token = csrf_token_from(html)
    download = client.post("/reports/comments/export",
                           data={**PERIOD, "csrf_token": token}).get_data(as_text=True)
    assert "[phone]" in download and "0532 123 45 67" not in download


def test_the_survey_queue_shows_calls_to_make_never_late_and_never_sent(app: Flask) -> None:
    parks, fire = _calls(app)  # both due five minutes ago
    with app.app_context():
        call = db.session.get(Invitation, parks)
        complaint_id, reference, due = call.complaint_id, call.complaint.external_id, call.due_at
    client = _client(app, "designer")
    queue = client.get("/invitations/").get_data(as_text=True)
    assert 'id="late"' not in queue
    to_call = queue.split('id="to-call"')[1].split("</table>")[0]
    assert reference in to_call and "to call" in to_call and f"/phone/{parks}" in to_call
    assert f"/phone/{fire}" in to_call and 'href="/phone/"' in queue
    per_rule = queue.split('id="per-rule"')[1].split("</table>")[0]
    assert "<td>0</td><td>0</td><td>0</td><td>0</td><td>1</td>" in per_rule  # late 0, to call 1
    page = client.get(f"/complaints/{complaint_id}").get_data(as_text=True)
    section = page.split(f'id="invitation-{parks}"')[1]
    assert f"/invitations/{parks}/send" not in section and "Send now" not in section
    assert f"/phone/{parks}" in section
    token = csrf_token_from(page)
    refused = client.post(f"/invitations/{parks}/send", data={"send-csrf_token": token,
                                                               "csrf_token": token})
    assert refused.status_code == 409
    assert "this survey is a phone call" in refused.get_data(as_text=True)
    with app.app_context():
        call = db.session.get(Invitation, parks)
        assert call.state == InvitationState.PLANNED and call.due_at == due
        assert db.session.scalar(select(AuditLog).where(
            AuditLog.action == "invitation.send_now")) is None
