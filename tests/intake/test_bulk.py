"""Bulk intake (``app.intake.batch``): a batch of complaints is written with a fixed number of
statements whatever its size, stores exactly what the same items sent one by one store (rows,
events, the hourly rollup), and two identical batches at once store everything once. Runs on
SQLite and, with MEMNUN_TEST_DATABASE_URL, on PostgreSQL (where the rows go in by COPY)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from app.analytics.rollup import rebuild
from app.extensions import db
from app.intake import batch
from app.models import Complainant, Complaint, ComplaintEvent, HourlyFigures, bulk
from tests.support.api import RECEIVED, admin_api, complaint_body, seed_reference
from tests.support.statements import counted_statements

ACTOR = "api_key:test"


@pytest.fixture
def reference(app: Flask) -> None:
    api = admin_api(app)
    seed_reference(api)
    # A category that commits to nothing itself: its due time comes from its parent's days.
    assert api.put("/categories/cop.cam", json={"name": "Cam", "parent": "cop"}).status_code == 201


def _item(number: int, **overrides: Any) -> dict[str, Any]:
    person = {
        "name": f"Kişi {number}",
        "email": f"kisi{number}@example.com.tr",
        "language": "tr",
        "survey_consent": True,
        **overrides.pop("person", {}),
    }
    received = RECEIVED + dt.timedelta(hours=number % 7, minutes=number)
    return complaint_body(
        **{
            "external_id": f"BULK-{number:04d}",
            "complainant": person,
            "received_at": received.isoformat(),
            **overrides,
        }
    )


def _receive(app: Flask, items: list[Any]) -> list[batch.Outcome]:
    with app.test_request_context():
        db.session.remove()
        return batch.receive_complaints(items, ACTOR)


def test_the_statements_of_a_batch_do_not_grow_with_its_size(app: Flask, reference: None) -> None:
    """10 and 200 new complaints (each with a new complainant), and 10 and 200 sent again:
    the same number of statements each time."""
    counts = {}
    for size, first in ((10, 0), (200, 100)):
        items = [_item(first + n) for n in range(size)]
        for attempt in ("new", "again"):
            with app.app_context():
                db.session.remove()
                with counted_statements(db.engine) as statements:
                    outcomes = _receive(app, items)
            assert {o.status for o in outcomes} == ({201} if attempt == "new" else {200})
            counts[size, attempt] = statements.count
    assert counts[10, "new"] == counts[200, "new"], counts
    assert counts[10, "again"] == counts[200, "again"], counts
    # New: the stored complaints, categories, units and complainants read (one query each),
    # then on PostgreSQL the ids drawn, three COPYs, BEGIN and COMMIT; on SQLite three INSERTs
    # (BEGIN and COMMIT are not statements there). Again: the four reads, nothing written.
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    assert counts[200, "new"] <= (10 if postgresql else 7), counts
    assert counts[200, "again"] <= (6 if postgresql else 4), counts


def test_each_thread_builds_its_own_lookup_statements(app: Flask) -> None:
    """bulk.matching keeps what it builds per thread: threads compiling one ORM statement
    object for the first time at once failed now and then (NoSuchColumnError)."""
    built: dict[str, Any] = {}

    def build(name: str) -> None:
        with app.app_context():
            built[name] = bulk.matching(Complaint, "external_id", source="default")[0]

    threads = [threading.Thread(target=build, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    build("main")
    assert built["a"] is not built["b"] and built["main"] is not built["a"]
    with app.app_context():
        assert bulk.matching(Complaint, "external_id", source="default")[0] is built["main"]


def _mixed_items() -> list[Any]:
    """Items of every kind a batch meets: new people and known ones, shared and differing
    data, an opted-out person, no e-mail, an explicit due time, a due time from a parent
    category, repeats within the batch, the stored ones, invalid ones."""
    return [
        _item(1),  # stored before: 200
        _item(1, subject="Başka"),  # stored before, other: 409
        _item(2),
        _item(3, person={"email": "kisi2@example.com.tr", "name": "Kişi 2"}),
        _item(4, person={"email": "kisi2@example.com.tr", "name": "Başka Ad"}),
        _item(5, person={"email": "optout@example.com.tr", "name": "Çıkan"}),
        _item(6, person={"email": None, "name": "Adsız"}),
        _item(7, person={"email": None, "name": "Adsız"}),
        _item(8, due_at=(RECEIVED + dt.timedelta(days=30)).isoformat()),
        _item(9, category="cop.cam"),
        _item(10, category="temizlik", unit="fen"),
        _item(11, unit="yok"),  # unknown unit: 422
        _item(12, channel="fax"),  # invalid: 422
        "not a complaint",  # 422
        _item(2),  # again in the batch: 200
        _item(9, subject="değişti"),  # again, other content: 409
        *[_item(20 + n, person={"language": "en"}) for n in range(6)],
    ]


def _prestore(app: Flask) -> None:
    """One complaint stored before, and a person who opted out."""
    assert {o.status for o in _receive(app, [_item(1)])} == {201}
    assert {
        o.status
        for o in _receive(
            app, [_item(99, person={"email": "optout@example.com.tr", "name": "Çıkan"})]
        )
    } == {201}
    with app.app_context():
        person = db.session.scalar(
            select(Complainant).where(Complainant.email == "optout@example.com.tr")
        )
        person.opted_out_at = RECEIVED
        db.session.commit()


def _answers(outcomes: list[batch.Outcome]) -> list[tuple[Any, ...]]:
    """The outcomes without the stored ids, which differ from one run to the other."""

    def error(outcome: batch.Outcome) -> Any:
        if outcome.error is None:
            return None
        details = outcome.error["details"]
        if isinstance(details, dict):
            details = {k: v for k, v in details.items() if k != "complaint_id"}
        return outcome.error["code"], details

    return [
        (o.index, o.status, o.external_id, o.id is not None, error(o)) for o in outcomes
    ]


def _stored(app: Flask) -> dict[str, Any]:
    """What is stored, without ids and times of writing; complainants shared as they are."""
    with app.app_context():
        complaints = db.session.scalars(select(Complaint).order_by(Complaint.external_id)).all()
        people: dict[int, int] = {}
        rows = []
        for c in complaints:
            person = c.complainant
            rows.append(
                (
                    c.external_id,
                    c.source,
                    c.received_at,
                    c.channel,
                    c.category.code,
                    c.unit.code,
                    c.subject,
                    c.description,
                    c.status,
                    c.due_at,
                    c.reopen_count,
                    c.acknowledged_at,
                    c.resolved_at,
                    c.closed_at,
                    people.setdefault(person.id, len(people)),
                    (
                        person.name,
                        person.email,
                        person.phone,
                        person.language,
                        person.survey_consent,
                        person.opted_out_at,
                        person.erased_at,
                    ),
                )
            )
        events = sorted(
            (e.complaint.external_id, e.type, e.at, e.note, e.actor)
            for e in db.session.scalars(select(ComplaintEvent))
        )
        return {
            "complaints": rows,
            "events": events,
            "complainants": db.session.query(Complainant).count(),
            "rollup": _rollup(),
        }


def _rollup() -> dict[tuple[Any, int], tuple[Any, ...]]:
    """``hourly_figures`` summed over the writers' slots, rows of zeros left out."""
    names = [
        c.name for c in HourlyFigures.__table__.columns if c.name not in ("hour", "unit_id", "slot")
    ]
    sums: dict[tuple[Any, int], Counter[str]] = {}
    for row in db.session.scalars(select(HourlyFigures)):
        total = sums.setdefault((row.hour, row.unit_id), Counter())
        for name in names:
            total[name] += getattr(row, name)
    return {
        key: tuple(total[name] for name in names)
        for key, total in sums.items()
        if any(total.values())
    }


