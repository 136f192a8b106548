"""A questionnaire filter no database can look up: NUL or a lone surrogate in a dashboards link
(``?questionnaire=%00``) or in the filter's value sent by a callback. The page is drawn as if
no questionnaire had been chosen, never a server error (PostgreSQL refuses NUL in text, and no
driver encodes a lone surrogate)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboards import scope
from tests.support.dashboards import FILTER_INPUTS, URL_INPUTS
from tests.support.factories import make_user
from tests.support.web import login

CALLBACK = "/dashboards/_dash-update-component"
CRAFTED = ["\x00", "a\x00b", "\ud800", "\x01"]


@pytest.fixture
def viewer(app: Flask, client: FlaskClient) -> tuple[FlaskClient, str]:
    """A signed-in viewer on the dashboards, and the CSRF token callbacks send back."""
    login(client, "v@example.org", make_user(app, "v@example.org", role="viewer"))
    client.get("/dashboards/")
    cookie = client.get_cookie("_csrf_token", path="/dashboards/")
    assert cookie is not None
    return client, cookie.value


@pytest.mark.parametrize("search", ["?questionnaire=%00", "?questionnaire=%ED%A0%80",
                                    "?questionnaire=%00&unit=%00&category=%00&channel=%00"])
def test_a_crafted_link_draws_the_page(viewer: tuple[FlaskClient, str], search: str) -> None:
    client, token = viewer
    for path in ("/dashboards/", "/dashboards/survey"):
        response = client.post(CALLBACK, headers={"X-CSRFToken": token}, json={
            "output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": path}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["url.pathname"],
        })
        assert response.status_code == 200, (path, search)


@pytest.mark.parametrize("questionnaire", CRAFTED)
def test_a_crafted_filter_value_draws_the_figures(viewer: tuple[FlaskClient, str],
                                                  questionnaire: str) -> None:
    client, token = viewer
    values: list[Any] = ["2025-01-01", "2025-03-31", None, None, None, questionnaire, "month", 0,
                         None, None, None, None]
    for output in ("..kpis.children...trend.figure...status.children..",
                   "..survey-status.children...survey-title.children...survey-summary.children"
                   "...survey-ipa.figure...survey-drivers.figure...survey-nps.figure..."
                   "survey-distributions.children...survey-comments.children.."):
        parts = output.strip(".").split("...")
        response = client.post(CALLBACK, headers={"X-CSRFToken": token}, json={
            "output": output,
            "outputs": [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True))
                        for p in parts],
            "inputs": [{"id": i, "property": p, "value": v}
                       for (i, p), v in zip(FILTER_INPUTS, values, strict=True)],
            "changedPropIds": ["questionnaire.value"], "state": [],
        })
        assert response.status_code == 200, (output, questionnaire)


def test_query_parsing_ignores_values_that_cannot_be_stored() -> None:
    assert scope.from_query("?questionnaire=%00&unit=fen") == scope.Choice(unit="fen")
    assert scope.from_query("?questionnaire=a%00b&channel=%01") == scope.Choice()


@pytest.mark.parametrize("crafted", CRAFTED)
def test_a_crafted_filter_value_is_kept_out_of_the_address(viewer: tuple[FlaskClient, str],
                                                           crafted: str) -> None:
    """The callback that writes the filters into the address bar leaves out what no link can
    hold (a lone surrogate cannot even be encoded)."""
    client, token = viewer
    values: list[Any] = [crafted, "2025-03-31", crafted, crafted, "web", crafted, crafted,
                         "custom", crafted, crafted, crafted]
    response = client.post(CALLBACK, headers={"X-CSRFToken": token}, json={
        "output": "url.search", "outputs": {"id": "url", "property": "search"},
        "inputs": [{"id": i, "property": p, "value": v}
                   for (i, p), v in zip(URL_INPUTS, values, strict=True)],
        "changedPropIds": ["unit.value"], "state": [],
    })
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_json()["response"]["url"]["search"] == "?to=2025-03-31&channel=web"
