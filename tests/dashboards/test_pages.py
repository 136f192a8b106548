"""Every dashboard page: the router, the filters in the URL, each page's callback called as a
function on the random dataset, and a unit manager's scope on every page, hand-made callback
requests included."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.analytics.filters import Filters
from app.analytics.overview import overview_of
from dashboards import complaints, drilldown, operations, scope, survey
from dashboards.overview import update_alerts, update_overview
from tests.support.dashboards import FILTER_INPUTS, PAGE_OUTPUTS, URL_INPUTS, as_user, texts
from tests.support.datasets.generated import END, START, between, csat_counts
from tests.support.factories import make_user
from tests.support.web import login

CALLBACK = "/dashboards/_dash-update-component"
PERIOD = ("2024-10-01", "2025-03-31")  # START to END, inclusive dates in UTC


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_DASHBOARD_REFRESH_SECONDS=7)


def outputs_of(output: str) -> list[dict[str, str]]:
    """The renderer's list of outputs for a callback's output key ('..a.b...c.d..')."""
    parts = output.strip(".").split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]


def callback_body(output: str, unit: str | None = None,
                  questionnaire: str | None = None) -> dict[str, Any]:
    values = [*PERIOD, unit, None, None, questionnaire, "month", 0, None, None, None, None]
    return {
        "output": output,
        "outputs": outputs_of(output),
        "inputs": [{"id": i, "property": p, "value": v}
                   for (i, p), v in zip(FILTER_INPUTS, values, strict=True)],
        "changedPropIds": ["unit.value"], "state": [],
    }


def csrf_cookie(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("_csrf_token", path="/dashboards/")
    assert cookie is not None
    return cookie.value


# --- filters in the URL and the router -----------------------------------------------------------


def test_filters_round_trip_through_the_query_string() -> None:
    choice = scope.Choice(start="2025-01-01", end="2025-01-31", unit="fen", channel="web",
                          grain="week")
    assert scope.to_query(choice) == "?from=2025-01-01&to=2025-01-31&unit=fen&channel=web&by=week"
    assert scope.from_query(scope.to_query(choice)) == choice
    assert scope.from_query("?unit=&evil=1") == scope.Choice()
    assert scope.to_query(scope.Choice()) == ""


@pytest.mark.parametrize(("path", "component"), [
    ("/dashboards/", '"kpis"'), ("/dashboards/drill", '"drill-tree"'),
    ("/dashboards/complaints", '"link-scatter"'), ("/dashboards/survey", '"survey-ipa"'),
    ("/dashboards/operations", '"ops-funnel"'), ("/dashboards/nowhere", "Page not found"),
])
def test_the_router_draws_each_page_with_its_filters(app, client, path: str,
                                                     component: str) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "v@example.org", make_user(app, "v@example.org", role="viewer"))
    assert client.get(path).status_code == 200  # the page itself (Dash's catch-all)
    response = client.post(CALLBACK, headers={"X-CSRFToken": csrf_cookie(client)}, json={
        "output": "page.children", "outputs": {"id": "page", "property": "children"},
        "inputs": [{"id": "url", "property": "pathname", "value": path}],
        "state": [{"id": "url", "property": "search", "value": "?from=2025-01-01&channel=web"}],
        "changedPropIds": ["url.pathname"],
    })
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert component in body
    if "not found" not in component:
        assert '"value":"web"' in body  # the channel filter as the URL says


def test_filters_are_written_into_the_url_and_kept_by_the_links(app, client) -> None:
    login(client, "v@example.org", make_user(app, "v@example.org", role="viewer"))
    client.get("/dashboards/")
    token = csrf_cookie(client)
    search = client.post(CALLBACK, headers={"X-CSRFToken": token}, json={
        "output": "url.search", "outputs": {"id": "url", "property": "search"},
        "inputs": [{"id": i, "property": p, "value": v} for (i, p), v in zip(
            URL_INPUTS, ["2025-01-01", "2025-01-31T00:00:00", "fen", None, "phone",
                         None, "week", "custom", "previous", "service_user", "phone"],
            strict=True)],
        "changedPropIds": ["unit.value"], "state": [],
    }).get_json()["response"]["url"]["search"]
    assert search == ("?from=2025-01-01&to=2025-01-31&unit=fen&channel=phone&by=week"
                      "&source=service_user&mode=phone")
    output = ("..nav-overview.href...nav-drill.href...nav-complaints.href..."
              "nav-survey.href...nav-operations.href...nav-overview.className..."
              "nav-drill.className...nav-complaints.className...nav-survey.className..."
              "nav-operations.className...language-next.value..")
    links = client.post(CALLBACK, headers={"X-CSRFToken": token}, json={
        "output": output, "outputs": outputs_of(output),
        "inputs": [{"id": "url", "property": "pathname", "value": "/dashboards/drill"},
                   {"id": "url", "property": "search", "value": search}],
        "changedPropIds": ["url.search"], "state": [],
    })
    assert links.status_code == 200, links.get_data(as_text=True)
    answer = links.get_json()["response"]
    assert answer["nav-survey"]["href"] == "/dashboards/survey" + search
    assert answer["nav-drill"]["className"] == "current"
    assert answer["language-next"]["value"] == "/dashboards/drill" + search


def find(component: Any, kind: str) -> list[dict[str, Any]]:
    """Components of type ``kind`` in a JSON layout."""
    if isinstance(component, list):
        return [found for child in component for found in find(child, kind)]
    if not isinstance(component, dict):
        return []
    here = [component] if component.get("type") == kind else []
    return here + find(component.get("props", {}).get("children"), kind)


def test_frame_has_live_refresh_and_a_language_switch(app, client) -> None:
    login(client, "v@example.org", make_user(app, "v@example.org", role="viewer"))
    client.get("/dashboards/")
    layout = client.get("/dashboards/_dash-layout").get_json()
    assert find(layout, "Interval")[0]["props"]["interval"] == 7000  # the configured seconds
    form = find(layout, "Form")[0]["props"]
    assert (form["action"], form["method"]) == ("/language", "post")
    fields = {f["props"]["name"]: f["props"]["value"] for f in find(form["children"], "Input")}
    buttons = find(form["children"], "Button")
    assert [b["props"]["value"] for b in buttons] == ["tr", "en", "nl", "et"]
    # The switch posts to the app's language endpoint (CSRF token included) and comes back.
    back = client.post("/language", data={"language": "en", "csrf_token": fields["csrf_token"],
                                          "next": "/dashboards/drill?unit=fen"})
    assert back.status_code == 302 and back.headers["Location"] == "/dashboards/drill?unit=fen"
    assert '<html lang="en">' in client.get("/dashboards/drill").get_data(as_text=True)
    client.post("/language", data={"language": "tr", "csrf_token": fields["csrf_token"],
                                   "next": "/dashboards/"})
    assert '<html lang="tr">' in client.get("/dashboards/").get_data(as_text=True)


# --- each page's callback as a function ----------------------------------------------------------


def test_overview_with_filters_and_targets(app, data) -> None:
    context = as_user(app, "v@example.org")
    try:
        kpis, trend, status = update_overview(*PERIOD, None, "c1", "phone", "q", "quarter", 3)
        alerts = update_alerts(*PERIOD)
        expected = overview_of(Filters(
            START, END, category_ids={data.category_ids[c] for c in ("c1", "c1a", "c1b")},
            channel="phone", questionnaire_id=data.questionnaire_ids["q"]), 5)
    finally:
        context.pop()
    cards = {card.id: texts(card) for card in kpis}
    assert cards["kpi-csat"][1] == f"{expected.csat.value * 100:.1f}%"
    assert "Target 70.0%" in " ".join(cards["kpi-csat"])  # the organisation's CSAT target
    assert cards["kpi-complaints"][1] == str(expected.complaints)
    assert "Poisson" in cards["kpi-complaints"][2]
    assert [t.name for t in trend.data][:2] == ["CSAT (%)", "CSAT target"]
    assert list(trend.data[0].x) == ["Q4 2024", "Q1 2025"]  # by quarter
    assert "Oct 1, 2024 to Mar 31, 2025" in status and "updated at" in status
    assert alerts  # a list of alerts or "No alerts."


def test_drilldown(app, data) -> None:
    context = as_user(app, "v@example.org")
    try:
        tree, title, table, segment_tables, status = drilldown.update_drilldown(*PERIOD)
        inside_a, title_a, table_a, _, _ = drilldown.update_drilldown(*PERIOD, "a")
        narrowed = drilldown.narrow({"points": [{"customdata": ["a1", "c2", ""]}]}, "a")
        up = drilldown.narrow({"points": [{"customdata": ["a", "", "root"]}]}, "a")
    finally:
        context.pop()
    ids = set(tree.data[0].ids)
    assert {"all", f"u{data.unit_ids['org']}", f"u{data.unit_ids['solo']}"} <= ids
    received = [c for c in data.complaints if between(c.received_at, START, END)]
    values = dict(zip(tree.data[0].ids, tree.data[0].values, strict=True))
    assert values["all"] == len(received)
    assert values[f"u{data.unit_ids['solo']}"] == sum(c.unit == "solo" for c in received)
    assert title == "Units" and "Unit org" in texts(table)
    # Inside "a": its children and its own complaints, one level down.
    assert set(inside_a.data[0].ids) >= {f"u{data.unit_ids['a']}", f"u{data.unit_ids['a1']}"}
    assert "Unit a (itself)" in texts(table_a)
    assert narrowed == ("a1", "c2")
    assert up == ("org", None)  # the top box goes one level up
    assert "First-time complainants" in texts(segment_tables)


def test_complaints_and_satisfaction(app, data) -> None:
    context = as_user(app, "v@example.org")
    try:
        scatter, timeliness, days, table, status = complaints.update_linkage(*PERIOD)
    finally:
        context.pop()
    assert "Spearman's rho" in scatter.layout.title.text
    solo = [r for r in data.responses if between(r.submitted_at, START, END)
            and r.unit == "solo"]
    satisfied, n = csat_counts(solo)
    points = dict(zip(scatter.data[0].text, scatter.data[0].y, strict=True))
    assert points["Unit solo"] == pytest.approx(satisfied / n * 100)
    assert list(timeliness.data[0].x) == ["Resolved on time", "Resolved late"]
    assert len(days.data[0].x) == 6
    assert "Not really resolved (false closure)" in texts(table)
    assert "Median time to resolve" in status


def test_survey_results_and_who_reads_comments(app, data) -> None:
    viewer = as_user(app, "v@example.org")
    try:
        as_viewer = survey.update_survey(*PERIOD, None, None, None, "q")
    finally:
        viewer.pop()
    designer = as_user(app, "d@example.org", role="designer")
    try:
        as_designer = survey.update_survey(*PERIOD, None, None, None, "q")
        ipa = survey.update_survey(*PERIOD, None, None, None, "ipa")
    finally:
        designer.pop()
    status, title, cards, ipa_figure, drivers, nps, questions, comments = as_viewer
    assert title == "q"  # the questionnaire's title in the user's language
    assert "Cronbach's alpha" in texts(cards)
    assert {q.id for q in questions} >= {"question-overall", "question-ease"}
    assert "versions 1 left out" in next(
        q for q in questions if q.id == "question-ease").figure.layout.annotations[0].text
    assert texts(comments) == ["Comments are shown to administrators and designers only."]
    shown = texts(as_designer[-1])
    assert "<b>slow</b> & rude" in shown  # as typed; Dash renders it as text, never as HTML
    assert len(ipa[3].data) == 1 and len(ipa[3].data[0].x) == 3  # three attributes in the matrix


def test_operations(app, data) -> None:
    context = as_user(app, "v@example.org")
    try:
        funnel, channels, languages, bounces, status = operations.update_operations(*PERIOD)
    finally:
        context.pop()
    made = [i for i in data.invitations if between(i.created_at, START, END)]
    assert funnel.data[0].y[0] == len(made)
    assert {trace.name for trace in funnel.data[1:]} == {"No consent",
                                                          "Surveyed recently (fatigue)"}
    assert set(languages.data[0].x) == {"Türkçe", "English"}
    assert set(channels.data[0].x) <= {"Web", "Phone", "E-mail"}
    assert set(bounces.data[0].x) == {"E-mail"}  # the dataset sends no SMS
    assert bounces.data[0].y[0] == 0  # and nothing bounced


# --- a unit manager ------------------------------------------------------------------------------


def test_a_unit_manager_sees_only_their_units_on_every_page(app, client, data) -> None:
    """Asked for another unit, even in a hand-made callback request, the answer is the same as
    for the manager's own unit."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, "a1@example.org", make_user(app, "a1@example.org", role="designer",
                                              units=["a1"]))
    client.get("/dashboards/")
    token = csrf_cookie(client)
    outputs = PAGE_OUTPUTS
    others = {data.unit_ids[c] for c in ("a", "a2", "b", "b1", "solo", "org")}
    for name, output in outputs.items():
        answers = {}
        for unit in ("a1", "solo", "org", None):
            response = client.post(CALLBACK, headers={"X-CSRFToken": token},
                                   json=callback_body(output, unit=unit))
            assert response.status_code == 200, (name, unit, response.get_data(as_text=True))
            answer = response.get_json()["response"]
            answers[unit] = answer
            assert "Unit solo" not in str(answer) and "Unit b1" not in str(answer), name
        # The status line may carry a notice; the figures are the same whatever was asked.
        strip = str(answers["a1"]).split("status")[0]
        assert str(answers["solo"]).split("status")[0] == strip, name
        assert str(answers[None]).split("status")[0] == strip, name
        assert "your own units" in str(answers["solo"]), name
    # The treemap's boxes are a1's alone.
    tree = client.post(CALLBACK, headers={"X-CSRFToken": token},
                       json=callback_body(outputs["drill"], unit="solo")).get_json()
    ids = tree["response"]["drill-tree"]["figure"]["data"][0]["ids"]
    assert all(not node.startswith(tuple(f"u{o}" for o in others)) for node in ids)
    # And the overview's figures are a1's own.
    overview = client.post(CALLBACK, headers={"X-CSRFToken": token},
                           json=callback_body(outputs["overview"], unit="b1")).get_json()
    cards = {c["props"]["id"]: texts(c) for c in overview["response"]["kpis"]["children"]}
    own = [r for r in data.responses if between(r.submitted_at, START, END) and r.unit == "a1"]
    assert cards["kpi-responses"][1] == str(len(own))


