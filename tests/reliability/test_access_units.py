"""A unit manager never reads another unit's figures: not through any dashboard callback, even a
hand-crafted request naming the other unit (with a valid CSRF header, as the renderer sends it),
nor through the review pack, the follow-up list or the responses export."""

from __future__ import annotations

from typing import Any

import pytest

from app.extensions import db
from app.followup.services import open_follow_up_if_needed
from tests.support.datasets.reports import Data, at
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

SECRET_UNIT = "Zabita Gizli Birim"  # the other unit's name: seen only by those who may
CALLBACK = "/dashboards/_dash-update-component"
START, END = "2024-12-01", "2025-01-31"
PAGES = ["/dashboards/", "/dashboards/drill", "/dashboards/complaints", "/dashboards/survey",
         "/dashboards/operations"]


@pytest.fixture
def world(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """fen (the manager's) and zabita, each with enough responses to show figures, a follow-up
    and a comment."""
    with app.app_context():
        data = Data().setup(unit_names={"zabita": SECRET_UNIT})
        data.bulk_responses("fen", at(2025, 1, 10), [5, 4, 4, 5, 3, 5])
        data.bulk_responses("zabita", at(2025, 1, 12), [1, 2, 1, 2, 2, 1, 1])
        low = {unit: data.response(unit, at(2025, 1, 15), overall=1, resolved=False,
                                   comment=f"{unit} yorumu", email=f"{unit}@example.org")
               for unit in ("fen", "zabita")}
        db.session.commit()
        follow_ups = {unit: open_follow_up_if_needed(response).id
                      for unit, response in low.items()}
        return {"follow_ups": follow_ups,
                "units": {code: unit.id for code, unit in data.units.items()},
                "references": {unit: response.complaint_id for unit, response in low.items()}}


def _signed_in(app, email: str, role: str, units: list[str] | None = None):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, email, make_user(app, email, role, units=units))
    return client


def _callback_bodies(app, unit: str | None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """A request for every callback the dashboards declare, asking for ``unit``; the router's
    for every page."""
    values = {("period", "start_date"): START, ("period", "end_date"): END,
              ("unit", "value"): unit, ("grain", "value"): "month",
              ("refresh", "n_intervals"): 1,
              ("url", "search"): f"?from={START}&to={END}" + (f"&unit={unit}" if unit else ""),
              ("drill-tree", "clickData"): {"points": [{"customdata": [unit or "", "", ""]}]}}
    bodies = []
    for output, declared in app.extensions["memnun_dash"].callback_map.items():
        paths = PAGES if {"id": "url", "property": "pathname"} in [
            {"id": i["id"], "property": i["property"]} for i in declared["inputs"]] else [None]
        for path in paths:
            def item(spec: dict[str, Any], path: str | None = path) -> dict[str, Any]:
                key = (spec["id"], spec["property"])
                value = path if key == ("url", "pathname") else values.get(key)
                return {"id": spec["id"], "property": spec["property"], "value": value}

            outputs = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True))
                       for part in output.strip(".").split("...")]
            bodies.append({
                "output": output, "outputs": outputs if output.startswith("..") else outputs[0],
                "inputs": [item(spec) for spec in declared["inputs"]],
                "state": [item(spec) for spec in declared.get("state", [])],
                "changedPropIds": [f"{spec['id']}.{spec['property']}"
                                   for spec in declared["inputs"]],
            })
    return bodies


def _call_all(app, client, unit: str | None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    client.get("/dashboards/")  # sets the _csrf_token cookie, as for the renderer
    token = client.get_cookie("_csrf_token", path="/dashboards/").value
    answers = {}
    for body in _callback_bodies(app, unit):
        response = client.post(CALLBACK, json=body, headers={"X-CSRFToken": token})
        assert response.status_code in (200, 204), (body["output"], response.status_code,
                                                    response.get_data(as_text=True)[:300])
        name = body["output"] + str(body["inputs"][0]["value"])
        answers[name] = response.get_data(as_text=True)
    return answers


def test_crafted_callbacks_never_show_another_units_figures(app, world) -> None:  # type: ignore[no-untyped-def]
    manager = _signed_in(app, "fen@example.org", "viewer", units=["fen"])
    admin = _signed_in(app, "admin@example.org", "admin")
    # Without the CSRF header a callback is refused: a page elsewhere cannot drive them.
    manager.get("/dashboards/")
    refused = manager.post(CALLBACK, json=_callback_bodies(app, "fen")[0])
    assert refused.status_code == 400

    asked_other = _call_all(app, manager, "zabita")
    asked_own = _call_all(app, manager, None)
    assert not [name for name, body in asked_other.items() if SECRET_UNIT in body]
    # The marker works: the admin, asking the same, gets the other unit's name.
    assert any(SECRET_UNIT in body for body in _call_all(app, admin, "zabita").values())
    # Whatever unit is asked for, the manager's overview holds their own figures only.
    overview = next(name for name in asked_other if name.startswith("..kpis.children"))
    figures_other = asked_other[overview].split('"status"')[0]
    assert figures_other == asked_own[overview].split('"status"')[0]
    assert "your own units" in asked_other[overview]


def _csrf(client, path: str) -> str:  # type: ignore[no-untyped-def]
    return csrf_token_from(client.get(path).get_data(as_text=True))


def test_the_review_pack_follow_ups_and_exports_stay_in_the_units(app, world) -> None:  # type: ignore[no-untyped-def]
    manager = _signed_in(app, "fen@example.org", "viewer", units=["fen"])
    period = {"csrf_token": _csrf(manager, "/reports/"), "start": START, "last": END,
              "format": "html"}
    # Another unit is not even a choice of the form (400); were it one, the scope says 403.
    other = manager.post("/reports/pack", data={**period, "unit": world["units"]["zabita"]})
    assert other.status_code in (400, 403) and other.mimetype == "text/html"
    assert SECRET_UNIT not in other.get_data(as_text=True)
    own = manager.post("/reports/pack", data={**period, "unit": "0"})
    assert own.status_code == 200
    assert "Fen" in own.get_data(as_text=True) and SECRET_UNIT not in own.get_data(as_text=True)
    # The responses export is the satisfaction team's; a viewer manager gets none.
    assert manager.post("/reports/responses", data={**period, "format": "csv",
                                                     "unit": "0"}).status_code == 403

    listing = manager.get("/follow-ups/").get_data(as_text=True)
    assert f"/follow-ups/{world['follow_ups']['fen']}" in listing
    assert f"/follow-ups/{world['follow_ups']['zabita']}" not in listing
    assert SECRET_UNIT not in listing
    theirs = world["follow_ups"]["zabita"]
    token = _csrf(manager, f"/follow-ups/{world['follow_ups']['fen']}")
    assert manager.get(f"/follow-ups/{theirs}").status_code == 404
    assert manager.post(f"/follow-ups/{theirs}/notes",
                        data={"csrf_token": token, "text": "x"}).status_code == 404
    assert manager.post(f"/follow-ups/{theirs}/state",
                        data={"csrf_token": token, "state": "closed"}).status_code == 404

    team = _signed_in(app, "team@example.org", "designer", units=["fen"])
    export = {**period, "csrf_token": _csrf(team, "/reports/"), "format": "csv"}
    assert team.post("/reports/responses",
                     data={**export, "unit": world["units"]["zabita"]}).status_code in (400, 403)
    rows = team.post("/reports/responses", data={**export, "unit": "0"}).get_data(as_text=True)
    lines = rows.strip().splitlines()
    assert len(lines) == 1 + 7  # header, fen's six and its low score
    assert all(",fen," in line for line in lines[1:]) and "zabita" not in rows
