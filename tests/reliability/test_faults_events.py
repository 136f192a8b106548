"""Faults: complaint events delivered three times, and out of order, over the HTTP API (issue 8).

Integrations retry, and queues reorder. For each of a batch of complaints, its acknowledgement and
its resolution are each delivered three times, all six in a random order and at the same moment
from several threads, through the real API over real HTTP. Each complaint ends with one event of
each kind, in its place in the history (ordered by when it happened, whatever the order of
arrival), the right status and times, and one survey planned. A status change older than the
complaint's last one is refused (409) without a trace, and a repeated reopen counts once.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import ComplaintEvent, Invitation
from tests.support.seed import seed_reference

COMPLAINTS = 12
RECEIVED = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _at(hours: float) -> str:
    return (RECEIVED + dt.timedelta(hours=hours)).isoformat()


def _complaint(number: int) -> dict[str, Any]:
    return {"external_id": f"EV-{number:03d}", "received_at": RECEIVED.isoformat(),
            "channel": "web", "category": "water", "unit": "parks",
            "complainant": {"name": "Deniz", "email": f"deniz{number}@example.org",
                            "language": "tr", "survey_consent": True}}


def test_repeated_and_reordered_events_end_as_one_event_each_in_place(
    app: Flask, live_server: Any, api_key: str
) -> None:
    with app.app_context():
        seed_reference()
    base = f"{live_server.url}/api/v1"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    for number in range(COMPLAINTS):
        assert session.post(f"{base}/complaints", json=_complaint(number)).status_code == 201

    deliveries = [(number, event) for number in range(COMPLAINTS)
                  for event in ({"type": "acknowledged", "at": _at(1)},
                                {"type": "resolved", "at": _at(5)}) for _ in range(3)]
    random.Random(10002).shuffle(deliveries)
    start = threading.Barrier(8)

    def deliver(index: int) -> tuple[int, str, int]:
        number, event = deliveries[index]
        with requests.Session() as own:
            own.headers["Authorization"] = f"Bearer {api_key}"
            if index < 8:
                start.wait(timeout=30)  # the first eight leave together
            answer = own.post(f"{base}/complaints/ext:EV-{number:03d}/events", json=event,
                              timeout=30)
        return number, event["type"], answer.status_code

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(deliver, range(len(deliveries))))
    # Per complaint and kind: stored once (201), the two repeats answered 200.
    per_kind = Counter((number, kind, status) for number, kind, status in outcomes)
    for number in range(COMPLAINTS):
        for kind in ("acknowledged", "resolved"):
            assert (per_kind[(number, kind, 201)], per_kind[(number, kind, 200)]) == (1, 2), (
                number, kind, per_kind)

    for number in range(COMPLAINTS):
        document = session.get(f"{base}/complaints/ext:EV-{number:03d}").json()
        history = [(event["type"], event["at"]) for event in document["history"]]
        assert [kind for kind, _ in history] == ["received", "acknowledged", "resolved"]
        assert [dt.datetime.fromisoformat(at) for _, at in history] == [
            RECEIVED, RECEIVED + dt.timedelta(hours=1), RECEIVED + dt.timedelta(hours=5)]
        assert document["status"] == "resolved"
        assert dt.datetime.fromisoformat(document["acknowledged_at"]) == RECEIVED + dt.timedelta(
            hours=1)
        assert dt.datetime.fromisoformat(document["resolved_at"]) == RECEIVED + dt.timedelta(
            hours=5)
        assert len(document["invitations"]) == 1

    # A status change dated before the last one is refused, and leaves nothing behind.
    stale = session.post(f"{base}/complaints/ext:EV-000/events",
                         json={"type": "closed", "at": _at(4)})
    assert stale.status_code == 409
    # A reopen delivered three times counts once and cancels the planned survey once.
    statuses = sorted(session.post(f"{base}/complaints/ext:EV-001/events",
                                   json={"type": "reopened", "at": _at(6)}).status_code
                      for _ in range(3))
    assert statuses == [200, 200, 201]
    reopened = session.get(f"{base}/complaints/ext:EV-001").json()
    assert (reopened["status"], reopened["reopen_count"]) == ("reopened", 1)
    assert [event["type"] for event in reopened["history"]][-1] == "reopened"

    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(ComplaintEvent))
        invitations = db.session.scalar(select(func.count()).select_from(Invitation))
    assert events == 3 * COMPLAINTS + 1
    assert invitations == COMPLAINTS