def test_comments_of_other_units_never_reach_a_unit_manager(app, data) -> None:
    context = as_user(app, "a1@example.org", role="designer", units=["a1"])
    try:
        comments = survey.update_survey(*PERIOD, "solo", None, None, "q")[-1]
    finally:
        context.pop()
    own = [r for r in data.responses if between(r.submitted_at, START, END) and r.unit == "a1"
           and "improve" in r.answers]
    assert texts(comments).count("<b>slow</b> & rude") == min(len(own), survey.MAX_COMMENTS)
    assert "Unit solo" not in texts(comments)


def test_alerts_for_a_unit_manager_are_about_their_units(app, data) -> None:
    context = as_user(app, "a1@example.org", units=["a1"])
    try:
        shown = " ".join(texts(update_alerts(*PERIOD, "solo")))
    finally:
        context.pop()
    assert "Unit solo" not in shown and "organisation" not in shown.lower()


def test_period_arithmetic() -> None:
    assert scope.Choice().grain is None
    assert dt.date.fromisoformat(PERIOD[1]) + dt.timedelta(days=1) == END.date()


def test_figures_under_target_without_the_alert_rules(app, data) -> None:
    """The overview's own list (used when ``app.reports.alerts`` is not there)."""
    from dashboards.overview import _targets_missed

    context = as_user(app, "v@example.org")
    try:
        view = scope.resolve(scope.Choice(*PERIOD))
        messages = _targets_missed(view)
        figures = overview_of(view.filters, view.min_group)
    finally:
        context.pop()
    if figures.csat.value < 0.7:
        assert messages == [f"CSAT is {figures.csat.value * 100:.1f}%, under its target of 70.0%."]
    else:
        assert messages == []


