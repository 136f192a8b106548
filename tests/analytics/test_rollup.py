"""The hourly rollup (``hourly_figures``): its triggers keep it equal to a rebuild from the rows
through every kind of write, and the figures read from it equal those from the rows (SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from app.analytics.aggregates import AnswerTotals, ComplaintTotals, InvitationTotals
from app.analytics.filters import Filters
from app.analytics.hourly import rollup_covers, without_rollup
from app.analytics.overview import overview_and_trend
from app.analytics.periods import Grain, Periods, to_instant
from app.analytics.rollup import compact, rebuild
from app.analytics.splits import ByDimension, ByPeriod, Dimension
from app.analytics.tallies import answer_tally, complaint_tally, invitation_tally
from app.extensions import db
from app.models import Answer, Complaint, HourlyFigures, Invitation, Response
from tests.support.datasets.analytics import Builder, at, build_january

TZ = "Europe/Istanbul"
FIELDS = [column.name for column in HourlyFigures.__table__.columns
          if column.name not in ("hour", "unit_id", "slot")]


def snapshot() -> dict[tuple[dt.datetime, int], tuple[float, ...]]:
    """The rollup's figures per hour and unit (every writer's slot added up), without the ones
    that add up to nothing (left behind by moves)."""
    table = HourlyFigures.__table__
    rows = db.session.execute(
        select(table.c.hour, table.c.unit_id, *[func.sum(table.c[f]).label(f) for f in FIELDS])
        .group_by(table.c.hour, table.c.unit_id)).mappings()
    return {(row["hour"], row["unit_id"]): tuple(round(float(row[f]), 9) for f in FIELDS)
            for row in rows if any(row[f] for f in FIELDS)}


def rebuilt() -> dict[tuple[dt.datetime, int], tuple[float, ...]]:
    """What a rebuild from the rows gives, leaving the table as it was."""
    connection = db.session.connection()
    nested = connection.begin_nested()
    rebuild(connection)
    result = snapshot()
    nested.rollback()
    return result


@pytest.fixture
def builder(app: Any) -> Any:
    with app.app_context():
        built = Builder().setup()
        build_january(built)
        yield built


def check(step: str) -> None:
    db.session.commit()
    assert snapshot() == rebuilt(), step


def test_the_triggers_keep_the_rollup_equal_to_a_rebuild(builder: Any) -> None:
    fen, park = builder.units["fen"].id, builder.units["park"].id
    check("after the inserts")
    assert snapshot(), "the triggers filled the rollup"
    complaint = db.session.scalar(select(Complaint).where(Complaint.unit_id == fen,
                                                          Complaint.resolved_at.is_(None)))
    if complaint is None:
        complaint = builder.complaint("fen", at(2025, 1, 11))
        check("a new complaint")
    complaint.resolved_at, complaint.due_at = at(2025, 1, 14, 9), at(2025, 1, 15)
    check("a complaint resolved")
    answered = db.session.scalar(select(Invitation).join(
        Response, Response.invitation_id == Invitation.id).limit(1))
    answered.complaint.unit_id = park
    check("a complaint (with an answered invitation) moved to another unit")
    db.session.execute(update(Answer).where(Answer.question_type == "rating")
                       .values(value_number=Answer.value_number - 1))
    check("answers changed in bulk, bypassing the ORM")
    for moved in db.session.scalars(select(Response).where(Response.unit_id == fen)):
        moved.submitted_at += dt.timedelta(minutes=50)
    check("responses moved in time (their answers go with them)")
    planned = db.session.scalar(select(Invitation).where(Invitation.sent_at.is_(None)))
    planned.sent_at = at(2025, 1, 21, 7, 30)
    check("an invitation sent")
    response = db.session.scalar(select(Response).limit(1))
    db.session.execute(delete(Answer).where(Answer.response_id == response.id))
    check("a response's answers deleted")
    db.session.delete(response)
    check("a response deleted")
    builder.response("zabita", at(2025, 1, 30, 16, 5), 5, 10, 1, True)
    check("a new response with its answers")


@pytest.mark.parametrize("grain", [Grain.DAY, Grain.WEEK, Grain.MONTH, Grain.QUARTER])
def test_figures_from_the_rollup_equal_those_from_the_rows(builder: Any, grain: Grain) -> None:
    filters = Filters(to_instant(dt.date(2025, 1, 1), TZ), to_instant(dt.date(2025, 2, 3), TZ))
    city = frozenset({builder.units[code].id for code in ("city", "fen", "park")})
    for chosen in (filters, filters.but(unit_ids=city), filters.but(unit_ids=frozenset())):
        assert rollup_covers(chosen, ByPeriod(_periods(chosen, grain)), True)
        from_rollup = overview_and_trend(chosen, grain, 2, TZ)
        with without_rollup():
            from_rows = overview_and_trend(chosen, grain, 2, TZ)
        assert from_rollup == from_rows
    by_unit = ByDimension(Dimension.UNIT)
    for tally in (answer_tally, complaint_tally, invitation_tally):
        from_rollup = tally(filters, by_unit, previous=True)
        with without_rollup():
            from_rows = tally(filters, by_unit, previous=True)
        assert (from_rollup.current, from_rollup.previous) == (
            from_rows.current, from_rows.previous)
    assert from_rollup.kind is InvitationTotals


def _periods(filters: Filters, grain: Grain) -> Any:
    from app.analytics.periods import Periods

    return Periods.covering(filters.start, filters.end, grain, TZ)


def test_a_new_response_shows_on_the_next_refresh(builder: Any) -> None:
    filters = Filters(at(2025, 1, 1, 0), at(2025, 2, 1, 0))
    before, _ = overview_and_trend(filters, Grain.MONTH, 1)
    builder.response("zabita", at(2025, 1, 29, 10, 17), 5, nps=10)
    db.session.commit()
    after, _ = overview_and_trend(filters, Grain.MONTH, 1)
    assert after.responses == before.responses + 1
    assert after.csat.n == before.csat.n + 1
    assert after.nps.n == before.nps.n + 1
    assert after.invitations_sent == before.invitations_sent + 1


def test_boundaries_off_the_hour_or_other_filters_count_from_the_rows(builder: Any) -> None:
    filters = Filters(at(2025, 1, 2, 0, 30), at(2025, 1, 20, 12, 0))
    assert not rollup_covers(filters, None, False)
    assert not rollup_covers(Filters(at(2025, 1, 2), at(2025, 1, 20)).but(channel="web"), None,
                             False)
    by_category = ByDimension(Dimension.CATEGORY)
    assert not rollup_covers(Filters(at(2025, 1, 2), at(2025, 1, 20)), by_category, False)
    # Off the hour, counted from the rows: received 2 January (two), 4 and 6 January; resolved
    # 9 and 7 January, on time (the one resolved at noon on 20 January is at the end: out).
    assert complaint_tally(filters).now() == ComplaintTotals(
        received=4, resolved_with_due=2, resolved_on_time=2)
    assert answer_tally(filters).now() == answer_tally(filters.but(
        start=at(2025, 1, 2, 0), end=at(2025, 1, 20, 13))).now() != AnswerTotals()


def test_concurrent_writers_never_wait_for_each_other_and_compaction_folds_their_rows(
        builder: Any, backend: str) -> None:
    """Two transactions open at once add to the same hour and unit: on PostgreSQL each writes
    its own slot, so the second does not wait for the first (a lock wait would hang this test
    until the lock timeout); compaction then folds the slots without changing a figure."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    filters = Filters(at(2025, 1, 1, 0), at(2025, 2, 1, 0))
    before, _ = overview_and_trend(filters, Grain.MONTH, 1)
    first = db.session
    builder.response("zabita", at(2025, 1, 29, 10, 5), 5)
    first.flush()  # holds its rollup rows, uncommitted
    other = db.engine.connect()
    other.exec_driver_sql("SET lock_timeout = '2s'")
    complaint = first.scalar(select(Complaint).where(  # one received in December
        Complaint.unit_id == builder.units["zabita"].id,
        Complaint.received_at == at(2024, 12, 10)).limit(1))
    other.execute(update(Complaint).where(Complaint.id == complaint.id).values(
        received_at=at(2025, 1, 29, 10, 40)))  # the same hour and unit: no wait
    other.commit()
    other.close()
    first.commit()
    slots = first.scalar(select(func.count()).select_from(HourlyFigures).where(
        HourlyFigures.hour == at(2025, 1, 29, 10), HourlyFigures.slot != 0))
    assert slots >= 2
    after, _ = overview_and_trend(filters, Grain.MONTH, 1)
    assert (after.responses, after.complaints) == (before.responses + 1, before.complaints + 2)
    folded = compact(first.connection())
    first.commit()
    assert folded >= slots
    assert first.scalar(select(func.count()).select_from(HourlyFigures).where(
        HourlyFigures.slot != 0)) == 0
    assert overview_and_trend(filters, Grain.MONTH, 1) == (after, _)
    check("after compaction")


