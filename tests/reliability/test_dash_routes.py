"""Dash's internal routes under /dashboards/ never answer 5xx (issue 8, "Bad input and attacks").

Dash registers its routes straight on the Flask app (``dashboards.security`` guards them). Signed
in as a viewer, every one of them is walked with what a browser, a stale page or an attacker may
send: junk component-suite paths (unknown package, unknown file, ``../``), the favicon, the
reload hash, assets, and for ``_dash-update-component`` malformed JSON and, for every callback
the dashboards declare, every field of the envelope and every input replaced by a value of the
wrong type. Client errors are 4xx (malformed callback requests exactly 400), never 5xx; anonymous
requests still get 401. Exceptions are not propagated to the test client here, so a server
error shows as the 500 a browser would get.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboards.security import CALLBACK_PATH, INPUT_TYPES
from tests.support.factories import make_user
from tests.support.processes import ROOT
from tests.support.web import login

PREFIX = "/dashboards/"
JUNK_SUITES = [
    "_dash-component-suites/nonexistent/x.js",
    "_dash-component-suites/os/path.py",
    "_dash-component-suites/dash/nonexistent.js",
    "_dash-component-suites/dash/../../app/config.py",
    "_dash-component-suites/dash/%2e%2e/%2e%2e/app/config.py",
    "_dash-component-suites/dash/..%2f..%2fapp%2fconfig.py",
    "_dash-component-suites/dash/dcc/x.map",
    "_dash-component-suites/dash/deps/react@99.v1_0_0m1.min.js",
    "_dash-component-suites/plotly/package_data/nothing.js",
    "_dash-component-suites/dash/x",
    "_dash-component-suites/dash/" + "a/" * 200 + "b.js",
    "_dash-component-suites/%00/x.js",
    "assets/nonexistent.css",
    "assets/../app/config.py",
    "assets/%2e%2e/app/config.py",
]
OTHER_GETS = ["_dash-layout", "_dash-dependencies", "_reload-hash", "_favicon.ico",
              "_favicon.ico?v=x", "_dash-component-suites/", "_alive"]
# Values of every JSON type; each input gets those its property does not take.
JUNK_VALUES: list[Any] = [1, -1, 1.5, True, "x", "2024-13-45", [], [1], ["a", "b"], {},
                          {"a": 1}, {"points": 1}, {"points": [1]}, "x" * 5000]
ENVELOPE_JUNK: list[Any] = [None, 1, "x", True, [], {}, [1], {"a": 1}, ["a"]]


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app(PROPAGATE_EXCEPTIONS=False)


@pytest.fixture
def viewer(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "viewer@example.org", make_user(app, "viewer@example.org", role="viewer"))
    return client


def _csrf(client: FlaskClient) -> dict[str, str]:
    client.get(PREFIX)  # the renderer's token comes with the page
    cookie = client.get_cookie("_csrf_token", path=PREFIX)
    assert cookie is not None
    return {"X-CSRFToken": cookie.value}


def _outputs(output: str) -> Any:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    items = [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]
    return items if output.startswith("..") else items[0]


def _valid_bodies(app: Flask) -> list[dict[str, Any]]:
    """What the renderer posts for each callback, every value empty (None)."""
    bodies = []
    for output, declared in app.extensions["memnun_dash"].callback_map.items():
        def items(name: str, declared: dict[str, Any] = declared) -> list[dict[str, Any]]:
            return [{"id": spec["id"], "property": spec["property"], "value": None}
                    for spec in declared.get(name, [])]

        inputs = items("inputs")
        bodies.append({"output": output, "outputs": _outputs(output), "inputs": inputs,
                       "state": items("state"),
                       "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"]})
    return bodies


def test_anonymous_requests_to_dash_routes_get_401(client: FlaskClient) -> None:
    for path in JUNK_SUITES + OTHER_GETS:
        response = client.get(PREFIX + path)
        assert response.status_code == 401, (path, response.status_code)
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.post(CALLBACK_PATH, data=b"{", content_type="application/json"
                       ).status_code == 401
    assert client.get(PREFIX).status_code == 302  # pages go to the login instead


def test_dash_files_and_internal_routes_answer_404_not_500(viewer: FlaskClient) -> None:
    page = viewer.get(PREFIX)
    assert page.status_code == 200
    served = re.findall(r'src="(/dashboards/_dash-component-suites/[^"]+)"',
                        page.get_data(as_text=True))
    assert served, "the page loads Dash's scripts from this server"
    for path in served:  # what the page itself loads is there
        assert viewer.get(path).status_code == 200, path
    assets = [p.name for p in (ROOT / "dashboards" / "assets").iterdir() if p.is_file()]
    for name in assets:
        assert viewer.get(PREFIX + "assets/" + name).status_code == 200, name
    for path in JUNK_SUITES:
        response = viewer.get(PREFIX + path)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert "app/config" not in response.get_data(as_text=True)
        if path.startswith("_dash-component-suites"):
            # Dash's own message would list every file it serves.
            assert response.get_json()["error"]["code"] == "not_found"
    for path in OTHER_GETS:
        response = viewer.get(PREFIX + path)
        assert response.status_code < 500, (path, response.status_code)
    for path in ("_dash-layout", "_dash-dependencies"):
        assert viewer.post(PREFIX + path, headers=_csrf(viewer)).status_code == 405
    assert viewer.get(CALLBACK_PATH).status_code < 500  # Dash's catch-all: the page


@pytest.mark.parametrize("raw", [
    b"", b"{", b"null", b"[]", b"1", b'"text"', b"\xff\xfe\x00", b"[" * 5000,
    b'{"output":' * 3000, json.dumps({"output": 1}).encode(),
    json.dumps({"output": "no.such"}).encode(), json.dumps({"inputs": []}).encode(),
])
def test_malformed_callback_bodies_get_400(viewer: FlaskClient, raw: bytes) -> None:
    response = viewer.post(CALLBACK_PATH, data=raw, content_type="application/json",
                           headers=_csrf(viewer))
    assert response.status_code == 400, (raw[:40], response.status_code)
    assert response.get_json()["error"]["code"] == "bad_request"


def test_every_callback_refuses_a_wrong_envelope_with_400(app: Flask,
                                                          viewer: FlaskClient) -> None:
    headers = _csrf(viewer)
    bodies = _valid_bodies(app)
    assert len(bodies) >= 8
    for body in bodies:
        cases = []
        for field in ("output", "outputs", "inputs", "state", "changedPropIds"):
            for junk in ENVELOPE_JUNK:
                if junk == [] and (field == "changedPropIds" or not body[field]):
                    continue  # that one is right
                cases.append({**body, field: junk})
        cases.append({key: value for key, value in body.items() if key != "outputs"})
        shorter = copy.deepcopy(body)
        shorter["inputs"] = shorter["inputs"][:-1]
        reordered = copy.deepcopy(body)
        reordered["inputs"] = list(reversed(reordered["inputs"]))
        other_id = copy.deepcopy(body)
        other_id["inputs"][0]["id"] = {"type": other_id["inputs"][0]["id"]}
        no_property = copy.deepcopy(body)
        del no_property["inputs"][0]["property"]
        cases += [shorter, other_id, no_property]
        if len(body["inputs"]) > 1:
            cases.append(reordered)
        for case in cases:
            response = viewer.post(CALLBACK_PATH, json=case, headers=headers)
            assert response.status_code == 400, (json.dumps(case)[:300], response.status_code)


def test_every_input_of_every_callback_survives_junk_values(app: Flask,
                                                            viewer: FlaskClient) -> None:
    headers = _csrf(viewer)
    checked = 0
    for body in _valid_bodies(app):
        answer = viewer.post(CALLBACK_PATH, json=body, headers=headers)
        assert answer.status_code in (200, 204), (body["output"], answer.status_code)
        for list_name in ("inputs", "state"):
            for index, item in enumerate(body[list_name]):
                for junk in JUNK_VALUES:
                    case = copy.deepcopy(body)
                    case[list_name][index]["value"] = junk
                    case["changedPropIds"] = [f"{item['id']}.{item['property']}"]
                    response = viewer.post(CALLBACK_PATH, json=case, headers=headers)
                    status = response.status_code
                    assert status < 500, (body["output"], item, junk, status)
                    types = INPUT_TYPES.get(item["property"])
                    if types is not None and (isinstance(junk, bool)
                                              or not isinstance(junk, types)):
                        assert status == 400, (body["output"], item, junk, status)
                    checked += 1
    assert checked > 500
