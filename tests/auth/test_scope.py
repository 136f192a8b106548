"""The one scope rule (``app.auth.scope``): which units a member of staff may see, and every
area that lists units or rows by unit answering the same for the same person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.actions.services import list_actions
from app.analytics.tree import INDENT
from app.auth.scope import may_read_comments, unit_choices, units_in_scope
from app.extensions import db
from app.followup.services import follow_up_units
from app.models import Unit, User
from app.reports.digest import digest_recipients
from tests.support.factories import make_user, node


def _organisation(app: Flask) -> dict[str, int]:
    """city > (north > (park), south); and a second root, port."""
    with app.app_context():
        node(Unit, "park", "north")
        node(Unit, "north", "city")
        node(Unit, "south", "city")
        node(Unit, "port")
        db.session.commit()
        return {unit.code: unit.id for unit in db.session.scalars(select(Unit))}


def _user(app: Flask, email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def test_a_unit_manager_sees_their_units_and_those_below(app: Flask) -> None:
    ids = _organisation(app)
    make_user(app, "north@example.org", "viewer", units=["north"])
    make_user(app, "two@example.org", "admin", units=["south", "port"])
    make_user(app, "everyone@example.org", "viewer")
    with app.app_context():
        assert units_in_scope(_user(app, "north@example.org")) == {ids["north"], ids["park"]}
        # The units limit even an admin, who then works as those units' manager.
        assert units_in_scope(_user(app, "two@example.org")) == {ids["south"], ids["port"]}
        assert units_in_scope(_user(app, "everyone@example.org")) is None


def test_every_unit_picker_offers_the_scope_as_a_tree(app: Flask) -> None:
    ids = _organisation(app)
    make_user(app, "north@example.org", "viewer", units=["north"])
    make_user(app, "everyone@example.org", "designer")
    with app.app_context():
        assert unit_choices(_user(app, "north@example.org")) == [
            (ids["north"], "North"),
            (ids["park"], f"{INDENT}Park"),
        ]
        everything = unit_choices(_user(app, "everyone@example.org"))
        # A tree of three roots (``node`` leaves an existing unit where it is: North is one).
        assert [name for _, name in everything] == [
            "City", f"{INDENT}South", "North", f"{INDENT}Park", "Port"]


def test_follow_ups_add_their_role_rule_on_top_of_the_scope(app: Flask) -> None:
    ids = _organisation(app)
    make_user(app, "north@example.org", "viewer", units=["north"])
    make_user(app, "admin@example.org", "admin")
    make_user(app, "viewer@example.org", "viewer")
    with app.app_context():
        assert follow_up_units(_user(app, "north@example.org")) == {ids["north"], ids["park"]}
        assert follow_up_units(_user(app, "admin@example.org")) is None
        # A viewer without units reads the dashboards, not what complainants wrote.
        assert follow_up_units(_user(app, "viewer@example.org")) == frozenset()


def test_actions_and_the_digest_follow_the_same_rule(app: Flask) -> None:
    from app.actions.services import create_action

    ids = _organisation(app)
    make_user(app, "north@example.org", "viewer", units=["north"])
    make_user(app, "admin@example.org", "admin")
    with app.app_context():
        admin = _user(app, "admin@example.org")
        for unit in ("park", "south"):
            create_action(
                admin,
                title=f"Fix {unit}",
                metric="csat",
                unit_id=ids[unit],
                description="",
                owner="Team",
                due_on=None,
            )
        manager = _user(app, "north@example.org")
        seen = {row.action.unit_id for row in list_actions(manager, dt.date(2026, 1, 1))}
        assert seen == {ids["park"]} and seen <= units_in_scope(manager)

        class Alert:  # what digest_recipients reads of an alert
            def __init__(self, unit_id: Any) -> None:
                self.unit_id = unit_id

        alerts = [Alert(ids["park"]), Alert(ids["port"]), Alert(None)]
        mine = digest_recipients(alerts, [manager, admin])
        assert [a.unit_id for a in mine[manager]] == [ids["park"]]
        assert [a.unit_id for a in mine[admin]] == [None]  # the organisation's, for admins


def test_comments_are_for_the_satisfaction_team(app: Flask) -> None:
    make_user(app, "viewer@example.org", "viewer")
    make_user(app, "team@example.org", "designer")
    make_user(app, "admin@example.org", "admin")
    with app.app_context():
        assert not may_read_comments(_user(app, "viewer@example.org"))
        assert may_read_comments(_user(app, "team@example.org"))
        assert may_read_comments(_user(app, "admin@example.org"))


def test_an_admin_given_a_unit_cannot_reach_the_whole_organisation(app: Flask) -> None:
    """Issue 15, finding 2: an admin limited to a unit read another unit's outbox message and
    made an admin-scope API key that reads every unit's complaints with personal data."""
    from app.models import ApiKey
    from tests.support.web import csrf_token_from, login

    _organisation(app)
    client = app.test_client()
    login(
        client,
        "north-admin@example.org",
        make_user(app, "north-admin@example.org", "admin", units=["north"]),
    )
    for path in (
        "/admin/api-keys",
        "/admin/webhooks",
        "/admin/import",
        "/admin/outbox",
        "/admin/outbox/x.eml",
        "/admin/operations",
        "/admin/rules",
        "/admin/questionnaires/",
        "/reports/targets",
    ):
        assert client.get(path).status_code == 403, path
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))  # any page's will do
    made = client.post(
        "/admin/api-keys", data={"csrf_token": token, "name": "all of it", "scopes": ["admin"]}
    )
    assert made.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(ApiKey.id)) is None
    # Inside their unit they work as before.
    assert client.get("/reports/").status_code == 200
    assert client.get("/follow-ups/").status_code == 200


def test_the_cli_makes_no_account_the_login_form_would_refuse(app: Flask) -> None:
    """Issue 15, finding 12: ``memnun user create`` took ``@x.test`` addresses that the login
    form then refused, so the account could never be used."""
    runner = app.test_cli_runner()
    for email in ("team@x.test", "admin@localhost", "not-an-address"):
        result = runner.invoke(
            args=[
                "user",
                "create",
                "--email",
                email,
                "--role",
                "admin",
                "--password",
                "correct horse battery",
            ]
        )
        assert result.exit_code != 0 and "login form" in result.output, (email, result.output)
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None
    made = runner.invoke(
        args=[
            "user",
            "create",
            "--email",
            "Team@Example.org",
            "--role",
            "admin",
            "--password",
            "correct horse battery",
        ]
    )
    assert made.exit_code == 0, made.output
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    from tests.support.web import csrf_token_from

    signed_in = client.post(
        "/auth/login",
        data={
            "csrf_token": csrf_token_from(page),
            "email": "team@example.org",
            "password": "correct horse battery",
        },
    )
    assert signed_in.status_code == 302
