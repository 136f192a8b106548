"""Fixtures of the reliability tests (those of tests/conftest.py apply here too: app, client,
api_key...; the helpers are in tests/support/).

``privacy_world``: complaints pushed through the real API, resolved, planned, dispatched through
the file mail backend (real .eml files), answered through the respond service, followed up with
a note, with a webhook subscribed to every event. One person (``TARGET``) has two complaints under
two complainant records (the name written differently), and writes their name, address and
phone into every free-text field they can; the others are anonymous in their free text.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tests.support.factories import make_user
from tests.support.privacy import (
    ANONYMOUS,
    OTHER,
    TARGET,
    PrivacyWorld,
    answers_for,
    call_api,
    resolved_complaint,
)


@pytest.fixture
def app_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything the app logs ("app" and the loggers below it) from now on, at every level."""
    caplog.set_level(logging.DEBUG, logger="app")
    return caplog


@pytest.fixture
def privacy_world(app: Flask, client: Any, api_key: str,
                  app_log: pytest.LogCaptureFixture) -> PrivacyWorld:
    from app.design.services import install_all_templates
    from app.distribution.dispatcher import dispatch_due
    from app.distribution.rules import ensure_default_rule
    from app.followup.services import add_note
    from app.models import FollowUp, Invitation, User, Webhook
    from app.respond.services import submit_response

    now = dt.datetime.now(dt.UTC)
    world = PrivacyWorld(start=now - dt.timedelta(days=30), end=now + dt.timedelta(days=1))
    world.admin_password = make_user(app, world.admin_email, "admin")
    with app.app_context():
        install_all_templates()
        rule = ensure_default_rule()
        rule.delay_minutes = 0  # send at once, at any hour: the test need not wait
        rule.send_window_start, rule.send_window_end = "00:00", "23:59"
        rule.fatigue_days = 0  # the target's second complaint is surveyed too
        db.session.add(Webhook(url="http://127.0.0.1:9/hook", secret="s" * 32,
                               events=["response.created", "response.low_score"]))
        db.session.commit()
    call_api(client, api_key, "PUT", "/api/v1/units/fen", {"name": "Fen Isleri", "parent": None})
    call_api(client, api_key, "PUT", "/api/v1/categories/yol",
         {"name": "Yol", "parent": None, "committed_response_days": 10})
    received = now - dt.timedelta(days=3)
    people = [(TARGET, TARGET.name, True), (TARGET, "Z. Karaca", True),
              (OTHER, OTHER.name, True), *((p, p.name, False) for p in ANONYMOUS)]
    for number, (person, name, personal) in enumerate(people, start=1):
        complaint_id = resolved_complaint(client, api_key, f"CMP-{number:04d}", person, name,
                                          received, personal)
        world.complaint_ids.setdefault(person.email.lower(), []).append(complaint_id)
    with app.app_context():
        assert dispatch_due().sent == len(people)
        scores = {TARGET.email.lower(): 1, OTHER.email.lower(): 2}
        for person, _name, personal in people:
            for complaint_id in world.complaint_ids[person.email.lower()]:
                invitation = db.session.scalar(
                    select(Invitation).where(Invitation.complaint_id == complaint_id))
                if invitation.state.value == "responded":
                    continue
                submit_response(invitation, answers_for(
                    person, scores.get(person.email.lower(), 4 + complaint_id % 2), personal),
                    "tr")
        # A gateway's refusal quoting the phone (mail errors are scrubbed of addresses, SMS
        # gateways may still quote a number): kept on the target's first invitation.
        first = db.session.scalar(select(Invitation).where(
            Invitation.complaint_id == world.complaint_ids[TARGET.email.lower()][0]))
        first.last_error = f"gateway: 400 unknown number {TARGET.phone}"
        admin = db.session.scalar(select(User).where(User.email == world.admin_email))
        for person in (TARGET, OTHER):
            follow_up = db.session.scalar(select(FollowUp).where(
                FollowUp.complaint_id == world.complaint_ids[person.email.lower()][0]))
            assert follow_up is not None, "a low score opens a follow-up"
            add_note(follow_up, f"{person.name} arandi ({person.phone}), sorun cozuldu", admin)
            if person is TARGET:
                world.follow_up_id = follow_up.id
        db.session.commit()
    return world