# --- readable on a projector: charts that explain themselves -------------------------------------


def _catalogue() -> Any:
    from app.analytics.survey import Catalogue, Question

    solved = Question("resolved", "yes_no", "resolution", {"en": "Was it solved?"})
    return Catalogue(questionnaire_id=1, key="q", title="q", questions=(solved,), versions={},
                     left_out={})


def test_a_distribution_shows_every_point_of_its_scale(app) -> None:
    """Unchosen points show as 0, so every 1-5 chart has the same five bars; 0-10 bars take the
    NPS split's colours (detractors red, passives grey, promoters blue)."""
    from app.analytics.survey import Distribution
    from dashboards.common import NPS_COLOURS

    rating = Distribution("overall", "rating", 10, {4.0: 6, 5.0: 4})
    nps = Distribution("recommend", "nps", 3, {3.0: 1, 8.0: 1, 10.0: 1})
    solved = Distribution("resolved", "yes_no", 2, {"yes": 2})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        bars = {d.key: survey.distribution_figure(_catalogue(), d).data[0]
                for d in (rating, nps, solved)}
    assert list(bars["overall"].x) == ["1", "2", "3", "4", "5"]
    assert list(bars["overall"].y) == [0, 0, 0, 6, 4]
    assert list(bars["overall"].text)[:3] == ["0.0%"] * 3
    assert list(bars["recommend"].x) == [str(n) for n in range(11)]
    colours = list(bars["recommend"].marker.color)
    assert colours[6] == NPS_COLOURS[0] and colours[7] == NPS_COLOURS[1]
    assert colours[9] == NPS_COLOURS[2]
    assert list(bars["resolved"].x) == ["No", "Yes"] and list(bars["resolved"].y) == [0, 2]


