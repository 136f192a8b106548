"""Figures per group (unit tree rolled up, category, channel, language, questionnaire, period)
against direct computations on the same random dataset, with suppression and changes; on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from statsmodels.stats.proportion import proportions_ztest

from app.analytics import metrics
from app.analytics.breakdown import breakdown
from app.analytics.filters import Filters
from app.analytics.overview import overview_and_trend, overview_of
from app.analytics.periods import Grain, Periods, period_start
from app.analytics.splits import Dimension
from app.analytics.suppression import hidden_groups
from app.analytics.tree import level, unit_tree
from tests.support.datasets.generated import (
    END,
    START,
    between,
    csat_counts,
    nps_counts,
    on_time_counts,
    resolution_counts,
    sent_counts,
)

WHOLE = Filters(START, END)


def _responses(data, start=START, end=END, **where):  # type: ignore[no-untyped-def]
    chosen = [r for r in data.responses if between(r.submitted_at, start, end)]
    for name, allowed in where.items():
        chosen = [r for r in chosen if getattr(r, name) in allowed]
    return chosen


def test_units_roll_up_their_tree(app, data) -> None:
    with app.app_context():
        units = unit_tree()
        top = level(units, None)
        groups = {g.key: g for g in breakdown(WHOLE, Dimension.UNIT, 1, level=top)}
        under_a = level(units, data.unit_ids["a"])
        a_groups = {g.key: g for g in breakdown(WHOLE, Dimension.UNIT, 1, level=under_a)}
    ids = data.unit_ids
    # Two roots: org (with everything under it) and solo; neither is opened.
    assert set(top.nodes) == {ids["org"], ids["solo"]} and top.parent is None
    for code, members in (("org", {"a", "a1", "a2", "b", "b1"}), ("solo", {"solo"})):
        group = groups[ids[code]]
        chosen = _responses(data, unit=members)
        assert group.responses == len(chosen)
        assert (group.answers.csat_satisfied, group.answers.csat_n) == csat_counts(chosen)
        assert group.complaints.received == sum(
            between(c.received_at, START, END) and c.unit in members for c in data.complaints)
        assert (group.complaints.resolved_on_time, group.complaints.resolved_with_due) == \
            on_time_counts([c for c in data.complaints if c.unit in members], START, END)
        assert (group.invitations.responded, group.invitations.sent) == sent_counts(
            [i for i in data.invitations if i.complaint.unit in members], START, END)
    # Under "a": its children, and its own rows as a group of their own, marked "own".
    assert under_a.parent == ids["a"] and set(under_a.nodes) == {ids["a1"], ids["a2"]}
    assert set(a_groups) == {ids["a"], ids["a1"], ids["a2"]}
    assert a_groups[ids["a"]].own and not a_groups[ids["a1"]].own
    for code in ("a", "a1", "a2"):
        assert (a_groups[ids[code]].answers.csat_satisfied, a_groups[ids[code]].answers.csat_n) \
            == csat_counts(_responses(data, unit={code}))
    # The groups add up to the parent's total.
    assert sum(g.responses for g in a_groups.values()) == len(
        _responses(data, unit={"a", "a1", "a2"}))


def test_a_lone_top_unit_is_opened(app, data) -> None:
    with app.app_context():
        units = unit_tree()
        # A unit manager of "org" only: one top unit with children, so its children are shown.
        scoped = level(units, None, scope=units.below([data.unit_ids["org"]]))
    assert scoped.parent == data.unit_ids["org"]
    assert set(scoped.nodes) == {data.unit_ids["a"], data.unit_ids["b"]}
    assert data.unit_ids["solo"] not in scoped.mapping


@pytest.mark.parametrize("dimension", ["category", "channel", "language", "questionnaire"])
def test_other_dimensions(app, data, dimension: str) -> None:
    with app.app_context():
        groups = {g.key: g for g in breakdown(WHOLE, dimension, 1)}
    ids = {"category": data.category_ids, "questionnaire": data.questionnaire_ids}.get(
        dimension)
    expected_keys = {r.category if dimension == "category" else getattr(r, dimension)
                     for r in _responses(data)}
    by_key = {(ids[k] if ids else k): k for k in expected_keys}
    for key, raw_key in by_key.items():
        chosen = _responses(data, **{dimension: {raw_key}})
        assert groups[key].responses == len(chosen), (dimension, raw_key)
        assert (groups[key].answers.nps_promoters, groups[key].answers.nps_detractors,
                groups[key].answers.nps_n) == nps_counts(chosen)
    if dimension in ("questionnaire", "language"):
        # Complaints have neither: no complaint figures for such groups.
        assert all(g.complaints.received == 0 for g in groups.values())
    if dimension == "language":  # invitations do have a language
        for key in by_key:
            assert (groups[key].invitations.responded, groups[key].invitations.sent) == \
                sent_counts([i for i in data.invitations if i.language == key], START, END)


def test_periods_follow_the_local_calendar(app, data) -> None:
    for tz in ("Europe/Istanbul", "Europe/Amsterdam"):
        zone = ZoneInfo(tz)
        for grain in Grain:
            with app.app_context():
                groups = breakdown(WHOLE, grain, 1, tz=tz)
            periods = Periods.covering(START, END, grain, tz)
            assert [g.key for g in groups] == list(periods.starts)
            expected: dict[dt.date, list] = {}
            for response in _responses(data):
                first = period_start(response.submitted_at.astimezone(zone).date(), grain)
                expected.setdefault(first, []).append(response)
            for group in groups:
                chosen = expected.get(group.key, [])
                assert group.responses == len(chosen), (tz, grain, group.key)
                assert (group.answers.csat_satisfied, group.answers.csat_n) == \
                    csat_counts(chosen)


def test_weeks_begin_on_monday_and_quarters_in_january() -> None:
    assert period_start(dt.date(2025, 1, 1), Grain.WEEK) == dt.date(2024, 12, 30)
    assert period_start(dt.date(2025, 5, 17), Grain.QUARTER) == dt.date(2025, 4, 1)
    periods = Periods.covering(dt.datetime(2025, 3, 29, tzinfo=dt.UTC),
                               dt.datetime(2025, 4, 2, tzinfo=dt.UTC), Grain.DAY,
                               "Europe/Amsterdam")
    # Summer time begins on 30 March: that day starts at 23:00 UTC, the next at 22:00.
    assert periods.boundaries()[0:2] == [dt.datetime(2025, 3, 29, 23, tzinfo=dt.UTC),
                                         dt.datetime(2025, 3, 30, 22, tzinfo=dt.UTC)]
    with pytest.raises(ValueError, match="periods"):
        Periods.covering(dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
                         dt.datetime(2010, 1, 1, tzinfo=dt.UTC), Grain.DAY, "UTC")


def test_a_lone_small_group_takes_the_next_smallest_with_it(app, data) -> None:
    with app.app_context():
        counts = {g.key: g.responses for g in breakdown(WHOLE, Dimension.CHANNEL, 1)}
        ordered = sorted(counts, key=lambda k: counts[k])
        smallest, second = ordered[0], ordered[1]
        assert counts[smallest] < counts[second], "the dataset must have a smallest channel"
        k = counts[smallest] + 1  # only the smallest is below k
        groups = {g.key: g for g in breakdown(WHOLE, Dimension.CHANNEL, k)}
        total = overview_of(WHOLE, k)
    assert groups[smallest].suppressed and not groups[smallest].figures["csat"].shown
    # The whole is shown, so the second smallest is hidden too: the whole minus the one
    # visible group gives only the sum of two.
    assert total.csat.shown
    assert not groups[second].figures["csat"].shown
    visible = [key for key, g in groups.items() if g.figures["csat"].shown]
    assert visible == [ordered[2]]
    # Complaint figures describe the organisation: never hidden.
    assert all(g.figures["on_time"].value is not None for g in groups.values())


def test_hidden_groups_rule() -> None:
    assert hidden_groups({"a": 3, "b": 10, "c": 20}, 5) == {"a", "b"}
    assert hidden_groups({"a": 3, "b": 4, "c": 20}, 5) == {"a", "b"}  # two hidden: enough
    assert hidden_groups({"a": 0, "b": 10, "c": 20}, 5) == set()  # empty groups tell nothing
    assert hidden_groups({"a": 3}, 5) == {"a"}


def test_changes_against_the_previous_period(app, data) -> None:
    with app.app_context():
        groups = {g.key: g for g in breakdown(WHOLE, Dimension.UNIT, 5,
                                              level=level(unit_tree(), None))}
    before = START - (END - START)
    group = groups[data.unit_ids["org"]]
    members = {"a", "a1", "a2", "b", "b1"}
    now = csat_counts(_responses(data, unit=members))
    then = csat_counts(_responses(data, before, START, unit=members))
    assert (group.previous_answers.csat_satisfied, group.previous_answers.csat_n) == then
    change = group.changes["csat"]
    assert change is not None
    z, p_value = proportions_ztest([now[0], then[0]], [now[1], then[1]])
    assert (change.z, change.p_value) == pytest.approx((z, p_value))
    received_now = sum(between(c.received_at, START, END) and c.unit in members
                       for c in data.complaints)
    received_then = sum(between(c.received_at, before, START) and c.unit in members
                        for c in data.complaints)
    assert group.complaints_change == metrics.poisson_rate_test(received_now, 1, received_then, 1)


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        ({"channel": "phone"}, {"channel": {"phone"}}),
        ({"language": "en"}, {"language": {"en"}}),
        ({"category": "c1"}, {"category": {"c1a", "c1b"}}),
        ({"questionnaire": "ipa"}, {"questionnaire": {"ipa"}}),
    ],
)
def test_filtered_overview_and_trend(app, data, filters, where) -> None:
    with app.app_context():
        chosen = Filters(
            START, END, channel=filters.get("channel"), language=filters.get("language"),
            category_ids=({data.category_ids[c] for c in where["category"]}
                          if "category" in filters else None),
            questionnaire_id=data.questionnaire_ids.get(filters.get("questionnaire", "")),
        )
        figures, trend = overview_and_trend(chosen, Grain.MONTH, 1, "UTC")
        alone = overview_of(chosen, 1)
    responses = _responses(data, **where)
    satisfied, n = csat_counts(responses)
    assert figures.responses == len(responses) == sum(p.responses for p in trend)
    assert (figures.csat.n, figures.csat.value) == (n, pytest.approx(satisfied / n))
    assert figures == alone  # the trend's periods add up to the overview
    yes, asked = resolution_counts(responses)
    if asked:
        assert figures.resolution_confirmed.value == pytest.approx(yes / asked)
    else:  # the importance-performance questionnaire does not ask it
        assert figures.resolution_confirmed.suppressed
    # Complaints are filtered by channel and category, never by questionnaire or language.
    complaints = [c for c in data.complaints
                  if (c.channel in where["channel"] if "channel" in where else True)
                  and (c.category in where["category"] if "category" in where else True)]
    assert figures.complaints == sum(between(c.received_at, START, END) for c in complaints)
