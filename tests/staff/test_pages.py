"""The staff accounts pages through the test client, and the password e-mail through a real SMTP
server: an admin invites, the person sets a password from the link and logs in."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Unit, User
from tests.support.distribution import smtp_config
from tests.support.factories import make_user, node
from tests.support.staff import link_in, user_id
from tests.support.web import csrf_token_from, login


def _post(client, path: str, data: dict[str, object] | None = None, page: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(page or path).get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def _signed_in(
    app: Flask,
    email: str = "admin@example.org",
    role: str = "admin",
    units: list[str] | None = None,
):  # type: ignore[no-untyped-def]
    password = make_user(app, email, role, units=units)
    client = app.test_client()
    login(client, email, password)
    return client


def test_invitation_by_smtp_then_password_then_login(make_app, smtp_server) -> None:  # type: ignore[no-untyped-def]
    app = make_app(**smtp_config(smtp_server), MEMNUN_BASE_URL="https://memnun.example")
    with app.app_context():
        node(Unit, "fen", "city")
        db.session.commit()
        fen = db.session.scalar(select(Unit.id).where(Unit.code == "fen"))
    admin = _signed_in(app)
    created = _post(
        admin,
        "/admin/users/new",
        {"email": "Ayse@Example.org", "role": "viewer", "units": [str(fen)]},
    )
    assert created.status_code == 302
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "ayse@example.org"
    assert "Memnun" in str(message["From"])  # no settings saved: the configured sender
    url, token = link_in(message)
    assert url.startswith("https://memnun.example/auth/password/")

    person = app.test_client()
    opened = person.get(f"/auth/password/{token}")  # opening changes nothing (mail scanners)
    assert opened.status_code == 200 and opened.headers["Cache-Control"] == "no-store"
    assert person.get(f"/auth/password/{token}").status_code == 200
    form = csrf_token_from(opened.get_data(as_text=True))
    differ = person.post(
        f"/auth/password/{token}",
        data={"password": "ayse's long password", "again": "something else", "csrf_token": form},
    )
    assert differ.status_code == 400
    done = person.post(
        f"/auth/password/{token}",
        data={
            "password": "ayse's long password",
            "again": "ayse's long password",
            "csrf_token": form,
        },
    )
    assert done.status_code == 302 and done.headers["Location"].startswith("/auth/login")
    assert person.get(f"/auth/password/{token}").status_code == 410  # used up
    login(person, "ayse@example.org", "ayse's long password")
    assert person.get("/").status_code == 200


def test_the_list_shows_role_units_and_state_and_refuses_others(units: Flask) -> None:
    make_user(units, "fen-viewer@example.org", "viewer", units=["fen"])
    admin = _signed_in(units)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "fen-viewer@example.org" in page and "Fen" in page and "never" in page
    designer = _signed_in(units, "designer@example.org", "designer")
    assert designer.get("/admin/users").status_code == 403
    assert designer.get("/admin/organisation").status_code == 403


def test_role_units_disable_reset_from_the_pages_are_audited(units: Flask) -> None:
    make_user(units, "person@example.org", "viewer")
    admin = _signed_in(units)
    person = user_id(units, "person@example.org")
    with units.app_context():
        zabita = db.session.scalar(select(Unit.id).where(Unit.code == "zabita"))
    page = f"/admin/users/{person}"
    changed = _post(admin, page, {"role": "designer", "units": [str(zabita)]})
    assert changed.status_code == 302
    assert _post(admin, f"{page}/disable", page=page).status_code == 302
    assert _post(admin, f"{page}/enable", page=page).status_code == 302
    assert _post(admin, f"{page}/reset-password", page=page).status_code == 302
    assert _post(admin, f"{page}/end-sessions", page=page).status_code == 302
    with units.app_context():
        user = db.session.get(User, person)
        assert user.role.value == "designer" and [u.code for u in user.units] == ["zabita"]
        actions = set(
            db.session.scalars(select(AuditLog.action).where(AuditLog.target == f"user:{person}"))
        )
    assert {
        "user.change",
        "user.disable",
        "user.enable",
        "user.reset_password",
        "user.end_sessions",
    } <= actions


def test_an_admin_cannot_lock_themselves_out_from_the_page(units: Flask) -> None:
    admin = _signed_in(units)
    me = user_id(units, "admin@example.org")
    refused = _post(admin, f"/admin/users/{me}/disable", page=f"/admin/users/{me}")
    assert refused.status_code == 302
    assert "disable yourself" in admin.get(f"/admin/users/{me}").get_data(as_text=True)
    demoted = _post(admin, f"/admin/users/{me}", {"role": "viewer"})
    assert demoted.status_code == 400
    with units.app_context():
        user = db.session.get(User, me)
        assert user.active and user.role.value == "admin"


def test_a_unit_admin_sees_and_changes_only_their_units_accounts(units: Flask) -> None:
    make_user(units, "zabita-viewer@example.org", "viewer", units=["zabita"])
    make_user(units, "fen-viewer@example.org", "viewer", units=["fen"])
    unit_admin = _signed_in(units, "fen-admin@example.org", "admin", units=["fen"])
    listing = unit_admin.get("/admin/users").get_data(as_text=True)
    assert "fen-viewer@example.org" in listing and "zabita-viewer" not in listing
    other = user_id(units, "zabita-viewer@example.org")
    assert unit_admin.get(f"/admin/users/{other}").status_code == 404
    page = f"/admin/users/{user_id(units, 'fen-viewer@example.org')}"
    refused = unit_admin.post(
        f"/admin/users/{other}/disable",
        data={"csrf_token": csrf_token_from(unit_admin.get(page).get_data(as_text=True))},
    )
    assert refused.status_code == 404
    assert unit_admin.get("/admin/organisation").status_code == 403  # the whole organisation's
    form = unit_admin.get("/admin/users/new").get_data(as_text=True)
    assert "Zabita" not in form and "Fen" in form  # only their own units to give


def test_a_disabled_user_is_signed_out_at_once(units: Flask) -> None:
    person = _signed_in(units, "person@example.org", "viewer")
    assert person.get("/").status_code == 200
    admin = _signed_in(units)
    page = f"/admin/users/{user_id(units, 'person@example.org')}"
    assert _post(admin, f"{page}/disable", page=page).status_code == 302
    after = person.get("/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/auth/login")


def test_an_expired_or_unknown_link_says_so(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/auth/password/" + "x" * 43)
    assert page.status_code == 410
    assert "no longer works" in page.get_data(as_text=True)


def test_a_unit_admin_cannot_invite_outside_their_units(units: Flask) -> None:
    unit_admin = _signed_in(units, "fen-admin@example.org", "admin", units=["fen"])
    with units.app_context():
        zabita = db.session.scalar(select(Unit.id).where(Unit.code == "zabita"))
    refused = _post(unit_admin, "/admin/users/new",
                    {"email": "outsider@example.org", "role": "viewer", "units": [str(zabita)]})
    assert refused.status_code == 400
    nobody = _post(unit_admin, "/admin/users/new",
                   {"email": "wide@example.org", "role": "viewer"})
    assert nobody.status_code == 400
    assert "inside your own" in nobody.get_data(as_text=True)
    with units.app_context():
        assert db.session.scalar(select(User.id).where(
            User.email.in_(["outsider@example.org", "wide@example.org"]))) is None


def test_an_address_no_mail_server_could_take_is_refused_and_nothing_stored(app: Flask) -> None:
    """Found by the hostile crawler: 'İ@Ö.com' was stored, then the invitation e-mail failed
    with a 500. A non-ASCII local part is refused; a non-ASCII domain is kept in ASCII."""
    admin = _signed_in(app)
    refused = _post(admin, "/admin/users/new", {"email": "İ@Ö.com", "role": "viewer"})
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email.like("%.com"))) is None
    taken = _post(admin, "/admin/users/new", {"email": "ayse@Örnek.com.tr", "role": "viewer"})
    assert taken.status_code in (200, 302)
    with app.app_context():
        assert db.session.scalar(select(User.email).where(User.role == "viewer")) == (
            "ayse@xn--rnek-4qa.com.tr")
