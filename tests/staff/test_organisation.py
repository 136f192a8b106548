"""The organisation settings: the page, the logo, the defaults from the configuration, and where
the settings show (survey page and its privacy notice, e-mails, review pack, dashboards)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from flask import Flask
from sqlalchemy import event, select

from app.distribution.messages import build_message
from app.extensions import db
from app.models import AuditLog, Invitation
from app.organisation.settings import (
    forget_cached_settings,
    organisation_settings,
    save_settings,
)
from tests.support.factories import make_user
from tests.support.respond import invite
from tests.support.web import csrf_token_from, login

SETTINGS = {
    "name": "Örnek Belediyesi",
    "short_name": "Örnek Bld.",
    "sender_name": "Örnek Belediyesi Çözüm Merkezi",
    "sender_address": "cozum@ornekbelediyesi.example",
    "default_language": "tr",
    "timezone": "Europe/Istanbul",
    "controller_name": "Örnek Belediyesi Başkanlığı",
    "controller_contact": "KVKK Birimi, kvkk@ornekbelediyesi.example",
}


def png() -> bytes:
    """A real 1 x 1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _admin(app: Flask):  # type: ignore[no-untyped-def]
    password = make_user(app)
    client = app.test_client()
    login(client, "admin@example.org", password)
    return client


def test_defaults_come_from_the_configuration(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(
        MEMNUN_ORGANISATION_NAME="Kadıköy Belediyesi",
        MEMNUN_TIMEZONE="UTC",
        MEMNUN_MAIL_FROM="Kadıköy <no-reply@kadikoy.example>",
    )
    with app.app_context():
        settings = organisation_settings()
    assert settings.name == "Kadıköy Belediyesi" == settings.controller_name
    assert settings.timezone == "UTC" and settings.sender_address == "no-reply@kadikoy.example"
    assert settings.sender_name == "Kadıköy" and not settings.has_logo


def test_the_page_saves_and_refuses_bad_values(app: Flask) -> None:
    admin = _admin(app)
    page = admin.get("/admin/organisation").get_data(as_text=True)
    assert 'value="Memnun"' in page
    bad = admin.post(
        "/admin/organisation",
        data={**SETTINGS, "timezone": "Mars/Olympus", "csrf_token": csrf_token_from(page)},
    )
    assert bad.status_code == 400 and "Not a time zone" in bad.get_data(as_text=True)
    with app.app_context():
        assert organisation_settings().name == "Memnun"  # nothing stored
    saved = admin.post(
        "/admin/organisation", data={**SETTINGS, "csrf_token": csrf_token_from(page)}
    )
    assert saved.status_code == 302
    with app.app_context():
        settings = organisation_settings()
        assert settings.name == "Örnek Belediyesi" and settings.timezone == "Europe/Istanbul"
        assert settings.mail_from.endswith("<cozum@ornekbelediyesi.example>")
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "organisation.update")
        ).one()
        assert "name" in entry.detail["fields"]
    assert "Örnek Bld." in admin.get("/").get_data(as_text=True)  # the top bar


