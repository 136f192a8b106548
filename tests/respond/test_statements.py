"""What a survey visit costs the database, counted per request (issue "speed", survey visit).

A visit is three requests: the e-mail link (GET, moves the token into a cookie), the form (GET)
and the answers (POST). Each looks its token up once, in one statement that also brings what the
page shows; the published version is read once per process, not per visit; the POST claims the
invitation, stores the response and its answers and reads the subscribed webhooks in one
transaction, and reads nothing again after its commit. Counted with SQLAlchemy's engine events
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import FollowUp, Invitation, InvitationState, Response, Webhook, WebhookDelivery
from app.respond.services import find_survey_link, save_first_answer, submit_response
from tests.support.respond import GOOD_ANSWERS, answers_of, form_fields, invite, responses_of
from tests.support.statements import ROLLBACK, Counted, counting

pytestmark = pytest.mark.usefixtures("compiled_catalogues")

LOW_ANSWERS = {"overall": "1", "resolved": "no", "why": "Kimse geri dönmedi."}


def _visit(app: Flask, token: str, answers: dict[str, Any]) -> list[Counted]:
    """The three requests of a visit in a fresh browser; what each did to the database."""
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    found = []
    with counting(engine) as counted:
        link = client.get(f"/s/{token}")
        assert link.status_code == 302
        found.append(counted)
    with counting(engine) as counted:
        page = client.get(link.headers["Location"])
        assert page.status_code == 200
        found.append(counted)
    action, hidden = form_fields(page.get_data(as_text=True), "survey")
    with counting(engine) as counted:
        sent = client.post(action, data={**hidden, **answers})
        assert sent.status_code == 302 and sent.headers["Location"] == "/s/thanks"
        found.append(counted)
    return found


def test_a_visit_takes_one_statement_per_page_and_five_to_store_the_answers(app: Flask) -> None:
    first, second = invite(app, external_id="CMP-1"), invite(app, external_id="CMP-2")
    _visit(app, first.token, GOOD_ANSWERS)  # this process reads the version once, here
    link, form, post = _visit(app, second.token, GOOD_ANSWERS)

    assert len(link.statements) == 1, link  # the token lookup, nothing else
    assert len(form.statements) == 1, form  # the lookup brings the complaint and any response
    # lookup, claim (UPDATE invitation), INSERT response, INSERT answers, subscribed webhooks
    assert len(post.statements) == 5, post
    for counted in (link, form, post):
        assert len(counted.touching("invitation")) == (2 if counted is post else 1), counted
        assert counted.checkouts == 1, counted  # one connection per request, not pinged
        assert not counted.touching("questionnaire_version"), counted
    assert post.commits == 1 and post.after_first_commit() == [], post
    assert [len(c.touching("answer")) for c in (link, form, post)] == [0, 0, 1]
    (response,) = responses_of(app, second.invitation_id)
    assert answers_of(response)["channels"] == ["phone", "visit"]


def test_hooks_get_their_data_before_the_commit_and_only_write_after_it(app: Flask) -> None:
    with app.app_context():
        db.session.add(
            Webhook(
                url="https://hooks.example.org/memnun",
                secret="s" * 32,
                events=["response.created", "response.low_score"],
            )
        )
        db.session.commit()
    warm, invited = invite(app, external_id="CMP-1"), invite(app, external_id="CMP-2")
    _visit(app, warm.token, GOOD_ANSWERS)
    post = _visit(app, invited.token, LOW_ANSWERS)[2]

    # Before the commit: lookup, claim, response, answers, webhooks, unit and category codes.
    assert post.log.index("-- COMMIT") == 6, post
    after = post.after_first_commit()
    assert after and all(line.startswith("INSERT") for line in after), after  # nothing re-read
    assert len(post.touching("webhook_delivery")) == 2 and len(post.touching("follow_up")) == 1
    (response,) = responses_of(app, invited.invitation_id)
    with app.app_context():
        follow_up = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
        assert follow_up is not None and follow_up.reason == "low_score,not_resolved"
        deliveries = {
            d.event_type: d.payload
            for d in db.session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.payload["data"]["id"].as_integer() == response.id
                )
            )
        }
    assert set(deliveries) == {"response.created", "response.low_score"}
    created = deliveries["response.created"]["data"]
    assert created["id"] == response.id and created["unit"] == "fen"
    assert created["category"] == "yol" and created["questionnaire"]["key"] == "respond-test"
    answers = {a["question"]: a["value"] for a in created["answers"]}
    assert answers == {"overall": 1, "resolved": "no"}  # free text is never sent
    assert deliveries["response.low_score"]["data"]["reasons"] == ["low_score", "not_resolved"]


def test_a_one_click_answer_stored_after_the_lookup_is_completed_not_refused(app: Flask) -> None:
    """The POST trusts the partial response read with the invitation; one stored by the page's
    script between that read and the claim is caught by the unique invitation_id, and the
    submission completes it: one response, with the answers sent."""
    invited = invite(app)
    with app.app_context():
        invitation = find_survey_link(invited.token)  # as the POST reads it
        assert invitation is not None and invitation.response_id is None
        with app.app_context():  # the one-click POST, on another connection, in between
            save_first_answer(
                db.session.get(Invitation, invited.invitation_id), {"overall": 2}, "tr"
            )
        with counting(db.engine) as counted:
            complete = submit_response(invitation, {"overall": 4, "resolved": "yes"}, "en")
        assert counted.log.count(ROLLBACK) == 1, counted  # the refused INSERT, then done
        (stored,) = db.session.scalars(select(Response)).all()
        assert stored.id == complete.id and stored.language == "en"
        assert db.session.get(Invitation, invited.invitation_id).state == InvitationState.RESPONDED
    (response,) = responses_of(app, invited.invitation_id)
    assert answers_of(response) == {"overall": 4.0, "resolved": "yes"}
