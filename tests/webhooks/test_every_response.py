"""Every new response fires ``response.created`` once, through the one implementation the
survey link uses: a link's, a phone interview's and a walk-in answer's (a held one when it is
accepted), each saying its source and mode, none carrying personal data or free text. Delivered
to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json

from sqlalchemy import select

from app.extensions import db
from app.models import Invitation, Response, User
from app.models.types import utcnow
from app.respond.services import submit_response
from app.walkin import services as walkin
from app.webhooks import LOW_SCORE, RESPONSE_CREATED, deliver_due_webhooks
from tests.support.factories import make_user
from tests.support.walkin import answer, make_point, walk_ins
from tests.webhooks.test_webhooks import (
    add_webhook,
    check_signature,
    deliveries,
    make_invitation,
)
from tests.webhooks.test_webhooks import receiver as receiver  # noqa: F401 - the fixture

PRIVATE = "Ben Ayşe, 0555 123 45 67"


def _delivered(app, receiver) -> list[dict]:  # noqa: F811  # type: ignore[no-untyped-def]
    with app.app_context():
        deliver_due_webhooks(now=utcnow())
    return [check_signature(item) for item in receiver.received]


def test_a_walk_in_answer_is_posted_with_its_source_and_mode(app, receiver) -> None:  # noqa: F811
    add_webhook(app, receiver.url, [RESPONSE_CREATED, LOW_SCORE])
    point_id, _code = make_point(app)
    response_id = answer(app, point_id, {"overall": 1, "done": "no", "comment": PRIVATE})
    bodies = _delivered(app, receiver)
    by_type = {body["type"]: body["data"] for body in bodies}
    assert sorted(body["type"] for body in bodies) == [RESPONSE_CREATED, LOW_SCORE]
    data = by_type[RESPONSE_CREATED]
    assert data["id"] == response_id
    assert (data["source"], data["mode"], data["channel"]) == ("service_user", "walk_in",
                                                               "walk_in")
    assert data["complaint_id"] is None and data["unit"] == "cevre"
    assert {a["question"] for a in data["answers"]} == {"overall", "done"}
    assert "Ayşe" not in json.dumps(bodies, ensure_ascii=False) and "0555" not in json.dumps(
        bodies)


def test_a_held_walk_in_answer_is_posted_once_when_accepted(app, receiver) -> None:  # noqa: F811
    add_webhook(app, receiver.url)
    point_id, _code = make_point(app)
    answer(app, point_id, device="10.0.0.7")
    answer(app, point_id, {"overall": 2}, device="10.0.0.7")  # the same device: held
    [(first, _f, _r), (held, is_held, _reason)] = walk_ins(app, point_id)
    assert is_held
    assert [body["data"]["id"] for body in _delivered(app, receiver)] == [first]
    with app.app_context():
        assert walkin.accept([first, held], None, "test") == 1  # the first was never held
        assert walkin.accept([held], None, "test") == 0
    assert [body["data"]["id"] for body in _delivered(app, receiver)] == [first, held]


def test_a_burst_s_earlier_answers_are_not_posted_again_when_accepted(
        make_app, receiver) -> None:  # noqa: F811
    from tests.webhooks.conftest import LOOPBACK_ALLOWED

    app = make_app(**LOOPBACK_ALLOWED, MEMNUN_WALKIN_BURST_FLOOR=3, MEMNUN_WALKIN_PATTERN_RUN=50)
    add_webhook(app, receiver.url)
    point_id, _code = make_point(app)
    for number in range(3):  # the third makes a burst, which holds the two before it too
        answer(app, point_id, {"overall": 1 + number}, device=f"d{number}")
    ids = [row_id for row_id, held, _reason in walk_ins(app, point_id) if held]
    assert len(ids) == 3
    assert len(_delivered(app, receiver)) == 2  # the two stored before the burst
    with app.app_context():
        assert walkin.accept(ids, None, "test") == 3
    assert sorted(body["data"]["id"] for body in _delivered(app, receiver)) == sorted(ids)


def test_a_link_and_a_phone_interview_say_their_mode(app, receiver) -> None:  # noqa: F811
    add_webhook(app, receiver.url)
    link = make_invitation(app)
    phone = make_invitation(app, "zabita")
    make_user(app, "caller@example.org", "designer")
    with app.app_context():
        caller = db.session.scalar(select(User.id).where(User.email == "caller@example.org"))
        submit_response(db.session.get(Invitation, link), {"overall": 4, "resolved": "yes"},
                        "tr")
        submit_response(db.session.get(Invitation, phone), {"overall": 5, "resolved": "yes"},
                        "tr", interviewer_id=caller)
        modes = dict(db.session.execute(select(Response.invitation_id, Response.mode)).all())
    bodies = _delivered(app, receiver)
    assert len(bodies) == 2 and len(deliveries(app)) == 2  # once each
    sent = {body["data"]["id"]: body["data"] for body in bodies}
    assert sorted((data["source"], data["mode"]) for data in sent.values()) == [
        ("complainant", "email"), ("complainant", "phone")]
    assert set(modes.values()) == {"email", "phone"}
