"""Every route the app registers (Dash's internal ones included), every method, against every
role: anonymous, viewer, unit manager (a viewer with a unit), designer, admin, and a designer
and an admin given a unit.

- Anonymous: nothing but the respondent's pages, the login page (and its language switch and
  static files), the health check and the API's public contract.
- The REST API answers to API keys only: a staff session opens none of it.
- A viewer writes nothing: every POST/PUT/DELETE that changes data answers 403, except the ones
  that only read (the review pack download, dashboard callbacks) or touch only the caller's own
  session or login (language, logout, their own two-factor login). A unit manager may work on
  their own units' follow-ups and change the status of their own units' improvement actions,
  nothing else.
- Designers cannot reach the admins' pages; nobody gets a server error. The satisfaction team
  (designers) sees the outbox, the operations page and the follow-ups (every rule is theirs).
- Everyone signed in finds complaints and sees the survey queue, inside their units; only
  designers and admins act on an invitation (send now, cancel, plan again, retry) and work the
  call list of phone interviews (inside their units; the sample invitation is no call: 404).
- Anyone given units (whatever the role) is refused the pages that show or change the whole
  organisation, and finds another unit's follow-ups and actions missing (404).

CSRF is off here so that the check reached is the permission one (CSRF has its own tests).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.routing import Rule

from app.extensions import db
from app.followup.services import open_follow_up_if_needed
from app.models import User
from tests.support.datasets.reports import Data, at
from tests.support.factories import make_user
from tests.support.walkin import make_point

PUBLIC_ENDPOINTS = {"auth.login", "main.health", "main.set_language", "main.favicon", "static",
                    "api.openapi_document", "api.api_docs", "organisation.logo",
                    "staff.set_password"}
PUBLIC_PREFIXES = ("respond.", "callbacks.", "walkin.")
# POSTs that change no shared data: downloads and callbacks that only read, and the caller's
# own session or login. Every other POST/PUT/DELETE is a write.
READS_BY_POST = {"reports.pack", "reports.comments_export",
                 "/dashboards/_dash-update-component", "main.set_language",
                 "auth.logout", "auth.login", "auth.login_code", "auth.two_factor_enable",
                 "auth.two_factor_recovery_codes", "auth.two_factor_off"}
NOT_CALLED = {"auth.logout", "auth.login"}  # would end or replace the session under test
# The policy. Everything under /admin/ is the admins' (integration, outbox, operations...),
# except what the satisfaction team (designers, and admins) works with: questionnaires,
# distribution rules, and, elsewhere, the responses export. Targets are the admins'. The comments
# explorer (and its download) is every member of staff's, redacted for all but admins.
ADMIN_PATH = "/admin/"
ADMIN_ENDPOINT_PREFIXES = ("reports.targets", "reports.delete_target_view")
TEAM_PREFIXES = ("design.", "distribution.rule", "distribution.new_rule",
                 "distribution.operations", "distribution.retry", "distribution.outbox",
                 "distribution.dispatch_now", "distribution.campaign", "distribution.new_campaign",
                 "reports.responses_export", "actions.new_action",
                 "actions.edit_action", "walkin_admin.")
#: Acting on one invitation (the lookup's buttons): designers and admins, inside their units.
INVITATION_ACTIONS = {"lookup.send_now", "lookup.cancel", "lookup.replan", "lookup.retry"}
FOLLOW_UP_PREFIX = "followup."
#: The call list and call screen of phone interviews: the satisfaction team's.
PHONE_PREFIX = "phone."
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str

    @property
    def write(self) -> bool:
        return self.method in WRITE_METHODS and self.endpoint not in READS_BY_POST

    @property
    def public(self) -> bool:
        return self.endpoint in PUBLIC_ENDPOINTS or self.endpoint.startswith(PUBLIC_PREFIXES)

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def _path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with a real value in each variable part where there is one."""
    return VARIABLE.sub(lambda match: values.get(match.group(2), "x"), rule.rule)


def routes(app: Flask, values: dict[str, str]) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Route(rule.endpoint, method, _path(rule, values)))
    return found


@pytest.fixture
def world(make_app) -> tuple[Flask, dict[str, str]]:  # type: ignore[no-untyped-def]
    """An app (CSRF off) with data behind every kind of URL, and the values to put in them."""
    from app.design.services import install_template, template_paths
    from app.models import DistributionRule, ImprovementAction

    app = make_app(WTF_CSRF_ENABLED=False)
    with app.app_context():
        ces = install_template(next(p for p in template_paths() if p.stem == "ces"))
        db.session.add(DistributionRule(key="ces", questionnaire=ces))
        data = Data().setup()
        data.bulk_responses("fen", at(2025, 1, 10), [5, 4, 4, 5, 3])
        theirs = data.response("zabita", at(2025, 1, 15), overall=1, email="z@example.org")
        db.session.commit()
        follow_up = open_follow_up_if_needed(theirs)
        action = ImprovementAction(unit_id=theirs.unit_id, metric="csat", title="Training",
                                   owner="Head of unit")
        db.session.add(action)
        db.session.commit()
        make_user(app, "zabita-viewer@example.org", "viewer", units=["zabita"])
        # Another unit's (zabita) walk-in service point: unit users (fen) find it missing.
        point_id, _code = make_point(app, code="ZABITA-1", unit="zabita")
        account = db.session.scalar(select(User.id).where(
            User.email == "zabita-viewer@example.org"))
        values = {"user_id": str(account), "follow_up_id": str(follow_up.id),
                  "action_id": str(action.id), "complaint_id": str(theirs.complaint_id),
                  "invitation_id": str(theirs.invitation_id),
                  "key": "ces", "number": "1",
                  "question_key": "effort", "code": "fen", "ref": str(theirs.complaint_id),
                  "target_id": "1", "key_id": "1", "webhook_id": "1", "theme_id": "1",
                  "point_id": str(point_id), "kind": "poster", "decision": "accept",
                  "token": "x" * 43,
                  "package_name": "dash", "fingerprinted_path": "deps/polyfill@7.12.1.min.js",
                  "filename": "css/app.css", "path": "drill", "name": "x.eml"}
    return app, values