def _forget_complaints(app: Flask) -> None:
    with app.app_context():
        for model in (ComplaintEvent, Complaint, Complainant):
            db.session.execute(delete(model))
        db.session.commit()
        assert _rollup() == {}  # the triggers took every complaint's figures away again


def test_a_batch_stores_what_the_items_one_by_one_store(
    app: Flask, reference: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _mixed_items()
    _prestore(app)
    with monkeypatch.context() as patch:
        patch.setattr(batch, "ROUNDS", 0)  # every item through the single-complaint path
        one_by_one = _receive(app, items)
    expected = _stored(app)
    _forget_complaints(app)
    _prestore(app)
    in_bulk = _receive(app, items)
    assert _answers(in_bulk) == _answers(one_by_one)
    assert [o.status for o in in_bulk][:4] == [200, 409, 201, 201]
    stored = _stored(app)
    assert stored == expected
    # And the rollup holds what a rebuild from the rows computes.
    with app.app_context():
        connection = db.session.connection()
        rebuild(connection)
        assert _rollup() == stored["rollup"]
        db.session.rollback()


def test_two_identical_batches_at_once_store_everything_once(app: Flask, reference: None) -> None:
    items = [_item(n) for n in range(120)]
    results: list[list[batch.Outcome]] = [[], []]
    start = threading.Barrier(2)

    def send(number: int) -> None:
        with app.test_request_context():
            start.wait()
            results[number] = batch.receive_complaints(items, ACTOR)
            db.session.remove()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = results
    assert len(first) == len(second) == len(items)
    for a, b in zip(first, second, strict=True):
        assert sorted((a.status, b.status)) == [200, 201]
        assert a.id == b.id is not None
    with app.app_context():
        assert db.session.query(Complaint).count() == len(items)
        assert db.session.query(ComplaintEvent).count() == len(items)
        assert db.session.query(Complainant).count() == len(items)
    assert {o.status for o in _receive(app, items)} == {200}