def test_a_sender_address_no_header_can_carry_is_refused(app: Flask) -> None:
    """A From header without SMTPUTF8 takes no non-ASCII local part (every e-mail, the staff's
    password links among them, would fail to build); an internationalised domain goes out in
    its IDNA form."""
    admin = _admin(app)
    page = admin.get("/admin/organisation").get_data(as_text=True)
    bad = admin.post("/admin/organisation", data={
        **SETTINGS, "sender_address": "İletişim@örnek.example",
        "csrf_token": csrf_token_from(page)})
    assert bad.status_code == 400
    with app.app_context():
        assert organisation_settings().sender_address != "İletişim@örnek.example"
    saved = admin.post("/admin/organisation", data={
        **SETTINGS, "sender_address": "cozum@örnek.example", "csrf_token": csrf_token_from(page)})
    assert saved.status_code == 302
    with app.app_context():
        forget_cached_settings()
        assert organisation_settings().mail_from.endswith("<cozum@xn--rnek-4qa.example>")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 400),
        (b"GIF89a" + b"\x00" * 20, 400),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (201 * 1024), 400),
    ],
)
def test_only_small_png_jpeg_or_webp_logos(app: Flask, data: bytes, expected: int) -> None:
    admin = _admin(app)
    token = csrf_token_from(admin.get("/admin/organisation").get_data(as_text=True))
    answer = admin.post(
        "/admin/organisation/logo",
        data={"logo": (io.BytesIO(data), "logo.png"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert answer.status_code == expected
    with app.app_context():
        assert not organisation_settings().has_logo


def test_a_logo_is_served_as_an_image_that_runs_nothing(app: Flask) -> None:
    admin = _admin(app)
    token = csrf_token_from(admin.get("/admin/organisation").get_data(as_text=True))
    saved = admin.post(
        "/admin/organisation/logo",
        data={"logo": (io.BytesIO(png()), "logo.png"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    with app.app_context():
        version = organisation_settings().logo_sha256
    served = app.test_client().get(f"/organisation/logo/{version}")  # anyone: survey pages
    assert served.status_code == 200 and served.data == png()
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert "immutable" in served.headers["Cache-Control"]
    assert f"/organisation/logo/{version}" in admin.get("/").get_data(as_text=True)


def test_the_survey_page_and_its_privacy_notice_name_the_organisation(app: Flask) -> None:
    with app.app_context():
        save_settings("test", SETTINGS)
    invited = invite(app)
    client = app.test_client()
    client.get(f"/s/{invited.token}")
    page = client.get("/s/survey").get_data(as_text=True)
    assert "Örnek Belediyesi" in page and "Memnun" not in page.split("<main")[0]
    assert "Örnek Belediyesi Başkanlığı" in page  # the data controller in the KVKK notice
    assert "kvkk@ornekbelediyesi.example" in page


def test_the_e_mail_comes_from_the_organisation_and_signs_with_its_sender(app: Flask) -> None:
    with app.app_context():
        save_settings("test", SETTINGS)
    invited = invite(app)
    with app.app_context():
        invitation = db.session.get(Invitation, invited.invitation_id)
        message = build_message(invitation, invited.token)
    assert "cozum@ornekbelediyesi.example" in message["From"]
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "Örnek Belediyesi Çözüm Merkezi" in text and text.startswith("Örnek Belediyesi")


def test_the_settings_are_read_once_per_request(app: Flask) -> None:
    """At most once per request, and not again while the process keeps them
    (``PROCESS_CACHE_SECONDS``); a change reads them anew."""
    admin = _admin(app)
    with app.app_context():
        forget_cached_settings()
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert admin.get("/admin/users").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sum("FROM organisation_settings" in s for s in statements) == 1
    statements.clear()
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert admin.get("/admin/users").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert sum("FROM organisation_settings" in s for s in statements) == 0


def test_the_pack_and_the_dashboards_are_titled_with_the_organisation(app: Flask) -> None:
    import datetime as dt

    from app.models.types import utcnow
    from app.reports.pack import build_pack
    from app.reports.render import pack_html

    with app.app_context():
        save_settings("test", SETTINGS)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        pack = build_pack(
            dt.date(2026, 1, 1),
            dt.date(2026, 1, 31),
            None,
            "Örnek Belediyesi",
            generated_at=utcnow(),
        )
        html = pack_html(pack)
    assert pack.organisation == "Örnek Belediyesi"
    assert "<title>" in html and "Örnek Belediyesi" in html.split("</title>")[0]
    admin = _admin(app)
    dashboards = admin.get("/dashboards/").get_data(as_text=True)
    assert "Örnek Bld.</title>" in dashboards


def test_a_database_without_the_settings_table_still_names_the_organisation(
    app: Flask,
) -> None:
    from sqlalchemy import text

    from app.models import OrganisationSettings

    with app.app_context():
        db.session.execute(text("DROP TABLE organisation_settings"))
        db.session.commit()
    try:
        with app.app_context():
            assert organisation_settings().name == "Memnun"
        assert app.test_client().get("/auth/login").status_code == 200
    finally:
        with app.app_context():  # the next tests share this database (PostgreSQL)
            db.session.remove()
            OrganisationSettings.__table__.create(db.engine)
