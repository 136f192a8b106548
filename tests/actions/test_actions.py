"""Improvement actions: the register management keeps against its targets. Services decide and
audit; the pages enforce roles (admins and the satisfaction team edit, unit managers change the
status of their own units' actions, viewers read), CSRF, escaping and 4xx on bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.actions.services import (
    ActionError,
    actions_for_review,
    change_status,
    create_action,
    get_action,
    list_actions,
    update_action,
)
from app.extensions import db
from app.models import ActionStatus, AuditLog, ImprovementAction, Role, Unit, User
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

TODAY = dt.date(2026, 3, 15)
EN = {"Accept-Language": "en"}


@pytest.fixture
def units(app) -> dict[str, int]:
    with app.app_context():
        city = Unit(code="city", name="City")
        found = {"city": city, "fen": Unit(code="fen", name="Fen İşleri", parent=city),
                 "zabita": Unit(code="zabita", name="Zabıta")}
        db.session.add_all(found.values())
        db.session.commit()
        return {code: unit.id for code, unit in found.items()}


def _user(email: str, role: Role = Role.ADMIN, unit_ids: tuple[int, ...] = ()) -> User:
    user = User(email=email, role=role, password_hash="x")
    user.units = [db.session.get(Unit, uid) for uid in unit_ids]
    db.session.add(user)
    db.session.commit()
    return user


def _action(unit_id: int | None, **changes: object) -> ImprovementAction:
    fields = {"unit_id": unit_id, "metric": "csat", "title": "Training", "owner": "Head of unit",
              "due_on": TODAY + dt.timedelta(days=10), **changes}
    action = ImprovementAction(**fields)
    db.session.add(action)
    db.session.commit()
    return action


def _count() -> int:
    return db.session.scalar(select(func.count(ImprovementAction.id)))


# --- services ------------------------------------------------------------------------------------


def test_create_edit_and_close_an_action_with_an_audit_trail(app, units) -> None:
    with app.app_context():
        admin = _user("a@example.org")
        action = create_action(admin, unit_id=units["fen"], metric="on_time_resolution",
                               title="  Weekly priority meeting ", owner="Deputy head",
                               description="", due_on=TODAY, status="open", outcome="")
        assert action.title == "Weekly priority meeting"
        assert action.status == ActionStatus.OPEN and action.closed_at is None
        assert action.created_at.tzinfo is not None
        assert action.overdue(TODAY + dt.timedelta(days=1)) and not action.overdue(TODAY)

        change_status(action, admin, ActionStatus.DONE, "Late repairs halved.")
        closed = action.closed_at
        assert closed is not None and not action.overdue(TODAY + dt.timedelta(days=30))
        change_status(action, admin, ActionStatus.DONE, "Late repairs halved, and kept so.")
        assert action.closed_at == closed  # still done: the day it was done stays
        change_status(action, admin, ActionStatus.IN_PROGRESS, "Taken up again.")
        assert action.closed_at is None

        update_action(action, admin, unit_id=None, metric="complaints", title="Route planning",
                      owner="Cleaning manager", description="d", due_on=None, status="dropped",
                      outcome="Replaced by a new contract.")
        assert (action.unit_id, action.metric, action.status) == (
            None, "complaints", ActionStatus.DROPPED)
        assert action.closed_at is not None
        audits = db.session.execute(select(AuditLog.action, AuditLog.detail).where(
            AuditLog.target == f"improvement_action:{action.id}").order_by(AuditLog.id)).all()
        assert [a for a, _detail in audits] == [
            "improvement_action.create", "improvement_action.status",
            "improvement_action.status", "improvement_action.status",
            "improvement_action.update"]
        assert audits[1][1] == {"unit_id": units["fen"], "metric": "on_time_resolution",
                                "status": "done", "previous_status": "open"}
        assert "halved" not in str([detail for _a, detail in audits])  # no free text


@pytest.mark.parametrize("changes, message", [
    ({"metric": "happiness"}, "unknown metric"),
    ({"title": "   "}, "title cannot be empty"),
    ({"owner": ""}, "owner cannot be empty"),
    ({"title": "x" * 201}, "at most 200"),
    ({"unit_id": 999_999}, "no such unit"),
])
def test_bad_fields_store_nothing(app, units, changes, message) -> None:
    with app.app_context():
        admin = _user("a@example.org")
        fields = {"unit_id": units["fen"], "metric": "csat", "title": "T", "owner": "O",
                  **changes}
        with pytest.raises(ActionError, match=message):
            create_action(admin, **fields)
        assert _count() == 0
        action = _action(units["fen"])
        with pytest.raises(ActionError, match=message):
            update_action(action, admin, **fields)
        db.session.expire_all()
        stored = db.session.get(ImprovementAction, action.id)
        assert (stored.title, stored.metric, stored.unit_id) == ("Training", "csat", units["fen"])
        assert db.session.scalar(select(func.count(AuditLog.id))) == 0


def test_a_unit_manager_sees_only_their_units(app, units) -> None:
    with app.app_context():
        manager = _user("m@example.org", Role.VIEWER, (units["city"],))
        ours, below = _action(units["city"]), _action(units["fen"])
        theirs, everyone = _action(units["zabita"]), _action(None)
        seen = {row.action.id for row in list_actions(manager, TODAY)}
        assert seen == {ours.id, below.id}  # their unit and the units below it
        assert get_action(manager, theirs.id) is None
        assert get_action(manager, everyone.id) is None
        viewer = _user("v@example.org", Role.VIEWER)
        assert {row.action.id for row in list_actions(viewer, TODAY)} == {
            ours.id, below.id, theirs.id, everyone.id}
        with pytest.raises(ActionError, match="their own units"):
            create_action(manager, unit_id=None, metric="csat", title="T", owner="O")
        with pytest.raises(ActionError, match="not one of your units"):
            create_action(manager, unit_id=units["zabita"], metric="csat", title="T", owner="O")


def test_the_list_puts_work_to_do_first_and_marks_overdue(app, units) -> None:
    with app.app_context():
        admin = _user("a@example.org")
        done = _action(units["fen"], status=ActionStatus.DONE, due_on=TODAY - dt.timedelta(9))
        late = _action(units["fen"], due_on=TODAY - dt.timedelta(days=1))
        busy = _action(units["fen"], status=ActionStatus.IN_PROGRESS)
        rows = list_actions(admin, TODAY)
        assert [row.action.id for row in rows] == [busy.id, late.id, done.id]
        assert [row.overdue for row in rows] == [False, True, False]
        only_done = list_actions(admin, TODAY, status=ActionStatus.DONE)
        assert [row.action.id for row in only_done] == [done.id]


def test_review_takes_the_actions_alive_in_the_period(app, units) -> None:
    def at(day: int, month: int = 1) -> dt.datetime:
        return dt.datetime(2025, month, day, tzinfo=dt.UTC)

    with app.app_context():
        kept = [
            _action(units["fen"], created_at=at(5, 12).replace(year=2024)),  # still open
            _action(units["fen"], created_at=at(5), closed_at=at(20),
                    status=ActionStatus.DONE),  # done in the period
            _action(units["fen"], created_at=at(5, 12).replace(year=2024), closed_at=at(1),
                    status=ActionStatus.DROPPED),  # dropped on the first day
        ]
        _action(units["fen"], created_at=at(1, 2))  # after the period
        _action(units["fen"], created_at=at(1, 11).replace(year=2024),
                closed_at=at(31, 12).replace(year=2024), status=ActionStatus.DONE)  # before it
        other = _action(units["zabita"], created_at=at(5))
        rows = actions_for_review(at(1), at(1, 2), None, TODAY)
        assert {row.action.id for row in rows} == {a.id for a in kept} | {other.id}
        fen_only = actions_for_review(at(1), at(1, 2), {units["fen"]}, TODAY)
        assert {row.action.id for row in fen_only} == {a.id for a in kept}


# --- pages ---------------------------------------------------------------------------------------


def _signed_in(app, client, role: str, unit_codes: list[str] | None = None):
    email = f"{role}-{'-'.join(unit_codes or [])}@example.org"
    login(client, email, make_user(app, email, role, units=unit_codes))
    return client


def _form(client, path: str) -> str:
    page = client.get(path, headers=EN)
    assert page.status_code == 200, page.status_code
    return csrf_token_from(page.get_data(as_text=True))


def _valid(token: str, **changes: object) -> dict[str, object]:
    return {"csrf_token": token, "title": "Training", "unit": 0, "metric": "csat",
            "owner": "Head of unit", "description": "", "due_on": "2026-04-01",
            "status": "open", "outcome": "", **changes}


def test_an_admin_creates_and_edits_an_action(app, client, units) -> None:
    _signed_in(app, client, "admin")
    token = _form(client, "/actions/new")
    created = client.post("/actions/new", headers=EN, data=_valid(token, unit=units["fen"]))
    assert created.status_code == 302
    with app.app_context():
        action = db.session.scalar(select(ImprovementAction))
        assert (action.unit_id, action.due_on) == (units["fen"], dt.date(2026, 4, 1))
        action_id = action.id
    token = _form(client, f"/actions/{action_id}/edit")
    edited = client.post(f"/actions/{action_id}/edit", headers=EN,
                         data=_valid(token, title="Better training", status="done"))
    assert edited.status_code == 302
    page = client.get(f"/actions/{action_id}", headers=EN).get_data(as_text=True)
    assert "Better training" in page and "Done" in page
    with app.app_context():
        assert db.session.get(ImprovementAction, action_id).closed_at is not None
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action.like("improvement_action.%"))) == 2


def test_the_satisfaction_team_may_create(app, client, units) -> None:
    _signed_in(app, client, "designer")
    token = _form(client, "/actions/new")
    assert client.post("/actions/new", data=_valid(token)).status_code == 302
    with app.app_context():
        assert _count() == 1


def test_csrf_is_enforced(app, client, units) -> None:
    _signed_in(app, client, "admin")
    with app.app_context():
        action_id = _action(units["fen"]).id
    assert client.post("/actions/new", data=_valid("forged")).status_code == 400
    assert client.post(f"/actions/{action_id}/status",
                       data={"status": "done", "outcome": ""}).status_code == 400
    with app.app_context():
        assert _count() == 1
        assert db.session.get(ImprovementAction, action_id).status == ActionStatus.OPEN


@pytest.mark.parametrize("changes", [
    {"title": ""}, {"owner": ""}, {"metric": "happiness"}, {"status": "finished"},
    {"due_on": "2026-02-30"}, {"unit": "abc"}, {"unit": 999_999}, {"title": "x" * 201},
    {"outcome": "x" * 4001},
])
def test_bad_input_is_a_400_with_the_form_and_stores_nothing(app, client, units,
                                                             changes) -> None:
    _signed_in(app, client, "admin")
    token = _form(client, "/actions/new")
    response = client.post("/actions/new", headers=EN, data=_valid(token, **changes))
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    with app.app_context():
        assert _count() == 0


def test_a_bad_status_change_is_a_400_and_changes_nothing(app, client, units) -> None:
    _signed_in(app, client, "admin")
    with app.app_context():
        action_id = _action(units["fen"]).id
    token = _form(client, f"/actions/{action_id}")
    response = client.post(f"/actions/{action_id}/status", headers=EN,
                           data={"csrf_token": token, "status": "finished"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(ImprovementAction, action_id).status == ActionStatus.OPEN


def test_a_viewer_reads_but_changes_nothing(app, client, units) -> None:
    _signed_in(app, client, "viewer")
    with app.app_context():
        action_id = _action(units["zabita"], title="Zabıta training").id
    listing = client.get("/actions/", headers=EN)
    assert listing.status_code == 200 and "Zabıta training" in listing.get_data(as_text=True)
    detail = client.get(f"/actions/{action_id}", headers=EN).get_data(as_text=True)
    assert "Zabıta training" in detail and "Save the status" not in detail
    token = csrf_token_from(detail)  # the log-out form's token
    assert client.get("/actions/new").status_code == 403
    assert client.post("/actions/new", data=_valid(token)).status_code == 403
    assert client.get(f"/actions/{action_id}/edit").status_code == 403
    assert client.post(f"/actions/{action_id}/status",
                       data={"csrf_token": token, "status": "done"}).status_code == 403
    with app.app_context():
        assert _count() == 1
        assert db.session.get(ImprovementAction, action_id).status == ActionStatus.OPEN


def test_a_unit_manager_changes_only_their_units_actions(app, client, units) -> None:
    _signed_in(app, client, "viewer", ["fen"])
    with app.app_context():
        ours = _action(units["fen"], title="Fen action").id
        theirs = _action(units["zabita"], title="Zabıta action").id
    listing = client.get("/actions/", headers=EN).get_data(as_text=True)
    assert "Fen action" in listing and "Zabıta action" not in listing
    token = _form(client, f"/actions/{ours}")
    moved = client.post(f"/actions/{ours}/status", headers=EN,
                        data={"csrf_token": token, "status": "in_progress",
                              "outcome": "Started."})
    assert moved.status_code == 302
    assert client.get(f"/actions/{theirs}").status_code == 404
    refused = client.post(f"/actions/{theirs}/status",
                          data={"csrf_token": token, "status": "done"})
    assert refused.status_code == 404
    assert client.get(f"/actions/{ours}/edit").status_code == 403  # status only
    assert client.get(f"/actions/?unit={units['zabita']}").status_code == 400
    with app.app_context():
        assert db.session.get(ImprovementAction, ours).status == ActionStatus.IN_PROGRESS
        assert db.session.get(ImprovementAction, ours).outcome == "Started."
        assert db.session.get(ImprovementAction, theirs).status == ActionStatus.OPEN


def test_the_list_filters_and_marks_overdue(app, client, units) -> None:
    _signed_in(app, client, "viewer")
    with app.app_context():
        _action(units["fen"], title="Late one", due_on=dt.date(2020, 1, 1))
        _action(units["zabita"], title="Finished one", status=ActionStatus.DONE)
    page = client.get("/actions/", headers=EN).get_data(as_text=True)
    late_row = page[page.index("Late one"):page.index("</tr>", page.index("Late one"))]
    assert "overdue" in late_row
    done = client.get("/actions/?status=done", headers=EN).get_data(as_text=True)
    assert "Finished one" in done and "Late one" not in done
    by_unit = client.get(f"/actions/?unit={units['fen']}", headers=EN).get_data(as_text=True)
    assert "Late one" in by_unit and "Finished one" not in by_unit
    assert client.get("/actions/?status=bogus").status_code == 400
    assert client.get("/actions/?unit=abc").status_code == 400


def test_text_is_escaped(app, client, units) -> None:
    _signed_in(app, client, "admin")
    with app.app_context():
        action_id = _action(units["fen"], title="<script>alert(1)</script>",
                            owner="<b>boss</b>", outcome="<img src=x onerror=alert(1)>").id
    for path in ("/actions/", f"/actions/{action_id}"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in page and "<b>boss" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in client.get(f"/actions/{action_id}").get_data(as_text=True)


def test_anonymous_users_are_sent_to_login(client) -> None:
    response = client.get("/actions/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize("field", ["title", "owner", "description", "outcome"])
def test_an_action_with_nul_in_a_field_is_refused_with_a_message(app, client, units,
                                                                 field: str) -> None:
    # PostgreSQL refuses NUL in text (a 500 when stored); refused at the form, nothing stored.
    _signed_in(app, client, "admin")
    token = _form(client, "/actions/new")
    sent = client.post("/actions/new", headers=EN,
                       data=_valid(token, unit=units["fen"], **{field: "Eği\x00tim"}))
    assert sent.status_code == 400
    assert "control characters" in sent.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(ImprovementAction.id))) == 0
