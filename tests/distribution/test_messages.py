"""The prebuilt templates of MessageBuilder give exactly the e-mail rendered message by message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from app.distribution.dispatcher import _load
from app.distribution.messages import MARKER_START, MessageBuilder, build_message
from app.distribution.tokens import token_for
from app.extensions import db
from app.models import Questionnaire
from tests.support.distribution import DEFINITION, make_questionnaire, planned_invitation

UTC = dt.UTC
NOW = dt.datetime(2024, 5, 15, 10, 0, tzinfo=UTC)


def parts(message: Any) -> tuple[str, str, str, str]:
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    return str(message["Subject"]), text, html, message["List-Unsubscribe"]


def test_prebuilt_messages_equal_the_ones_rendered_one_by_one(app: Flask) -> None:
    with app.app_context():
        ids = [
            planned_invitation(app, NOW, external_id='CMP-<b>&"1"</b>', language="tr"),
            planned_invitation(app, NOW, external_id="CMP-2", language="en",
                               received_at=NOW - dt.timedelta(days=40)),
            planned_invitation(app, NOW, external_id="CMP-3", language="tr"),
        ]
        builder = MessageBuilder()
        for reminder in (False, True):
            for invitation in _load(ids):
                token = token_for(invitation.id)
                alone = build_message(invitation, token, reminder=reminder, now=NOW)
                shared = build_message(invitation, token, reminder=reminder, now=NOW,
                                       builder=builder)
                assert parts(shared) == parts(alone)
                assert token in parts(shared)[1]
        html = parts(build_message(_load(ids[:1])[0], "t" * 43, now=NOW, builder=builder))[2]
        assert "CMP-&lt;b&gt;&amp;" in html and "<b>" not in html  # the reference is escaped
        assert MARKER_START not in html


def test_a_questionnaire_holding_a_marker_character_is_rendered_one_by_one(app: Flask) -> None:
    with app.app_context():
        odd = {**DEFINITION, "intro": {"tr": f"Giriş {MARKER_START}", "en": "Intro"}}
        questionnaire = make_questionnaire("odd", definition=odd)
        db.session.commit()
        invitation_id = planned_invitation(app, NOW)
        invitation = _load([invitation_id])[0]
        invitation.version = db.session.get(Questionnaire, questionnaire.id).published_version
        token = token_for(invitation_id)
        shared = build_message(invitation, token, now=NOW, builder=MessageBuilder())
        assert parts(shared) == parts(build_message(invitation, token, now=NOW))
        assert f"Giriş {MARKER_START}" in parts(shared)[1]
