"""Contract tests: GET /api/v1/metrics on a small dataset counted by hand, with suppression."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from app.analytics import metrics
from app.analytics.breakdown import grouped_figures
from app.analytics.filters import Filters
from app.analytics.suppression import FIGURE_COUNTS, hidden_groups
from app.extensions import db
from app.models import Invitation, InvitationState, QuestionnaireVersion, Unit
from tests.support.api import admin_api, invalid_fields
from tests.support.datasets.delivered import bounce
from tests.support.datasets.survey import SurveyData, utc
from tests.support.factories import make_walk_in_response

PERIOD = {"from": "2025-01-01", "to": "2025-03-01"}  # dates: midnight in Europe/Istanbul
FEN = {"overall": [5, 4, 4, 3, 2, 5], "recommend": [10, 9, 8, 6, 3, 10],
       "resolved": ["yes", "yes", "no", "yes", "no", "yes"], "effort": [2, 3, 1, 5, 6, 2]}
PARK = {"overall": [5, 5, 4, 1, 3], "recommend": [9, 9, 7, 2, 10]}
PARK_EFFORT = [2, 4]  # only the first two park respondents answered it
ZABITA = {"overall": [1, 2], "recommend": [5, 9]}
GROUP_FIELDS = {"key", "label", "suppressed", "responses", "csat", "mean", "nps", "ces",
                "resolution_confirmed", "invitations", "delivered", "response_rate",
                "bounce_rate", "complaints", "compliments", "on_time"}


def build(data: SurveyData) -> None:
    """fen: 6 responses in January (4 complaints resolved on time, 2 late) and 2 invitations
    without an answer; fen.yol: 1 open complaint; park: 5 responses in February (all on time);
    zabita: 2 responses in January (complaints without a due time)."""
    for i in range(6):
        complaint = data.complaint("fen", utc(2025, 1, 5 + i), resolved=utc(2025, 1, 8 + i),
                                   due=utc(2025, 1, 9 + i) if i < 4 else utc(2025, 1, 7 + i))
        data.response(complaint, utc(2025, 1, 10 + i),
                      {key: values[i] for key, values in FEN.items()})
    for _ in range(2):
        data.invitation(data.complaint("fen", utc(2024, 12, 1)), sent=utc(2025, 1, 3))
    data.complaint("fen.yol", utc(2025, 1, 20), category="yol")
    for i in range(5):
        complaint = data.complaint("park", utc(2025, 2, 1 + i), category="yol", channel="phone",
                                   resolved=utc(2025, 2, 5 + i), due=utc(2025, 2, 20))
        answers: dict[str, Any] = {key: values[i] for key, values in PARK.items()}
        if i < len(PARK_EFFORT):
            answers["effort"] = PARK_EFFORT[i]
        data.response(complaint, utc(2025, 2, 10 + i), answers)
    for i in range(2):
        complaint = data.complaint("zabita", utc(2025, 1, 16 + i), resolved=utc(2025, 1, 18))
        data.response(complaint, utc(2025, 1, 20 + i),
                      {key: values[i] for key, values in ZABITA.items()})
    data.commit()


@pytest.fixture
def dataset(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        build(SurveyData())


def figure(estimate: metrics.Estimate) -> dict[str, float]:
    return {"value": estimate.value, "low": estimate.low, "high": estimate.high}


def approx(expected: dict[str, float]) -> Any:
    return pytest.approx(expected, rel=1e-9, abs=1e-12)


def groups_of(response: Any) -> dict[Any, dict[str, Any]]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    for group in body["groups"]:
        assert set(group) == GROUP_FIELDS
        for name in ("csat", "mean", "nps", "ces", "resolution_confirmed", "response_rate",
                     "bounce_rate", "on_time"):
            assert group[name] is None or set(group[name]) == {"value", "low", "high"}
    return {group["key"]: group for group in body["groups"]}


def test_the_whole_period_by_hand(app, dataset) -> None:
    response = admin_api(app).get("/metrics", query_string=PERIOD)
    body = response.get_json()
    assert body["from"] == "2024-12-31T21:00:00+00:00" and body["to"] == "2025-02-28T21:00:00+00:00"
    assert (body["group_by"], body["min_group_size"]) == (None, 5)
    whole = groups_of(response)[None]
    assert (whole["label"], whole["suppressed"], whole["responses"]) == ("All", False, 13)
    # CSAT: 4 and 5 among all overall ratings: fen 4, park 3, zabita 0 of 13.
    assert whole["csat"] == approx(figure(metrics.csat(7, 13)))
    # Mean: sums 23 + 18 + 3 = 44, squares 95 + 76 + 5 = 176.
    assert whole["mean"] == approx(figure(metrics.mean_interval(13, 44, 176)))
    assert whole["mean"]["value"] == pytest.approx(44 / 13)
    # NPS: promoters 3 + 3 + 1, detractors 2 + 1 + 1, of 13.
    assert whole["nps"] == approx(figure(metrics.nps(7, 4, 13)))
    assert whole["nps"]["value"] == pytest.approx(3 / 13)
    # CES: fen's six (sum 19, squares 79) and park's two (2 and 4).
    assert whole["ces"] == approx(figure(metrics.ces(8, 25, 99)))
    assert whole["resolution_confirmed"] == approx(figure(metrics.wilson_interval(4, 6)))
    # Complaints received: fen 6, fen.yol 1, park 5, zabita 2; fen's two December ones not.
    assert whole["complaints"] == 14
    # Resolved in the period with a due time: fen 4 of 6 on time, park 5 of 5.
    assert whole["on_time"] == approx(figure(metrics.on_time_share(9, 11)))
    # Sent in the period: fen 6 + 2 unanswered, park 5, zabita 2; 13 answered.
    assert whole["invitations"] == whole["delivered"] == 15
    assert whole["response_rate"] == approx(figure(metrics.response_rate(13, 15)))
    assert whole["bounce_rate"] == approx(figure(metrics.bounce_rate(0, 15)))


def test_a_bounced_invitation_leaves_the_response_rate_for_the_bounce_rate(app, dataset) -> None:
    with app.app_context():
        unanswered = db.session.scalar(select(Invitation.id).where(
            Invitation.state == InvitationState.SENT).limit(1))  # one of fen's two
        bounce(unanswered)
    groups = groups_of(admin_api(app).get("/metrics", query_string={**PERIOD,
                                                                     "group_by": "unit"}))
    fen, park = groups["fen"], groups["park"]
    assert (fen["invitations"], fen["delivered"]) == (8, 7)
    assert fen["response_rate"] == approx(figure(metrics.response_rate(6, 7)))
    assert fen["bounce_rate"] == approx(figure(metrics.bounce_rate(1, 8)))
    assert park["bounce_rate"] == approx(figure(metrics.bounce_rate(0, 5)))
    whole = groups_of(admin_api(app).get("/metrics", query_string=PERIOD))[None]
    assert whole["response_rate"] == approx(figure(metrics.response_rate(13, 14)))
    assert whole["bounce_rate"] == approx(figure(metrics.bounce_rate(1, 15)))


def test_by_unit_with_small_group_and_complementary_suppression(app, dataset) -> None:
    groups = groups_of(admin_api(app).get("/metrics", query_string={**PERIOD,
                                                                     "group_by": "unit"}))
    assert set(groups) == {"fen", "fen.yol", "park", "zabita"}
    fen, yol, park, zabita = (groups[k] for k in ("fen", "fen.yol", "park", "zabita"))
    assert fen["label"] == "Fen İşleri Müdürlüğü" and zabita["label"] == "Zabıta"
    # zabita: 2 responses, too few. park (5) is hidden as well: otherwise the whole minus fen
    # and park would give zabita's figures.
    assert zabita["suppressed"] and zabita["responses"] == 2
    assert park["suppressed"] and park["responses"] == 5
    for hidden in (zabita, park):
        assert all(hidden[name] is None for name in ("csat", "mean", "nps", "ces",
                                                     "resolution_confirmed"))
    assert not fen["suppressed"]
    assert fen["csat"] == approx(figure(metrics.csat(4, 6)))
    assert fen["mean"] == approx(figure(metrics.mean_interval(6, 23, 95)))
    assert fen["nps"] == approx(figure(metrics.nps(3, 2, 6)))
    assert fen["resolution_confirmed"] == approx(figure(metrics.wilson_interval(4, 6)))
    # CES: only fen and park answered it, and park is hidden, so fen's CES would give park's
    # by subtraction from the whole: hidden too.
    assert fen["ces"] is None
    # Complaint and invitation figures are about the organisation: shown for every group.
    assert (fen["complaints"], yol["complaints"], park["complaints"], zabita["complaints"]) == (
        6, 1, 5, 2)
    assert fen["on_time"] == approx(figure(metrics.on_time_share(4, 6)))
    assert park["on_time"] == approx(figure(metrics.on_time_share(5, 5)))
    assert zabita["on_time"] is None and yol["on_time"] is None  # nothing resolved with a due
    assert fen["response_rate"] == approx(figure(metrics.response_rate(6, 8)))
    assert (yol["responses"], yol["suppressed"], yol["response_rate"]) == (0, True, None)


def test_no_hidden_figure_can_be_worked_out_from_the_total(app, dataset) -> None:
    """For every figure and grouping: a hidden figure of a group with answers never stands alone
    among the groups, so the whole minus the visible groups is always a sum of two or more."""
    start, end = utc(2024, 12, 31, 21), utc(2025, 2, 28, 21)
    with app.app_context():
        for group_by in ("unit", "category", "channel", "month"):
            groups = grouped_figures(Filters(start, end), group_by, 5, "Europe/Istanbul")
            for name, count in FIGURE_COUNTS.items():
                hidden = [g.key for g in groups
                          if g.figures[name].suppressed and count(g.answers) > 0]
                assert len(hidden) != 1, (group_by, name, hidden)
                shown = [g for g in groups if not g.figures[name].suppressed]
                assert all(count(g.answers) >= 5 for g in shown), (group_by, name)


def test_by_month_in_the_organisations_time_zone(app, dataset) -> None:
    groups = groups_of(admin_api(app).get("/metrics", query_string={**PERIOD,
                                                                     "group_by": "month"}))
    assert list(groups) == ["2025-01", "2025-02"]
    january, february = groups["2025-01"], groups["2025-02"]
    assert (january["responses"], february["responses"]) == (8, 5)
    assert january["csat"] == approx(figure(metrics.csat(4, 8)))
    assert february["csat"] == approx(figure(metrics.csat(3, 5)))
    assert january["nps"] == approx(figure(metrics.nps(4, 3, 8)))
    # February has two effort answers (too few), so January's CES is hidden with it.
    assert january["ces"] is None and february["ces"] is None
    assert not january["suppressed"] and not february["suppressed"]
    assert (january["complaints"], february["complaints"]) == (9, 5)


def test_by_channel_and_category(app, dataset) -> None:
    api = admin_api(app)
    channels = groups_of(api.get("/metrics", query_string={**PERIOD, "group_by": "channel"}))
    assert set(channels) == {"web", "phone"}
    assert (channels["web"]["label"], channels["phone"]["label"]) == ("Web", "Phone")
    assert channels["web"]["csat"] == approx(figure(metrics.csat(4, 8)))
    categories = groups_of(api.get("/metrics", query_string={**PERIOD,
                                                             "group_by": "category"}))
    assert set(categories) == {"cop", "yol"}
    assert categories["cop"]["label"] == "Çöp toplama"
    assert (categories["cop"]["complaints"], categories["yol"]["complaints"]) == (8, 6)


def test_filters(app, dataset) -> None:
    api = admin_api(app)

    def whole(**params: str) -> dict[str, Any]:
        return groups_of(api.get("/metrics", query_string={**PERIOD, **params}))[None]

    fen = whole(unit="fen")  # fen.yol is below fen: its complaint counts
    assert (fen["responses"], fen["complaints"]) == (6, 7)
    assert fen["ces"] == approx(figure(metrics.ces(6, 19, 79)))
    cleaning = whole(category="temizlik")  # cop is below temizlik
    assert (cleaning["responses"], cleaning["complaints"]) == (8, 8)
    phone = whole(channel="phone")
    assert (phone["responses"], phone["complaints"]) == (5, 5)
    assert phone["csat"] == approx(figure(metrics.csat(3, 5)))
    other = whole(questionnaire="nps-relationship")
    assert (other["responses"], other["suppressed"], other["csat"]) == (0, True, None)
    assert other["invitations"] == 0 and other["complaints"] == 14  # complaints ignore it
    january = whole(**{"from": "2025-01-01T00:00:00+03:00", "to": "2025-02-01T00:00:00+03:00"})
    assert (january["responses"], january["complaints"]) == (8, 9)


#: Walk-ins at fen's desk in January: overall ratings (4 of 6 satisfied), and two held ones.
WALK_INS = [5, 5, 5, 4, 2, 1]


def test_by_source_and_mode_and_filtered_by_them(app, dataset) -> None:
    with app.app_context():
        fen = db.session.scalar(select(Unit).where(Unit.code == "fen"))
        version = db.session.scalar(select(QuestionnaireVersion).limit(1))
        for overall in WALK_INS:
            make_walk_in_response(fen, version, utc(2025, 1, 25), overall)
        for _ in range(2):
            make_walk_in_response(fen, version, utc(2025, 1, 26), 1, held=True)
        db.session.commit()
    api = admin_api(app)
    by_mode = groups_of(api.get("/metrics", query_string={**PERIOD, "group_by": "mode"}))
    assert set(by_mode) == {"email", "walk_in"}
    assert by_mode["walk_in"]["label"] == "Walk-in QR code"
    assert by_mode["walk_in"]["responses"] == len(WALK_INS)  # the held ones count nowhere
    assert by_mode["walk_in"]["csat"] == approx(figure(metrics.csat(4, 6)))
    assert by_mode["walk_in"]["invitations"] == 0 and by_mode["email"]["invitations"] > 0
    by_source = groups_of(api.get("/metrics", query_string={**PERIOD, "group_by": "source"}))
    assert {key: group["responses"] for key, group in by_source.items()} == {
        "complainant": 13, "service_user": 6}
    users = groups_of(api.get("/metrics", query_string={**PERIOD, "source": "service_user"}))
    everyone = groups_of(api.get("/metrics", query_string=PERIOD))
    assert users[None]["csat"] == by_mode["walk_in"]["csat"]
    # Complaints have no source: the filter leaves them as they are.
    assert users[None]["complaints"] == everyone[None]["complaints"] == 14
    walk_in = groups_of(api.get("/metrics", query_string={**PERIOD, "mode": "walk_in"}))
    assert walk_in[None]["responses"] == len(WALK_INS)


def test_the_smallest_group_size_is_configurable(make_app) -> None:
    app = make_app(MEMNUN_MIN_GROUP_SIZE=2)
    with app.app_context():
        build(SurveyData())
    response = admin_api(app).get("/metrics", query_string={**PERIOD, "group_by": "unit"})
    assert response.get_json()["min_group_size"] == 2
    groups = groups_of(response)
    assert not groups["zabita"]["suppressed"]
    assert groups["zabita"]["csat"] == approx(figure(metrics.csat(0, 2)))
    assert groups["park"]["ces"] == approx(figure(metrics.ces(2, 6, 20)))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-03-01", "to": "2025-01-01"}, "from"),
        ({"from": "2025-01-01", "to": "2025-01-01"}, "from"),
        ({"from": "2000-01-01", "to": "2025-01-01"}, "from"),
        ({"from": "2025-02-30"}, "from"),
        ({"to": "2025-01-01T10:00:00"}, "to"),
        ({"unit": "yok"}, "unit"),
        ({"category": "yok"}, "category"),
        ({"channel": "pigeon"}, "channel"),
        ({"questionnaire": "yok"}, "questionnaire"),
        ({"group_by": "week"}, "group_by"),
        ({"source": "neighbour"}, "source"),
        ({"mode": "pigeon"}, "mode"),
        ({"group_by": "unit", "sort": "csat"}, "sort"),
    ],
)
def test_bad_parameters_are_422(app, dataset, query, field) -> None:
    assert invalid_fields(admin_api(app).get("/metrics", query_string=query)) == {field}


def test_without_a_period_the_last_30_days(app, dataset) -> None:
    body = admin_api(app).get("/metrics").get_json()
    start = dt.datetime.fromisoformat(body["from"])
    end = dt.datetime.fromisoformat(body["to"])
    assert end - start == dt.timedelta(days=30)
    assert body["groups"][0]["responses"] == 0  # the dataset is in 2025


def test_hidden_groups_rule() -> None:
    # No group too small: nothing hidden.
    assert hidden_groups({"a": 9, "b": 5, "c": 0}, 5) == set()
    # One too small: the smallest other non-empty group goes with it (not the empty one).
    assert hidden_groups({"a": 9, "b": 6, "c": 2, "d": 0}, 5) == {"b", "c"}
    # Two too small: their sum is all the whole gives away.
    assert hidden_groups({"a": 9, "b": 1, "c": 2}, 5) == {"b", "c"}
    # Already hidden for another reason, with answers: counts as hidden.
    assert hidden_groups({"a": 9, "b": 6, "c": 7}, 5, already_hidden={"c"}) == {"b", "c"}
    # Already hidden but empty for this figure: nothing to protect.
    assert hidden_groups({"a": 9, "b": 6, "c": 0}, 5, already_hidden={"c"}) == {"c"}
    # A single non-empty group: it is the whole, and the whole is suppressed on its own.
    assert hidden_groups({"a": 3}, 5) == {"a"}
