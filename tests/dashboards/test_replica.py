"""The replica readers (app.databases): the dashboards, the metrics API and the alerts read the
replica while it answers, everything that writes stays on the primary, a replica that does not
answer sends the reads to the primary and the dashboards say so, and the replica is asked about
its state at most every few seconds, not per query.

The "replica" here is a second database with the same schema and none of the primary's rows,
so where a figure comes from shows in the figure. Real streaming replication, lag and a replica
stopped and started again are in tests/cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text

from app import create_app
from app.databases import LAG_SQL, NO_LAG_SQL, replica_of, replica_reads, use_replica
from app.extensions import db
from app.models import Response, Unit
from tests.support.dashboards import CALLBACK, callback_body
from tests.support.database import base_config, scratch_database
from tests.support.datasets.analytics import Builder, build_january
from tests.support.factories import make_user
from tests.support.web import login

NOTICE = "reporting copy of the database"


@pytest.fixture
def empty_copy(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with the schema and no rows: what the replica reads show."""
    folder = tmp_path / "replica"
    folder.mkdir()
    with scratch_database(backend, folder) as url:
        schema = create_app(base_config(url, folder))
        with schema.app_context():
            db.create_all()
            db.session.remove()
            db.engine.dispose()
        yield url


def unreachable(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'replica.sqlite'}"
    return "postgresql://postgres@127.0.0.1:9/memnun"  # the discard port: nothing listens


@contextlib.contextmanager
def dashboard_client(app: Flask) -> Iterator[Any]:
    with app.app_context():
        build_january(Builder().setup())
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "viewer@example.org", make_user(app, "viewer@example.org", role="viewer"))
    client.get("/dashboards/")
    yield client
    with app.app_context():
        replica = replica_of(app)
        if replica is not None:
            replica.engine.dispose()


def overview(client: Any) -> tuple[str, str]:
    """(responses shown on the overview, its status line)."""
    token = client.get_cookie("_csrf_token", path="/dashboards/").value
    answer = client.post(CALLBACK, json=callback_body(), headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()["response"]
    cards = {card["props"]["id"]: [c["props"]["children"] for c in card["props"]["children"]]
             for card in body["kpis"]["children"]}
    return cards["kpi-responses"][1], body["status"]["children"]


def count_checks(app: Flask) -> list[int]:
    """How many times the replica is asked about its lag (a list holding one growing count)."""
    calls = [0]
    replica = replica_of(app)
    assert replica is not None

    @event.listens_for(replica.engine, "before_cursor_execute")
    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.strip() in (str(LAG_SQL).strip(), str(NO_LAG_SQL).strip()):
            calls[0] += 1

    return calls


def test_dashboards_read_the_replica_and_the_person_from_the_primary(make_app,
                                                                      empty_copy) -> None:
    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_REPLICA_DATABASE_URL=empty_copy,
                   MEMNUN_REPLICA_CHECK_SECONDS=3600)
    checks = count_checks(app)
    with dashboard_client(app) as client:
        # The primary holds January's 9 responses; the replica none. Logged in (the person is
        # read from the primary: the replica has no users at all), the figures are the
        # replica's, and no notice is shown.
        for _ in range(5):
            responses, status = overview(client)
            assert responses == "0"
            assert NOTICE not in status
    assert checks[0] == 1  # asked once in five callbacks: the answer is kept for a while


def test_a_replica_that_does_not_answer_sends_the_dashboards_to_the_primary(
        make_app, backend, tmp_path) -> None:
    app = make_app(MEMNUN_TIMEZONE="UTC",
                   MEMNUN_REPLICA_DATABASE_URL=unreachable(backend, tmp_path))
    with dashboard_client(app) as client:
        responses, status = overview(client)
    assert responses == "9"  # the primary's, not an error
    assert NOTICE in status
    replica = replica_of(app)
    assert replica is not None and replica.reason == "unreachable"


def test_the_notice_is_translated(make_app, backend, tmp_path, compiled_catalogues) -> None:
    app = make_app(MEMNUN_TIMEZONE="UTC",
                   MEMNUN_REPLICA_DATABASE_URL=unreachable(backend, tmp_path))
    with dashboard_client(app) as client:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "tr"
        client.post("/language", data={"language": "tr", "next": "/dashboards/"})
        _responses, status = overview(client)
    assert NOTICE not in status
    assert "veritaban" in status.lower()


def test_without_a_replica_nothing_changes_and_no_notice(make_app) -> None:
    app = make_app(MEMNUN_TIMEZONE="UTC")
    with dashboard_client(app) as client:
        responses, status = overview(client)
    assert responses == "9" and NOTICE not in status


def test_writes_and_locking_reads_in_a_replica_context_go_to_the_primary(
        make_app, empty_copy) -> None:
    app = make_app(MEMNUN_REPLICA_DATABASE_URL=empty_copy)
    with app.app_context():
        use_replica()
        db.session.add(Unit(code="written", name="Written in a replica context"))
        db.session.commit()  # a flush: the primary
        db.session.execute(text("UPDATE unit SET name = 'Renamed' WHERE code = 'written'"))
        db.session.commit()
        locked = db.session.scalars(select(Unit.name).where(Unit.code == "written")
                                    .with_for_update()).all()
        plain = db.session.scalars(select(Unit.name).where(Unit.code == "written")).all()
        db.session.rollback()
        db.session.remove()
    assert locked == ["Renamed"]  # FOR UPDATE: the primary
    assert plain == []  # a plain read: the replica, which has no such unit
    with app.app_context():  # a new request: the primary again
        assert db.session.scalars(select(Unit.name).where(Unit.code == "written")).all() == [
            "Renamed"]
        replica_of(app).engine.dispose()


def test_replica_reads_ends_with_the_function(make_app, empty_copy) -> None:
    app = make_app(MEMNUN_REPLICA_DATABASE_URL=empty_copy)

    @replica_reads
    def count() -> int:
        return db.session.scalar(select(func.count()).select_from(Unit)) or 0

    with app.app_context():
        db.session.add(Unit(code="u1", name="One"))
        db.session.commit()
        assert count() == 0  # the replica
        assert (db.session.scalar(select(func.count()).select_from(Unit)) or 0) == 1
        assert (db.session.scalar(select(func.count()).select_from(Response)) or 0) == 0
        db.session.remove()
        replica_of(app).engine.dispose()


def test_the_metrics_api_reads_the_replica(make_app, empty_copy, backend, tmp_path) -> None:
    from tests.support.api import make_key

    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_REPLICA_DATABASE_URL=empty_copy)
    down = make_app(MEMNUN_TIMEZONE="UTC",
                    MEMNUN_REPLICA_DATABASE_URL=unreachable(backend, tmp_path))
    with app.app_context():
        build_january(Builder().setup())
    from app.models import ApiScope

    key = make_key(app, ApiScope.READ)
    query = "/api/v1/metrics?from=2025-01-01&to=2025-01-31"
    replica_answer = app.test_client().get(query, headers={"Authorization": f"Bearer {key}"})
    primary_answer = down.test_client().get(query, headers={"Authorization": f"Bearer {key}"})
    assert replica_answer.status_code == primary_answer.status_code == 200, (
        replica_answer.get_data(as_text=True))
    assert replica_answer.get_json() != primary_answer.get_json()
    for each in (app, down):
        with each.app_context():
            replica_of(each).engine.dispose()
