"""The registry of channels (``app.distribution.channels``): which one reaches a person, and
which complainant rows share their contact."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select

from app.distribution import channels
from app.emails import email_key
from app.extensions import db
from app.models import Complainant, InvitationChannel

GATEWAY = {"MEMNUN_SMS_GATEWAY_URL": "http://127.0.0.1:9/sms"}


def test_e_mail_first_then_sms_when_a_gateway_is_configured() -> None:
    both = Complainant(email="Ayse@Example.org", phone="+90 555 000 00 00")
    phone_only = Complainant(email="  ", phone="+90 555 000 00 01")
    nothing = Complainant(email=None, phone=None)
    assert channels.reaching(both, GATEWAY) is InvitationChannel.EMAIL
    assert channels.reaching(phone_only, GATEWAY) is InvitationChannel.SMS
    assert channels.reaching(phone_only, {}) is None  # no gateway: no SMS
    assert channels.reaching(nothing, GATEWAY) is None
    # The phone is listed for its contact but never sent by: people make the calls.
    assert list(channels.CHANNELS) == [InvitationChannel.EMAIL, InvitationChannel.SMS,
                                       InvitationChannel.PHONE]


def test_the_contact_is_normalised_and_gone_once_erased() -> None:
    person = Complainant(email=" Ayse@Example.org ", phone=" +90 555 000 00 00 ")
    assert channels.contact(person, "email") == "ayse@example.org"
    assert channels.contact(person, InvitationChannel.SMS) == "+90 555 000 00 00"
    person.erased_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert channels.contact(person, "email") == ""
    assert channels.contact(None, "sms") == ""


def test_same_contact_finds_the_persons_other_rows(app: Flask) -> None:
    with app.app_context():
        # Stored as every way in stores addresses (app/emails.py): one person, however written.
        rows = [Complainant(email=email_key("ayse@example.org"), phone="+905550000000"),
                Complainant(email=email_key("AYSE@example.org"), phone=None),
                Complainant(email="mehmet@example.org", phone="+905550000000")]
        db.session.add_all(rows)
        db.session.commit()
        by_email = db.session.scalars(select(Complainant.id).where(
            channels.same_contact(rows[0], InvitationChannel.EMAIL))).all()
        by_phone = db.session.scalars(select(Complainant.id).where(
            channels.same_contact(rows[0], InvitationChannel.SMS))).all()
        assert sorted(by_email) == [rows[0].id, rows[1].id]
        assert sorted(by_phone) == [rows[0].id, rows[2].id]
