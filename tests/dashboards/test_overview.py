"""The overview dashboard: protection of every Dash route, CSRF on callbacks, unit scope, and
the callback's figures over HTTP and called as a function."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask_login import login_user
from sqlalchemy import select

from app.extensions import db
from app.models import User
from dashboards.overview import default_period, parse_period, update_overview
from tests.support.dashboards import CALLBACK, callback_body
from tests.support.datasets.analytics import Builder, build_january
from tests.support.factories import make_user
from tests.support.web import login


def cards(response_json: dict[str, Any]) -> dict[str, list[str]]:
    """KPI cards by id -> their texts, from a callback's JSON answer."""
    result = {}
    for card in response_json["response"]["kpis"]["children"]:
        texts = [child["props"]["children"] for child in card["props"]["children"]]
        result[card["props"]["id"]] = texts
    return result


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    # The hand counts are for UTC months; one test below checks the organisation's time zone.
    return make_app(MEMNUN_TIMEZONE="UTC")


@pytest.fixture
def january(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        build_january(Builder().setup())


@pytest.fixture
def viewer(app, client, january):  # type: ignore[no-untyped-def]
    """A logged-in viewer who sees the whole organisation, reading English."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "viewer@example.org", make_user(app, "viewer@example.org", role="viewer"))
    return client


def csrf_cookie(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("_csrf_token", path="/dashboards/")
    assert cookie is not None, "no CSRF cookie for the dashboards"
    return cookie.value


# --- protection ----------------------------------------------------------------------------------


def test_anonymous_page_goes_to_login(client) -> None:
    response = client.get("/dashboards/?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/dashboards/?x%3D1"


@pytest.mark.parametrize(
    "path",
    [
        "/dashboards/_dash-layout",
        "/dashboards/_dash-dependencies",
        "/dashboards/_reload-hash",
        "/dashboards/_favicon.ico",
        "/dashboards/assets/dashboards.css",
        "/dashboards/_dash-component-suites/dash/dcc/dash_core_components.js",
    ],
)
def test_anonymous_dash_requests_get_401(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_anonymous_callback_gets_401_not_a_csrf_error(client) -> None:
    response = client.post(CALLBACK, json=callback_body())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_page_sets_the_csrf_cookie_for_the_renderer(viewer) -> None:
    response = viewer.get("/dashboards/")
    assert response.status_code == 200
    assert '<html lang="en">' in response.get_data(as_text=True)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("_csrf_token="))
    assert "Path=/dashboards/" in header
    assert "SameSite=Strict" in header
    assert "HttpOnly" not in header  # the renderer must read it
    assert csrf_cookie(viewer)


def test_callback_without_csrf_token_is_refused(viewer) -> None:
    viewer.get("/dashboards/")
    response = viewer.post(CALLBACK, json=callback_body())
    assert response.status_code == 400


def test_callback_with_a_wrong_csrf_token_is_refused(viewer) -> None:
    viewer.get("/dashboards/")
    response = viewer.post(CALLBACK, json=callback_body(), headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400


def test_callback_with_the_cookie_token_gives_the_figures(viewer) -> None:
    viewer.get("/dashboards/")
    response = viewer.post(CALLBACK, json=callback_body(),
                           headers={"X-CSRFToken": csrf_cookie(viewer)})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    shown = cards(body)
    # January 2025 (tests/support/datasets/analytics.py): CSAT 5 of 8, 9 responses, 5 complaints,
    # 10 of 14 invitations answered, 2 of 3 resolved on time.
    assert shown["kpi-csat"][1] == "62.5%"
    assert shown["kpi-nps"][1] == "+17"
    assert shown["kpi-responses"][1] == "9"
    assert shown["kpi-complaints"][1] == "5"
    assert shown["kpi-response-rate"][1] == "71.4%"
    assert shown["kpi-on-time"][1] == "66.7%"
    figure = body["response"]["trend"]["figure"]
    csat_line = next(trace for trace in figure["data"] if trace["type"] == "scatter")
    assert csat_line["x"] == ["Jan 2025"] and csat_line["y"] == [62.5]
    assert "Jan 1, 2025 to Jan 31, 2025" in body["response"]["status"]["children"]
    # The token is renewed with each answer, so a dashboard left open keeps working.
    assert any(h.startswith("_csrf_token=") for h in response.headers.getlist("Set-Cookie"))


def test_the_period_is_in_the_organisations_time_zone(make_app) -> None:
    app = make_app(MEMNUN_TIMEZONE="Europe/Istanbul")
    with app.app_context():
        build_january(Builder().setup())
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "ist@example.org", make_user(app, "ist@example.org", role="viewer"))
    client.get("/dashboards/")
    body = client.post(CALLBACK, json=callback_body(),
                       headers={"X-CSRFToken": csrf_cookie(client)}).get_json()
    # 23:59:59 UTC on 31 December is already 1 January in Istanbul: its rating of 1 counts.
    assert cards(body)["kpi-csat"][1] == "55.6%"  # 5 of 9
    assert cards(body)["kpi-responses"][1] == "10"


def test_layout_and_dependencies_for_a_logged_in_user(viewer) -> None:
    viewer.get("/dashboards/")
    layout = viewer.get("/dashboards/_dash-layout")
    assert layout.status_code == 200
    # The frame: the URL, the live refresh and the pages; the router draws the page itself.
    for component in ('"url"', '"refresh"', '"page"', '"nav-drill"'):
        assert component in layout.get_data(as_text=True)
    routed = viewer.post(CALLBACK, headers={"X-CSRFToken": csrf_cookie(viewer)}, json={
        "output": "page.children", "outputs": {"id": "page", "property": "children"},
        "inputs": [{"id": "url", "property": "pathname", "value": "/dashboards/"}],
        "state": [{"id": "url", "property": "search", "value": "?from=2025-01-01&to=2025-01-31"}],
        "changedPropIds": ["url.pathname"],
    })
    assert routed.status_code == 200, routed.get_data(as_text=True)
    page = routed.get_data(as_text=True)
    assert '"period"' in page and '"start_date":"2025-01-01"' in page and '"kpis"' in page
    dependencies = viewer.get("/dashboards/_dash-dependencies").get_json()
    overview_callback = next(d for d in dependencies
                             if d["output"] == "..kpis.children...trend.figure...status.children..")
    assert [(i["id"], i["property"]) for i in overview_callback["inputs"]] == [
        (i["id"], i["property"]) for i in callback_body()["inputs"]
    ]


def test_a_unit_manager_sees_only_their_units(app, client, january) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    password = make_user(app, "zabita@example.org", role="viewer", units=["zabita"])
    login(client, "zabita@example.org", password)
    client.get("/dashboards/")
    token = csrf_cookie(client)
    body = client.post(CALLBACK, json=callback_body(), headers={"X-CSRFToken": token}).get_json()
    shown = cards(body)
    # Zabita alone: 2 responses (too few for a score), 1 complaint, 1 of 1 on time.
    assert shown["kpi-csat"][1:] == ["–", "Too few responses"]
    assert shown["kpi-responses"][1] == "2"
    assert shown["kpi-complaints"][1] == "1"
    assert shown["kpi-on-time"][1] == "100.0%"
    # Whatever the browser asks for, the scope comes from the user on the server: another
    # unit in a hand-made request still gives Zabita's own figures ...
    for other in ("fen", "city", "no-such-unit"):
        crafted = client.post(CALLBACK, json=callback_body(unit=other),
                              headers={"X-CSRFToken": token}).get_json()
        assert cards(crafted) == shown, other
    # ... and a request that does not match the callback's inputs is refused, not a 500.
    malformed = callback_body()
    malformed["inputs"].append({"id": "unit", "property": "value", "value": None})
    response = client.post(CALLBACK, json=malformed, headers={"X-CSRFToken": token})
    assert response.status_code == 400
    del malformed["inputs"][2:]
    response = client.post(CALLBACK, json=malformed, headers={"X-CSRFToken": token})
    assert response.status_code == 400


def test_a_parent_unit_manager_sees_the_units_below(app, client, january) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    password = make_user(app, "city@example.org", role="viewer", units=["city"])
    login(client, "city@example.org", password)
    client.get("/dashboards/")
    body = client.post(CALLBACK, json=callback_body(),
                       headers={"X-CSRFToken": csrf_cookie(client)}).get_json()
    shown = cards(body)
    assert shown["kpi-csat"][1] == "66.7%"  # fen: 4 of 6
    assert shown["kpi-complaints"][1] == "4"  # fen 3, park 1


def test_turkish_numbers_and_months(app, client, january) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "tr"
    login(client, "tr@example.org", make_user(app, "tr@example.org", role="viewer"))
    client.get("/dashboards/")
    body = client.post(CALLBACK, json=callback_body(),
                       headers={"X-CSRFToken": csrf_cookie(client)}).get_json()
    assert cards(body)["kpi-csat"][1] == "%62,5"
    figure = body["response"]["trend"]["figure"]
    assert figure["layout"]["separators"] == ",."
    assert next(t for t in figure["data"] if t["type"] == "scatter")["x"] == ["Oca 2025"]


# --- the callback as a function ------------------------------------------------------------------


def test_callback_called_as_a_function(app, january) -> None:
    make_user(app, "fen@example.org", role="viewer", units=["fen"])
    with app.test_request_context("/dashboards/", headers={"Accept-Language": "en"}):
        login_user(db.session.scalar(select(User).where(User.email == "fen@example.org")))
        kpis, figure, status = update_overview("2024-12-01", "2025-01-31")
    by_id = {card.id: card for card in kpis}
    # fen in December and January: 4 of 6 in January and a rating of 1 on 31 December.
    assert by_id["kpi-csat"].children[1].children == "57.1%"
    assert by_id["kpi-responses"].children[1].children == "8"
    assert "kpi-suppressed" not in by_id["kpi-csat"].className
    csat_line = next(trace for trace in figure.data if trace.type == "scatter")
    # December: one overall rating in fen, suppressed. January (4 of 6) is hidden as well: the
    # card shows both months together (4 of 7), so January shown would give December's one
    # rating away (complementary suppression).
    assert list(csat_line.x) == ["Dec 2024", "Jan 2025"]
    assert list(csat_line.y) == [None, None]
    assert list(csat_line.text) == ["Too few responses", "Too few responses"]
    assert "Dec 1, 2024 to Jan 31, 2025" in status


def test_a_lone_small_month_takes_the_next_smallest_with_it(app) -> None:
    make_user(app, "v@example.org", role="viewer")
    with app.app_context():
        builder = Builder().setup()
        ratings = {11: [5, 5, 5, 5, 5, 5, 2, 2], 12: [1], 1: [5, 4, 3, 5, 2, 4]}
        for month, values in ratings.items():
            year = 2025 if month == 1 else 2024
            for day, overall in enumerate(values, start=1):
                builder.response("fen", dt.datetime(year, month, day, 12, tzinfo=dt.UTC), overall)
        db.session.commit()
    with app.test_request_context("/dashboards/", headers={"Accept-Language": "en"}):
        login_user(db.session.scalar(select(User).where(User.email == "v@example.org")))
        _, figure, _ = update_overview("2024-11-01", "2025-01-31")
    csat_line = next(trace for trace in figure.data if trace.type == "scatter")
    # December (1 rating) is too small; January (6, the smaller of the others) goes with it;
    # November (8) stays: the whole minus November gives only December and January together.
    assert list(csat_line.x) == ["Nov 2024", "Dec 2024", "Jan 2025"]
    assert list(csat_line.y) == [pytest.approx(75.0), None, None]


def test_a_significant_change_is_marked(app) -> None:
    make_user(app, "v@example.org", role="viewer")
    with app.app_context():
        builder = Builder().setup()
        for day, overall in enumerate([5, 5, 4, 4, 5, 4, 5, 2], start=1):  # December: 7 of 8
            builder.response("fen", dt.datetime(2024, 12, day, 12, tzinfo=dt.UTC), overall)
        for day, overall in enumerate([5, 1, 2, 2, 3, 1, 4, 2, 1, 5], start=1):  # January: 3 of 10
            builder.response("fen", dt.datetime(2025, 1, day, 12, tzinfo=dt.UTC), overall)
        db.session.commit()
    with app.test_request_context("/dashboards/", headers={"Accept-Language": "en"}):
        login_user(db.session.scalar(select(User).where(User.email == "v@example.org")))
        kpis, _, _ = update_overview("2025-01-01", "2025-01-31")
        quiet, _, _ = update_overview("2024-12-01", "2024-12-31")  # November had nothing
    texts = [p.children for p in kpis[0].children]
    assert texts[1] == "30.0%"
    assert texts[-1] == "▼ 57.5 points against the previous period"
    assert not any("previous period" in str(p.children) for p in quiet[0].children)


def test_callback_with_a_nonsense_period_falls_back_to_the_default(app, january) -> None:
    make_user(app, "v@example.org", role="viewer")
    with app.test_request_context("/dashboards/", headers={"Accept-Language": "en"}):
        login_user(db.session.scalar(select(User).where(User.email == "v@example.org")))
        _, figure, status = update_overview("not a date", "2025-01-31")
    assert status.startswith("That period cannot be shown")
    assert len(next(t for t in figure.data if t.type == "scatter").x) == 12


def test_periods() -> None:
    # Live: this month so far and the 11 months before it.
    assert default_period(dt.date(2025, 3, 15)) == (dt.date(2024, 4, 1), dt.date(2025, 3, 15))
    assert default_period(dt.date(2025, 1, 1)) == (dt.date(2024, 2, 1), dt.date(2025, 1, 1))
    assert parse_period("2025-01-01T00:00:00", "2025-01-31") == (
        dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert parse_period("2025-02-01", "2025-01-31") is None
    assert parse_period("1900-01-01", "2025-01-31") is None  # too long to ask for
    assert parse_period(None, "2025-01-31") is None
