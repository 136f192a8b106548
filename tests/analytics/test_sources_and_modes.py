"""Figures split and filtered by source (whom a response speaks for) and mode (how it was
given), held responses left out until accepted, and records that are not complaints: hand
counts and statsmodels, the rollups against the rows and against a rebuild (SQLite and
PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select
from statsmodels.stats.proportion import proportion_confint

from app.analytics.breakdown import grouped_figures
from app.analytics.filters import Filters
from app.analytics.hourly import rollup_covers, without_rollup
from app.analytics.splits import ByDimension, Dimension
from app.analytics.suppression import FIGURE_COUNTS
from app.analytics.tallies import all_tallies, answer_tally, complaint_tally, invitation_tally
from app.extensions import db
from app.models import Answer, ComplaintKind, Response, ServiceEvent
from tests.support.datasets.analytics import at
from tests.support.datasets.sources import (
    CAMPAIGN,
    EMAIL,
    HELD,
    JANUARY,
    PHONE,
    build_mixed,
)
from tests.support.rollups import check


@pytest.fixture
def mixed(app: Any) -> Any:
    with app.app_context():
        yield build_mixed()


def _fen(builder: Any, **filters: Any) -> Filters:
    return Filters(*JANUARY, unit_ids=frozenset({builder.units["fen"].id}), **filters)


def _csat(totals: Any) -> tuple[int, int]:
    return totals.csat_satisfied, totals.csat_n


def _both(count: Any) -> Any:
    """``count()`` from the rollup (where it covers the question) and from the rows: equal."""
    read = count()
    with without_rollup():
        assert count() == read
    return read


def test_figures_by_source_and_mode_are_the_hand_counts(mixed: Any) -> None:
    users = _fen(mixed, source="service_user")
    assert rollup_covers(users, None, False), "one filter besides the unit: from the rollup"
    assert _csat(_both(lambda: answer_tally(users).now())) == (4 + 5 + 1, 6 + 5 + 2)
    by_mode = _both(lambda: answer_tally(users, ByDimension(Dimension.MODE)))
    assert {mode: _csat(totals) for mode, totals in by_mode.current.items()} == {
        "email": (4, 6), "phone": (5, 5), "walk_in": (1, 2)}
    campaign = _both(lambda: answer_tally(_fen(mixed, source="campaign")).now())
    assert _csat(campaign) == (1, 2)
    phone = _both(lambda: all_tallies(_fen(mixed, mode="phone")).answers.now())
    assert _csat(phone) == (5, 5)
    assert _both(lambda: all_tallies(_fen(mixed, mode="phone")).responses.now()).responses == 5
    # The complainants' own figures are those build_january counted by hand.
    by_source = _both(lambda: answer_tally(_fen(mixed), ByDimension(Dimension.SOURCE)))
    assert _csat(by_source.now("complainant")) == (4, 6)
    assert _csat(by_source.now("service_user")) == (10, 13)
    # CSAT's interval is Wilson's, as statsmodels computes it.
    group = {g.key: g for g in grouped_figures(_fen(mixed), "source", 5)}["service_user"]
    low, high = proportion_confint(10, 13, method="wilson")
    assert (group.figures["csat"].low, group.figures["csat"].high) == pytest.approx((low, high))


def test_held_responses_count_nowhere_until_accepted(mixed: Any) -> None:
    walk_in = _fen(mixed, mode="walk_in")
    check("held responses in the rows")
    assert _csat(_both(lambda: answer_tally(walk_in).now())) == (1, 2)
    assert _both(lambda: all_tallies(walk_in).responses.now()).responses == 2
    held = db.session.scalars(select(Response).where(Response.held)).all()
    assert len(held) == len(HELD)
    for response in held:
        response.held = False  # a person accepted them
    check("held responses accepted")
    assert _csat(_both(lambda: answer_tally(walk_in).now())) == (1, 2 + len(HELD))
    assert _both(lambda: all_tallies(walk_in).responses.now()).responses == 5
    held[0].held = True
    check("one held again")
    assert _csat(_both(lambda: answer_tally(walk_in).now())) == (1, 4)


def test_the_triggers_follow_sources_modes_kinds_and_service_events(mixed: Any) -> None:
    check("after the inserts")
    response = db.session.scalar(select(Response).where(Response.mode == "phone").limit(1))
    response.mode = "sms"
    check("a response's mode changed")
    response.source = "campaign"
    check("a response's source changed")
    event = db.session.get(ServiceEvent, response.service_event_id)
    event.unit_id = mixed.units["park"].id
    check("a service event moved to another unit (its invitations go along)")
    event.channel = "phone"
    check("a service event's channel changed")
    complaint = mixed.complaint("fen", at(2025, 1, 9), resolved=at(2025, 1, 10),
                                due=at(2025, 1, 11))
    check("a complaint received")
    complaint.kind = ComplaintKind.COMPLIMENT
    check("a complaint turned out to be a compliment")
    db.session.execute(delete(Answer).where(Answer.response_id == response.id))
    db.session.execute(delete(Response).where(Response.id == response.id))
    check("a response deleted with its answers")


def test_only_complaints_count_as_complaints_and_compliments_apart(mixed: Any) -> None:
    fen = _fen(mixed)
    before = _both(lambda: complaint_tally(fen).now())
    for kind in (ComplaintKind.COMPLIMENT, ComplaintKind.COMPLIMENT, ComplaintKind.REQUEST,
                 ComplaintKind.SUGGESTION):
        record = mixed.complaint("fen", at(2025, 1, 9), resolved=at(2025, 1, 10),
                                 due=at(2025, 1, 11))
        record.kind = kind
    db.session.commit()
    check("records of other kinds")
    after = _both(lambda: complaint_tally(fen).now())
    assert (after.received, after.resolved_with_due, after.resolved_on_time) == (
        before.received, before.resolved_with_due, before.resolved_on_time)
    assert (before.compliments, after.compliments) == (0, 2)
    groups = {g.key: g for g in grouped_figures(fen, "unit", 5)}
    assert groups[mixed.units["fen"].id].compliments == 2


def test_service_events_invitations_count_under_their_unit_source_and_mode(mixed: Any) -> None:
    fen = _fen(mixed)
    sent = len(EMAIL) + len(PHONE) + len(CAMPAIGN)
    complainants = _both(lambda: invitation_tally(_fen(mixed, source="complainant")).now())
    assert _both(lambda: invitation_tally(fen).now()).sent == complainants.sent + sent
    users = _both(lambda: invitation_tally(_fen(mixed, source="service_user")).now())
    assert (users.sent, users.responded) == (len(EMAIL) + len(PHONE),) * 2
    phone = _both(lambda: invitation_tally(_fen(mixed, mode="phone")).now())
    assert (phone.sent, phone.responded) == (len(PHONE), len(PHONE))
    by_source = invitation_tally(fen, ByDimension(Dimension.SOURCE))
    assert by_source.now("campaign").sent == len(CAMPAIGN)


@pytest.mark.parametrize("group_by", ["source", "mode"])
def test_small_groups_are_hidden_in_every_split(mixed: Any, group_by: str) -> None:
    """Walk-ins (2 answers) and the campaign (2) are too few: hidden; what the whole minus the
    visible groups gives (the hidden groups' sum) comes from none or at least 5 answers."""
    groups = grouped_figures(_fen(mixed), group_by, 5)
    small = "walk_in" if group_by == "mode" else "campaign"
    assert {g.key: g.suppressed for g in groups}[small]
    assert {g.key: g.figures["csat"].value for g in groups}[small] is None
    for name, count in FIGURE_COUNTS.items():
        hidden = sum(count(g.answers) for g in groups if g.figures[name].suppressed)
        assert hidden == 0 or hidden >= 5, (group_by, name, hidden)
        shown = [g for g in groups if not g.figures[name].suppressed]
        assert all(count(g.answers) >= 5 for g in shown), (group_by, name)