def test_an_empty_chart_wraps_its_message(app) -> None:
    from app.analytics.survey import ImportancePerformance

    with app.test_request_context(headers={"Accept-Language": "en"}):
        figure = survey.ipa_figure(ImportancePerformance([], None, None))
    text = figure.layout.annotations[0].text
    assert "<br>" in text and "too few people answered them." in text.replace("<br>", " ")
    assert max(len(line) for line in text.split("<br>")) <= 50


def test_the_drivers_axis_lets_each_language_place_the_percent_sign(app) -> None:
    from app.analytics.metrics import Pearson
    from app.analytics.survey import Driver

    drivers = [Driver("speed", "speed", Pearson(r=0.5, p_value=0.01, low=0.3, high=0.7, n=30),
                      30)]
    titles = {}
    for language in ("en", "tr"):
        with app.test_request_context(headers={"Accept-Language": language}):
            titles[language] = survey.drivers_figure(_catalogue(), drivers).layout.xaxis.title.text
    assert titles["en"] == "Pearson's r (95% confidence interval)"
    assert "%95" in titles["tr"]  # Turkish puts the sign first, whatever the translation


def test_the_alerts_say_which_month_they_judge(app, data) -> None:
    context = as_user(app, "v@example.org")
    try:
        shown = texts(update_alerts("2025-01-01", "2025-03-31"))
        today = texts(update_alerts(None, None, shortcut="this-month"))
    finally:
        context.pop()
    # A month that is over is not "to date" (it said so on 7 December of November).
    assert shown[0] == "The month of Mar 1, 2025 to Mar 31, 2025."
    assert today[0].startswith("Month to date: ")


def test_a_hidden_bar_says_too_few_and_labels_sit_inside_the_bars(app) -> None:
    from app.analytics.figures import Score

    shown, hidden = Score(40, 0.8, 0.7, 0.9), Score(3, suppressed=True)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        bar = complaints._bar(["on time", "late"], [shown, hidden], "t").data[0]
    assert list(bar.y) == [pytest.approx(80.0), 0]
    assert list(bar.text) == ["80.0%", "too few"]
    assert list(bar.textposition) == ["inside", "outside"]


def test_a_one_month_trend_still_shows_its_targets(app) -> None:
    from app.analytics.figures import Score
    from app.analytics.overview import PeriodFigures
    from dashboards.overview import trend_figure

    score = Score(30, 0.6, 0.4, 0.8)
    month = PeriodFigures(dt.date(2025, 1, 1), 30, score, Score(30, 3.5, 3.2, 3.8), score,
                          score, 12, score, 60, score)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        figure = trend_figure([month], targets={"csat": 0.75})
    target = next(trace for trace in figure.data if trace.name == "CSAT target")
    assert target.mode == "markers" and target.marker.symbol == "line-ew"
    assert list(target.y) == [75.0]
