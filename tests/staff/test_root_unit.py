"""The single root unit is the organisation: one entry in the unit pickers, and the same figures,
targets, actions and alerts whether one asks for "the whole organisation" or for the root."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from sqlalchemy import select

from app.actions.services import create_action
from app.analytics.overview import overview
from app.analytics.targets import all_targets, targets_for
from app.analytics.tree import unit_tree
from app.auth.scope import unit_choices
from app.extensions import db
from app.models import ImprovementAction, Target, Unit, User
from app.reports.alerts import current_alerts
from app.reports.targets import set_target
from tests.support.api import admin_api
from tests.support.datasets.reports import Data, at
from tests.support.factories import make_user


@pytest.fixture
def one_tree(app: Flask) -> Flask:
    """Belediye (the root) above Fen, Park and Zabıta, with answers in January 2025."""
    with app.app_context():
        data = Data().setup()
        data.units["zabita"].parent = data.units["city"]
        db.session.commit()
        data.bulk_responses("fen", at(2025, 1, 10), [5, 4, 4, 5, 3, 2])
        data.bulk_responses("zabita", at(2025, 1, 12), [1, 2, 5, 4, 4])
    return app


def _id(code: str) -> int:
    return int(db.session.scalar(select(Unit.id).where(Unit.code == code)))


def _user(app: Flask, email: str, role: str = "admin") -> User:
    make_user(app, email, role)
    return db.session.scalar(select(User).where(User.email == email))


def test_pickers_list_the_root_once_as_the_organisation(one_tree: Flask) -> None:
    with one_tree.app_context():
        admin = _user(one_tree, "admin@example.org")
        names = [name for _, name in unit_choices(admin)]
        assert "Belediye" not in names and "Fen İşleri" in names
    make_user(one_tree, "viewer@example.org", "viewer")
    from tests.support.web import login

    client = one_tree.test_client()
    login(client, "admin@example.org", "correct horse battery")
    page = client.get("/reports/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", page)
    # Two pickers (pack, responses export), each with the organisation once, by the settings'
    # name, and without the root unit.
    assert options.count("Memnun") == 2 and "Belediye" not in options
    assert "The whole organisation" not in page


def test_two_roots_are_both_listed(app: Flask) -> None:
    with app.app_context():
        Data().setup()  # city and zabita are both roots here
        admin = _user(app, "admin@example.org")
        names = [name for _, name in unit_choices(admin)]
        assert "Belediye" in names and "Zabıta" in names


def test_figures_of_the_organisation_and_of_the_root_are_one(one_tree: Flask) -> None:
    with one_tree.app_context():
        whole = overview(dt.date(2025, 1, 1), dt.date(2025, 2, 1), None, 5, tz="UTC")
        root = overview(dt.date(2025, 1, 1), dt.date(2025, 2, 1), [_id("city")], 5, tz="UTC")
        assert whole == root and whole.responses == 11
    api = admin_api(one_tree)
    period = {"from": "2025-01-01", "to": "2025-02-01"}
    everything = api.get("/metrics", query_string=period).get_json()
    of_root = api.get("/metrics", query_string={**period, "unit": "city"}).get_json()
    assert everything["groups"] == of_root["groups"]


def test_a_target_or_action_for_the_root_is_the_organisations(one_tree: Flask) -> None:
    with one_tree.app_context():
        set_target(_id("city"), "csat", 0.8, "test")
        stored = db.session.scalars(select(Target)).one()
        assert stored.unit_id is None
        designer = _user(one_tree, "designer@example.org", "designer")
        action = create_action(
            designer,
            unit_id=_id("city"),
            metric="csat",
            title="Training",
            owner="Head of the complaints office",
        )
        assert db.session.get(ImprovementAction, action.id).unit_id is None


def test_a_target_stored_on_the_root_holds_for_the_organisation(one_tree: Flask) -> None:
    with one_tree.app_context():
        db.session.add(Target(unit_id=_id("city"), metric="nps", value=0.2))  # an older install
        db.session.commit()
        tree = unit_tree()
        known = all_targets()
        assert (
            targets_for(None, tree, known) == targets_for(_id("city"), tree, known) == {"nps": 0.2}
        )
        assert targets_for(_id("fen"), tree, known) == {"nps": 0.2}


def test_alerts_name_the_organisation_once(one_tree: Flask) -> None:
    with one_tree.app_context():
        db.session.add(Target(unit_id=None, metric="csat", value=0.99))
        db.session.commit()
        alerts = current_alerts(
            dt.date(2025, 1, 31), tz="UTC", min_group=5, now=dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
        )
        assert alerts and not [a for a in alerts if a.unit_id == _id("city")]
        assert any(a.unit_id is None for a in alerts)
