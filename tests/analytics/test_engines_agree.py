"""The metrics API, the review pack and the dashboards give the same figures for the same filters.

For a grid of filters (period, unit, category, channel, questionnaire) and groupings (by unit,
category, month, or none), each engine's answer is brought to one shape (per group: counts, each
figure as (value, low, high) or None when hidden, and whether the group is suppressed) and the
shapes must be equal:

- the API: ``GET /api/v1/metrics`` through the test client, with a key of the read scope;
- the review pack: ``app.reports.pack.build_pack`` (what the pack page renders), for the filters
  it has (period and unit);
- the dashboards: ``overview_of`` and ``overview_and_trend`` (overview page), ``breakdown``
  (drill-down page; with every unit or category on its own, as the API groups them).

Runs on SQLite and PostgreSQL (the ``app`` fixture). With Europe/Istanbul's whole-hour offset,
requests filtered by unit at most are read from the hourly rollup; the dashboards' figures are
also computed from the rows (``without_rollup``), and must not differ either.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from app.analytics.breakdown import breakdown
from app.analytics.figures import Score
from app.analytics.filters import Filters, expand
from app.analytics.hourly import without_rollup
from app.analytics.overview import overview_and_trend, overview_of
from app.analytics.periods import Grain, to_instant
from app.analytics.splits import Dimension
from app.analytics.tree import category_tree, flat, unit_tree
from app.extensions import db
from app.models import (
    ApiScope,
    Category,
    Channel,
    Complaint,
    Invitation,
    InvitationChannel,
    InvitationState,
    MessageDelivery,
    Questionnaire,
    QuestionnaireVersion,
    Unit,
    VersionStatus,
)
from app.reports.pack import build_pack
from tests.support.api import Api, make_key
from tests.support.datasets.reports import DEFINITION, Data, at, build_january

#: Figure names in the API and where the dashboards' overview keeps each.
OVERVIEW_FIGURES = {"csat": "csat", "mean": "mean_score", "nps": "nps", "ces": "ces",
                    "resolution_confirmed": "resolution_confirmed", "on_time": "on_time",
                    "response_rate": "response_rate", "bounce_rate": "bounce_rate"}
#: The trend has no CES.
TREND_FIGURES = {name: field for name, field in OVERVIEW_FIGURES.items() if name != "ces"}
GROUP_FIGURES = tuple(OVERVIEW_FIGURES)

DECEMBER_TO_FEBRUARY = (dt.date(2024, 12, 1), dt.date(2025, 2, 28))
JANUARY = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
#: (first day, last day, unit, category, channel, questionnaire): codes, None for "all".
GRID = [
    (*DECEMBER_TO_FEBRUARY, None, None, None, None),
    (*JANUARY, None, None, None, None),
    (*DECEMBER_TO_FEBRUARY, "city", None, None, None),
    (*DECEMBER_TO_FEBRUARY, "fen", None, None, None),
    (*JANUARY, "zabita", None, None, None),
    (*DECEMBER_TO_FEBRUARY, None, "temizlik", None, None),
    (*DECEMBER_TO_FEBRUARY, None, None, "phone", None),
    (*DECEMBER_TO_FEBRUARY, None, None, "web", None),
    (*DECEMBER_TO_FEBRUARY, None, None, None, "follow-up"),
    (*DECEMBER_TO_FEBRUARY, None, None, None, "post-resolution"),
    (*DECEMBER_TO_FEBRUARY, "city", "yol", "web", "post-resolution"),
]
GROUPINGS = (None, "unit", "category", "month")


def build(data: Data) -> None:
    """The reports' January (``build_january``) and around it: December and February, a few
    phone complaints and responses, invitations never answered, and a second questionnaire, so
    that every filter of the grid selects something and groups fall on both sides of the
    smallest group size."""
    build_january(data)
    data.bulk_responses("zabita", at(2024, 12, 15), [4, 4], category="temizlik")
    data.bulk_responses("park", at(2025, 2, 10), [5, 4, 4, 2, 5, 3], category="gurultu")
    data.bulk_responses("fen", at(2025, 2, 12), [5, 5, 4, 1, 4, 4, 3])
    for day, (overall, nps, resolved) in enumerate([(4, 9, True), (2, 3, False), (5, 10, True),
                                                    (3, 7, False)]):
        response = data.response("fen", at(2025, 2, 3 + day), overall, nps, resolved,
                                  category="temizlik")
        response.channel = Channel.PHONE
        db.session.get(Complaint, response.complaint_id).channel = Channel.PHONE
    data.complaint("park", at(2025, 1, 5), resolved=at(2025, 1, 9), due=at(2025, 1, 8),
                   category="temizlik").channel = Channel.PHONE
    unanswered = [data.invitation(data.complaint(unit, sent - dt.timedelta(days=2)), sent)
                  for unit, sent in (("fen", at(2025, 1, 11)), ("fen", at(2025, 2, 2)),
                                     ("park", at(2025, 2, 2)), ("zabita", at(2024, 12, 20)))]
    # Never answered: response rate below 1; two did not arrive (a bounce, a failed SMS).
    unanswered[0].state, unanswered[0].delivery = InvitationState.BOUNCED, MessageDelivery.FAILED
    unanswered[2].channel = InvitationChannel.SMS
    unanswered[2].state, unanswered[2].delivery = InvitationState.FAILED, MessageDelivery.FAILED
    other = QuestionnaireVersion(
        questionnaire=Questionnaire(key="follow-up", title="Follow-up"), number=1,
        status=VersionStatus.PUBLISHED, definition={**DEFINITION, "key": "follow-up"})
    db.session.add(other)
    db.session.flush()
    for overall in (5, 4, 1):
        response = data.response("park", at(2025, 1, 22), overall, 8, True, category="yol")
        response.version_id, response.questionnaire_id = other.id, other.questionnaire_id
        db.session.get(Invitation, response.invitation_id).version_id = other.id
    db.session.commit()


@pytest.fixture
def dataset(app: Flask) -> dict[str, Any]:
    with app.app_context():
        build(Data().setup())
    return {"api": Api(app.test_client(), make_key(app, ApiScope.READ, name="metrics"))}


# --- one shape for every engine ------------------------------------------------------------------


def shown(score: Score) -> tuple[float, float | None, float | None] | None:
    """A figure as the API shows it: None when hidden or without data."""
    if score.suppressed or score.value is None:
        return None
    return (score.value, score.low, score.high)


def from_json(figure: dict[str, float] | None) -> tuple[float, float, float] | None:
    return None if figure is None else (figure["value"], figure["low"], figure["high"])


def api_groups(api: Api, params: dict[str, str], group_by: str | None) -> dict[Any, dict]:
    query = {**params, **({"group_by": group_by} if group_by else {})}
    response = api.get("/metrics", query_string=query)
    assert response.status_code == 200, response.get_json()
    return {group["key"]: {
        "responses": group["responses"], "complaints": group["complaints"],
        "invitations": group["invitations"], "suppressed": group["suppressed"],
        **{name: from_json(group[name]) for name in GROUP_FIGURES},
    } for group in response.get_json()["groups"]}


def figures_of(group: Any) -> dict[str, Any]:
    """A ``GroupFigures`` (API, pack) or a ``breakdown`` ``Group`` in the common shape."""
    complaints, invitations = group.complaints, group.invitations
    return {
        "responses": group.responses,
        "complaints": complaints if isinstance(complaints, int) else complaints.received,
        "invitations": invitations if isinstance(invitations, int) else invitations.sent,
        "suppressed": group.suppressed,
        **{name: shown(group.figures[name]) for name in GROUP_FIGURES},
    }


def overview_figures(figures: Any, names: dict[str, str]) -> dict[str, Any]:
    """An ``Overview`` or a trend's ``PeriodFigures`` in the common shape (no ``suppressed``:
    only the whole has one, compared on its own)."""
    return {"responses": figures.responses, "complaints": figures.complaints,
            "invitations": figures.invitations_sent,
            **{name: shown(getattr(figures, field)) for name, field in names.items()}}


def only(groups: dict[Any, dict], fields: set[str]) -> dict[Any, dict]:
    return {key: {name: value for name, value in group.items() if name in fields}
            for key, group in groups.items()}


# --- the engines ---------------------------------------------------------------------------------


def codes(model: Any) -> dict[int, str]:
    return dict(db.session.execute(db.select(model.id, model.code)).all())


def filters_of(first: dt.date, last: dt.date, unit: str | None, category: str | None,
               channel: str | None, questionnaire: str | None, tz: str) -> Filters:
    """The filters the dashboards build (``dashboards.scope.resolve``) for these choices."""

    def below(model: Any, code: str | None) -> frozenset[int] | None:
        if code is None:
            return None
        return expand(model, [db.session.scalar(db.select(model.id).where(model.code == code))])

    questionnaire_id = None if questionnaire is None else db.session.scalar(
        db.select(Questionnaire.id).where(Questionnaire.key == questionnaire))
    return Filters(to_instant(first, tz), to_instant(last + dt.timedelta(days=1), tz),
                   unit_ids=below(Unit, unit), category_ids=below(Category, category),
                   channel=channel, questionnaire_id=questionnaire_id)


def dashboard_groups(filters: Filters, group_by: str | None, min_group: int,
                     tz: str) -> dict[Any, dict]:
    if group_by is None:
        whole = overview_of(filters, min_group)
        return {None: {**overview_figures(whole, OVERVIEW_FIGURES),
                       "suppressed": whole.suppressed}}
    if group_by == "month":
        _, trend = overview_and_trend(filters, Grain.MONTH, min_group, tz)
        return {p.start.strftime("%Y-%m"): overview_figures(p, TREND_FIGURES) for p in trend}
    # Each unit or category on its own (``flat``), as the API groups them; the drill-down's
    # levels roll children up, which the API does not.
    dimension, model, tree = ((Dimension.UNIT, Unit, unit_tree()) if group_by == "unit"
                              else (Dimension.CATEGORY, Category, category_tree()))
    names = codes(model)
    return {names[g.key]: figures_of(g)
            for g in breakdown(filters, dimension, min_group, level=flat(tree), tz=tz)}


def pack_groups(first: dt.date, last: dt.date, unit: str | None
                ) -> dict[str | None, dict[Any, dict]]:
    """The pack's figures by grouping; its categories list only those with complaints."""
    unit_ids = None if unit is None else [
        db.session.scalar(db.select(Unit.id).where(Unit.code == unit))]
    pack = build_pack(first, last, unit_ids, unit or "all",
                      generated_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    unit_codes, category_codes = codes(Unit), codes(Category)
    return {
        None: {None: {**overview_figures(pack.summary, OVERVIEW_FIGURES),
                      "suppressed": pack.summary.suppressed}},
        "unit": {unit_codes[row.figures.key]: figures_of(row.figures) for row in pack.units},
        "category": {category_codes[row.figures.key]: figures_of(row.figures)
                     for row in pack.categories},
        "month": {g.key.strftime("%Y-%m"): figures_of(g) for g in pack.months},
    }


# --- the test ------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", GRID, ids=lambda c: "-".join(str(v) for v in c if v))
def test_the_api_the_pack_and_the_dashboards_agree(app: Flask, dataset: dict[str, Any],
                                                   choice: tuple[Any, ...]) -> None:
    first, last, unit, category, channel, questionnaire = choice
    params = {"from": first.isoformat(), "to": (last + dt.timedelta(days=1)).isoformat(),
              **{name: value for name, value in (("unit", unit), ("category", category),
                                                 ("channel", channel),
                                                 ("questionnaire", questionnaire)) if value}}
    with app.app_context():
        tz = app.config["MEMNUN_TIMEZONE"]
        min_group = int(app.config["MEMNUN_MIN_GROUP_SIZE"])
        filters = filters_of(first, last, unit, category, channel, questionnaire, tz)
        pack = (pack_groups(first, last, unit)
                if category is None and channel is None and questionnaire is None else None)
        hidden_and_shown = set()
        for group_by in GROUPINGS:
            api = api_groups(dataset["api"], params, group_by)
            dashboards = dashboard_groups(filters, group_by, min_group, tz)
            fields = set(next(iter(dashboards.values()), {}))
            assert only(api, fields) == dashboards, ("dashboards", group_by)
            with without_rollup():
                from_rows = dashboard_groups(filters, group_by, min_group, tz)
            assert from_rows == dashboards, ("dashboards from the rows", group_by)
            if pack is not None:
                in_pack = pack[group_by]
                if group_by == "category":  # the pack lists categories with complaints only
                    api = {key: group for key, group in api.items() if group["complaints"]}
                fields = set(next(iter(in_pack.values()), {}))
                assert only(api, fields) == in_pack, ("pack", group_by)
            hidden_and_shown |= {group["csat"] is None for group in api.values()
                                 if group["responses"]}
    if choice == GRID[0]:  # the comparison is only worth something if some CSAT is hidden
        assert hidden_and_shown == {True, False}


def test_a_month_hidden_for_too_few_responses_is_hidden_with_another_everywhere(
        app: Flask) -> None:
    """March: 4 responses, none with a CSAT answer; April 5 and May 6 with one each. March is
    hidden for its responses, and April with it (else March's counts would be the quarter's
    minus the other months'). For CSAT, March has no answers, so April would be the only hidden
    month with any, and the quarter's CSAT minus May's would give it away: May goes too. The
    trend used to show April and May; now it hides what the API and the pack hide."""
    with app.app_context():
        data = Data().setup()
        for day in range(4):
            data.response("fen", at(2025, 3, 3 + day), None, 9)
        data.bulk_responses("fen", at(2025, 4, 10), [5, 4, 4, 2, 5])
        data.bulk_responses("fen", at(2025, 5, 10), [5, 4, 4, 2, 5, 3])
        db.session.commit()
        tz = app.config["MEMNUN_TIMEZONE"]
        min_group = int(app.config["MEMNUN_MIN_GROUP_SIZE"])
        first, last = dt.date(2025, 3, 1), dt.date(2025, 5, 31)
        filters = filters_of(first, last, None, None, None, None, tz)
        dashboards = dashboard_groups(filters, "month", min_group, tz)
    api = api_groups(Api(app.test_client(), make_key(app, ApiScope.READ, name="metrics")),
                     {"from": first.isoformat(), "to": "2025-06-01"}, "month")
    fields = set(next(iter(dashboards.values())))
    assert only(api, fields) == dashboards
    assert [dashboards[month]["csat"] is None for month in ("2025-03", "2025-04", "2025-05")] \
        == [True, True, True]
