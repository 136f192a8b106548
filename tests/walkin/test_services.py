"""Walk-in service points and their answers, on SQLite and PostgreSQL: codes, the per-device
limit, the stuffing rules, accepting and rejecting held answers."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import insert, select

from app.extensions import db
from app.models import AuditLog, Response, ResponseMode, ResponseSource, ServicePoint, WalkInDevice
from app.walkin import services
from app.walkin.codes import hash_code
from tests.support.walkin import GOOD, answer, answer_count, make_point, walk_ins

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def test_a_point_keeps_only_the_hash_of_its_code(app: Flask) -> None:
    point_id, code = make_point(app)
    with app.app_context():
        point = db.session.get(ServicePoint, point_id)
        assert point is not None
        assert point.token_hash == hash_code(code) and code not in point.token_hash
        assert services.current_code(point) == code  # the poster can be printed again
        assert services.find_point(code) == (point, services.CodeState.OPEN)
        assert services.find_point(code[:-1] + ("A" if code[-1] != "A" else "B"))[1] == \
            services.CodeState.UNKNOWN
        assert services.find_point("nonsense")[1] == services.CodeState.UNKNOWN
        assert db.session.scalar(select(AuditLog.action).where(
            AuditLog.target == f"service_point:{point_id}")) == "service_point.create"


def test_a_new_code_ends_the_old_one(app: Flask) -> None:
    point_id, old = make_point(app)
    with app.app_context():
        point = db.session.get(ServicePoint, point_id)
        assert point is not None
        new = services.regenerate(point, "test")
        assert new != old
        assert services.find_point(new)[1] == services.CodeState.OPEN
        assert services.find_point(old) == (point, services.CodeState.ENDED)
        services.deactivate(point, "test")
        assert services.find_point(new)[1] == services.CodeState.ENDED


def test_a_point_code_must_be_new(app: Flask) -> None:
    make_point(app, code="DESK-1")
    with pytest.raises(services.ServicePointError):
        make_point(app, code="DESK-1")


def test_a_walk_in_answer_has_no_invitation_and_no_person(app: Flask) -> None:
    point_id, _code = make_point(app)
    stored = answer(app, point_id, {**GOOD, "comment": "Kısa bekledim"})
    with app.app_context():
        response = db.session.get(Response, stored)
        assert response is not None
        assert (response.invitation_id, response.complaint_id, response.category_id) == \
            (None, None, None)
        assert response.mode == ResponseMode.WALK_IN
        assert response.source == ResponseSource.SERVICE_USER
        assert response.service_point_id == point_id and not response.held
        assert {a.question_key for a in response.answers} == {"overall", "done", "comment"}


def test_the_cookie_refuses_a_second_answer_and_stores_nothing(app: Flask) -> None:
    point_id, _code = make_point(app)
    answer(app, point_id)
    before = answer_count(app)
    with pytest.raises(services.AnsweredToday):
        answer(app, point_id, answered_here_today=True)
    assert answer_count(app) == before and len(walk_ins(app, point_id)) == 1


def test_the_same_device_without_its_cookie_is_held(app: Flask) -> None:
    point_id, _code = make_point(app)
    answer(app, point_id, device="10.0.0.7")
    answer(app, point_id, {"overall": 1}, device="10.0.0.7")
    answer(app, point_id, {"overall": 3}, device="10.0.0.8")
    assert [(held, reason) for _id, held, reason in walk_ins(app, point_id)] == \
        [(False, None), (True, "device"), (False, None)]
    with app.app_context():  # one keyed hash per device and day, never the address
        prints = db.session.scalars(select(WalkInDevice.fingerprint)).all()
        assert len(prints) == 2 and not any("10.0.0" in p for p in prints)


def test_old_device_traces_are_deleted(app: Flask) -> None:
    point_id, _code = make_point(app)
    answer(app, point_id, device="a", at=NOW - dt.timedelta(days=3))
    answer(app, point_id, device="b", at=NOW)
    with app.app_context():
        assert db.session.scalars(select(WalkInDevice.day)).all() == [NOW.date()]


def test_a_burst_is_held_whole(app: Flask) -> None:
    point_id, _code = make_point(app)
    for minute in range(7):  # an ordinary morning: within the floor of 8 in ten minutes
        answer(app, point_id, {"overall": 1 + minute % 5}, device=f"d{minute}",
               at=NOW + dt.timedelta(minutes=minute))
    assert not any(held for _id, held, _reason in walk_ins(app, point_id))
    answer(app, point_id, {"overall": 2}, device="d8", at=NOW + dt.timedelta(minutes=8))
    assert [(held, reason) for _id, held, reason in walk_ins(app, point_id)] == \
        [(True, "burst")] * 8


def test_a_busy_point_s_usual_rate_is_no_burst(app: Flask) -> None:
    point_id, _code = make_point(app)
    # Four weeks of 100 answers a day: two per ten open minutes.
    first = answer(app, point_id, device="first", at=NOW - dt.timedelta(days=28))
    with app.app_context():
        version_id, questionnaire_id, unit_id = db.session.execute(select(
            Response.version_id, Response.questionnaire_id, Response.unit_id)
            .where(Response.id == first)).one()
        db.session.execute(insert(Response), [
            {"version_id": version_id, "questionnaire_id": questionnaire_id, "unit_id": unit_id,
             "service_point_id": point_id, "channel": "walk_in", "mode": "walk_in",
             "source": "service_user", "language": "en",
             "submitted_at": NOW - dt.timedelta(days=day, minutes=n)}
            for day in range(1, 28) for n in range(100)])
        db.session.commit()
    for n in range(9):  # a queue at opening time: nine in ten minutes is no burst here
        answer(app, point_id, {"overall": 1 + n % 5}, device=f"q{n}",
               at=NOW + dt.timedelta(minutes=n))
    assert not any(held for _id, held, _r in walk_ins(app, point_id))


def test_a_run_of_identical_answers_is_held(app: Flask) -> None:
    point_id, _code = make_point(app)
    for n in range(7):
        answer(app, point_id, {"overall": 5, "done": "yes"}, device=f"p{n}",
               at=NOW + dt.timedelta(minutes=2 * n))
    assert not any(held for _id, held, _reason in walk_ins(app, point_id))
    answer(app, point_id, {"overall": 5, "done": "yes"}, device="p7",
           at=NOW + dt.timedelta(minutes=14))
    assert [(held, reason) for _id, held, reason in walk_ins(app, point_id)] == \
        [(True, "pattern")] * 8


def test_accepting_counts_held_answers_and_rejecting_deletes_them(app: Flask) -> None:
    point_id, _code = make_point(app)
    answer(app, point_id, device="x")
    first = answer(app, point_id, {"overall": 2}, device="x")
    second = answer(app, point_id, {"overall": 1}, device="x")
    with app.app_context():
        assert services.accept([first], None, "user:a@example.org") == 1
        assert services.accept([first], None, "user:a@example.org") == 0  # not held any more
        assert services.reject([second], frozenset({999}), "user:a@example.org") == 0  # scope
        assert services.reject([second], None, "user:a@example.org") == 1
        audit = db.session.execute(select(AuditLog.action, AuditLog.target).where(
            AuditLog.action.like("walk_in.%")).order_by(AuditLog.id)).all()
        assert [tuple(row) for row in audit] == [("walk_in.accept", f"response:{first}"),
                                                 ("walk_in.reject", f"response:{second}")]
    assert [(i, held) for i, held, _r in walk_ins(app, point_id)][1:] == [(first, False)]


def test_answers_that_do_not_fit_are_refused(app: Flask) -> None:
    point_id, _code = make_point(app)
    with pytest.raises(ValueError):
        answer(app, point_id, {"overall": 9})
    assert walk_ins(app, point_id) == []
