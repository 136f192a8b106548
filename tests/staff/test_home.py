"""The home page of each role: what it shows, what it never shows, and how many statements."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from flask import Flask
from sqlalchemy import event, select

from app.extensions import db
from app.followup.services import open_follow_up_if_needed
from app.models import (
    Category,
    Questionnaire,
    QuestionnaireVersion,
    Target,
    Unit,
    VersionStatus,
)
from tests.support.datasets.reports import Data
from tests.support.factories import make_user
from tests.support.web import login

EN = {"Accept-Language": "en"}


def _recent(days: int) -> dt.datetime:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).replace(microsecond=0)


@pytest.fixture
def world(app: Flask) -> Flask:
    """Fen: enough happy answers to show; Zabıta: one unhappy answer (a follow-up) only."""
    with app.app_context():
        data = Data().setup()
        data.bulk_responses("fen", _recent(10), [5, 4, 4, 5, 3, 5, 4])
        unhappy = data.response("zabita", _recent(5), overall=1, email="zeynep@example.org")
        draft = Questionnaire(key="draft-one", title="Draft one")
        db.session.add(
            QuestionnaireVersion(
                questionnaire=draft,
                number=1,
                status=VersionStatus.DRAFT,
                definition={"title": {"en": "A new survey"}},
            )
        )
        db.session.add(Target(unit_id=None, metric="csat", value=0.95))
        db.session.commit()
        open_follow_up_if_needed(unhappy)
    return app


def _home(app: Flask, role: str, units: list[str] | None = None) -> str:
    email = f"{role}-{'-'.join(units or [])}@example.org"
    password = make_user(app, email, role, units=units)
    client = app.test_client()
    login(client, email, password)
    page = client.get("/", headers=EN)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_a_viewer_sees_headline_figures_targets_and_alerts_only(world: Flask) -> None:
    page = _home(world, "viewer")
    assert "CSAT" in page and "Under its target of 95.0%" in page
    assert "Alerts this month" in page
    for absent in (
        "Sending today",
        "Questionnaires in draft",
        "Open follow-ups",
        "Staff accounts",
        "zeynep",
        "Ayşe",
    ):
        assert absent not in page


def test_the_satisfaction_team_sees_today_and_drafts(world: Flask) -> None:
    page = _home(world, "designer")
    assert "Sending today" in page and "Response rate this week" in page
    assert "A new survey" in page and "/admin/questionnaires/draft-one/versions/1" in page
    assert "/admin/operations" in page  # the satisfaction team watches its sending there


def test_a_unit_manager_sees_only_their_units(world: Flask) -> None:
    zabita = _home(world, "viewer", ["zabita"])
    assert "Open follow-ups" in zabita and "Zabıta" in zabita
    assert "zeynep" not in zabita  # no contact data on the home page
    fen = _home(world, "viewer", ["fen"])
    assert "Open follow-ups" in fen and "No open follow-ups." in fen
    assert "Zabıta" not in fen
    assert "Sending today" not in fen


def test_small_groups_show_no_score(world: Flask) -> None:
    page = _home(world, "viewer", ["zabita"])  # one response
    assert "Too few responses" in page


def test_an_admin_sees_everything_and_what_they_administer(world: Flask) -> None:
    page = _home(world, "admin")
    for section in (
        "CSAT",
        "Alerts this month",
        "Sending today",
        "Questionnaires in draft",
        "Open follow-ups",
        "What you administer",
        "/admin/users",
        "/admin/organisation",
    ):
        assert section in page, section


def _statements(app: Flask, client) -> int:  # type: ignore[no-untyped-def]
    client.get("/", headers=EN)  # warm: the first request loads caches
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/", headers=EN).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_statement_count_is_bounded_and_does_not_grow_with_data(world: Flask) -> None:
    password = make_user(world, "counted@example.org", "admin")
    client = world.test_client()
    login(client, "counted@example.org", password)
    with world.app_context():
        before = _statements(world, client)
        data = Data(_numbers=itertools.count(100))  # the world's numbers are 1, 2, ...
        data.units = {u.code: u for u in db.session.scalars(select(Unit))}
        data.categories = {c.code: c for c in db.session.scalars(select(Category))}
        data.version = db.session.scalars(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.status == VersionStatus.PUBLISHED
            )
        ).first()
        data.bulk_responses("park", _recent(3), [1, 2, 5, 4, 3] * 10)
        after = _statements(world, client)
    assert before <= 45, before
    assert after == before