ROLES = {"viewer": ("viewer", None), "manager": ("viewer", ["fen"]),
         "designer": ("designer", None), "admin": ("admin", None),
         "unit designer": ("designer", ["fen"]), "unit admin": ("admin", ["fen"])}
#: Pages that show or change the whole organisation: refused to anyone given units (the comment
#: themes are computed over every unit's comments, so renaming or merging one is too).
WHOLE_ORGANISATION = ("api_admin.", "webhooks_admin.", "intake_admin.", "distribution.",
                      "design.", "reports.targets", "reports.delete_target_view",
                      "staff.organisation", "reports.theme_")
#: The staff account pages of the sample account, which belongs to another unit (zabita): an
#: admin given units finds it missing.
ANOTHER_UNITS_ACCOUNT = {"staff.user", "staff.disable", "staff.enable", "staff.reset",
                         "staff.end_user_sessions"}
#: The sample follow-up and action belong to another unit (zabita) than the unit users' (fen).
ANOTHER_UNITS = {"actions.action", "actions.edit_action", "actions.set_status",
                 "lookup.complaint", *INVITATION_ACTIONS}


def _expected(route: Route, role: str) -> set[int] | None:
    """The statuses ``role`` must get for ``route``; None: anything but 401, 403 or an error."""
    if route.api:
        return {401}  # a session is no API key
    endpoint = route.endpoint
    if role.startswith("unit "):
        if route.path.startswith("/admin/users") and role != "unit admin":
            return {403}  # accounts are the admins'
        return _expected_inside_units(route)
    if role == "admin":
        return None
    team = endpoint.startswith(TEAM_PREFIXES)
    if (route.path.startswith(ADMIN_PATH) and not team) or endpoint.startswith(
            ADMIN_ENDPOINT_PREFIXES):
        return {403}
    if (endpoint in INVITATION_ACTIONS or endpoint.startswith(PHONE_PREFIX)) and role in (
            "viewer", "manager"):
        return {403}
    if endpoint == "lookup.complaint" and role == "manager":
        return {404}  # the sample complaint is another unit's
    if endpoint.startswith(FOLLOW_UP_PREFIX) and role != "designer":
        # Unit managers work on their units' follow-ups; the sample one is another unit's.
        if role != "manager":
            return {403}
        return None if endpoint == "followup.follow_ups" else {404}
    if endpoint == "actions.set_status" and role == "manager":
        return {404}  # a unit manager changes their units' actions; the sample is another's
    if role == "designer":
        return None
    if team or route.write:
        return {403}
    return None


def _expected_inside_units(route: Route) -> set[int] | None:
    """A designer or admin given units: their role's pages, inside their units only."""
    endpoint = route.endpoint
    if endpoint.startswith(WHOLE_ORGANISATION):
        return {403}
    if endpoint.startswith(FOLLOW_UP_PREFIX):
        return None if endpoint == "followup.follow_ups" else {404}
    if endpoint in ANOTHER_UNITS or endpoint in ANOTHER_UNITS_ACCOUNT:
        return {404}
    return None


def _refused_anonymous(status: int, location: str) -> bool:
    return status == 401 or (status == 302 and location.startswith("/auth/login"))


def test_every_route_against_every_role(world) -> None:  # type: ignore[no-untyped-def]
    app, values = world
    table = [route for route in routes(app, values) if route.endpoint not in NOT_CALLED]
    assert len(table) > 50, "the route table looks too small to be the real app"
    assert any(route.path == "/dashboards/_dash-update-component" for route in table)
    writes = [route for route in table if route.write and not route.public and not route.api]
    assert len(writes) >= 15, writes
    wrong: list[tuple[Any, ...]] = []

    anonymous = app.test_client()
    for route in table:
        response = anonymous.open(route.path, method=route.method)
        refused = _refused_anonymous(response.status_code, response.headers.get("Location", ""))
        if response.status_code >= 500 or not (route.public or refused):
            wrong.append(("anonymous", route, response.status_code))

    for role, (kind, units) in ROLES.items():
        client = app.test_client()
        email = f"{role.replace(' ', '-')}@example.org"
        password = make_user(app, email, kind, units=units)
        signed_in = client.post("/auth/login", data={"email": email, "password": password})
        assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
        for route in table:
            if route.public:
                continue
            response = client.open(route.path, method=route.method)
            status = response.status_code
            expected = _expected(route, role)
            if status >= 500 or (expected is None and status in (401, 403)) or (
                    expected is not None and status not in expected):
                wrong.append((role, route, status))
            if status == 302 and response.headers["Location"].startswith("/auth/login"):
                wrong.append((role, route, "sent to login: the session was lost"))
    assert not wrong, "\n".join(map(str, wrong))