def test_the_review_packs_unit_months_from_the_rollup_equal_those_from_the_rows(
        builder: Any) -> None:
    from app.analytics.review import unit_month_totals

    start, end = to_instant(dt.date(2024, 12, 1), TZ), to_instant(dt.date(2025, 3, 1), TZ)
    months = Periods.covering(start, end, Grain.MONTH, TZ)
    fen = [builder.units["fen"].id]
    for units in (None, fen):
        from_rollup = unit_month_totals(start, end, months, units)
        with without_rollup():
            from_rows = unit_month_totals(start, end, months, units)
        assert from_rollup == from_rows
        assert from_rollup


def test_the_cli_rebuilds_and_compacts_and_the_scheduler_compacts(app: Any, builder: Any
                                                                  ) -> None:
    from app.scheduler import ROLLUP_COMPACTION, add_jobs, run_job

    db.session.commit()
    before = snapshot()
    db.session.execute(delete(HourlyFigures))  # as after a bulk load that bypassed the triggers
    db.session.commit()
    assert snapshot() == {}
    db.session.remove()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rollup", "rebuild"])
    assert result.exit_code == 0, result.output
    assert snapshot() == before
    result = runner.invoke(args=["rollup", "compact"])
    assert result.exit_code == 0 and "Folded" in result.output, result.output
    assert run_job(ROLLUP_COMPACTION, None, app) == 0  # nothing left to fold
    assert snapshot() == before

    import threading

    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    add_jobs(scheduler, app, threading.Event())
    job = scheduler.get_job(ROLLUP_COMPACTION.id)
    assert job is not None and job.trigger.interval == dt.timedelta(minutes=5)
