"""The rollups (``hourly_figures``, ``hourly_dimension_figures``): their triggers keep them equal
to a rebuild from the rows through every kind of write, and the figures read from them equal
those from the rows, unfiltered and filtered by one dimension (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from app.analytics.aggregates import AnswerTotals, ComplaintTotals, InvitationTotals
from app.analytics.filters import Filters, expand
from app.analytics.hourly import rollup_covers, without_rollup
from app.analytics.overview import overview_and_trend
from app.analytics.periods import Grain, Periods, to_instant
from app.analytics.rollup import compact
from app.analytics.splits import ByDimension, ByPeriod, Dimension
from app.analytics.tallies import all_tallies, answer_tally, complaint_tally, invitation_tally
from app.extensions import db
from app.models import (
    Answer,
    Category,
    Channel,
    Complaint,
    HourlyDimensionFigures,
    HourlyFigures,
    Invitation,
    InvitationState,
    MessageDelivery,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    VersionStatus,
)
from app.schemas.complaints import EventIn
from tests.support.datasets.analytics import Builder, at, build_january
from tests.support.factories import make_complaint
from tests.support.rollups import FIELDS, check, snapshot

TZ = "Europe/Istanbul"


@pytest.fixture
def builder(app: Any) -> Any:
    with app.app_context():
        built = Builder().setup()
        build_january(built)
        yield built


@pytest.fixture
def generated(app: Any) -> Any:
    """The generated dataset: categories in a tree, three channels, two questionnaires, two
    languages."""
    from tests.support.datasets.generated import build

    with app.app_context():
        yield build()


def test_the_triggers_keep_the_rollup_equal_to_a_rebuild(builder: Any) -> None:
    fen, park = builder.units["fen"].id, builder.units["park"].id
    check("after the inserts")
    assert all(snapshot().values()), "the triggers filled both rollups"
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
    other = Category(code="kaldirim", name="Kaldırım", committed_response_days=5)
    db.session.add(other)
    db.session.flush()
    answered.complaint.category_id = other.id
    check("a complaint (with an answered invitation) moved to another category")
    answered.complaint.channel = Channel.PHONE
    check("a complaint (with an answered invitation) moved to another channel")
    answered.language = "en"
    check("an invitation's language changed")
    db.session.execute(update(Answer).where(Answer.question_type == "rating")
                       .values(value_number=Answer.value_number - 1))
    check("answers changed in bulk, bypassing the ORM")
    for moved in db.session.scalars(select(Response).where(Response.unit_id == fen)):
        moved.submitted_at += dt.timedelta(minutes=50)
    check("responses moved in time (their answers go with them)")
    moved = db.session.scalar(select(Response).where(Response.unit_id == fen).limit(1))
    for column, value in (("category_id", other.id), ("channel", Channel.EMAIL),
                          ("language", "en"), ("questionnaire_id", _other_questionnaire())):
        setattr(moved, column, value)
        check(f"a response's {column} changed")
    planned = db.session.scalar(select(Invitation).where(Invitation.sent_at.is_(None)))
    planned.sent_at = at(2025, 1, 21, 7, 30)
    check("an invitation sent")
    planned.state, planned.delivery = InvitationState.BOUNCED, MessageDelivery.FAILED
    check("an invitation bounced (no longer delivered)")
    assert any(row[FIELDS.index("undelivered")] for row in snapshot()["hourly_figures"].values())
    planned.state = InvitationState.EXPIRED
    check("a bounced invitation's state moved on (its delivery still failed)")
    planned.delivery = None
    check("its delivery report cleared")
    answered.delivery = MessageDelivery.FAILED
    check("a failure reported for an answered invitation (the answer shows it arrived)")
    # Each column that moves a contribution, alone (an update of the others adds nothing).
    complaint.received_at -= dt.timedelta(days=3)
    check("a complaint's receipt moved")
    complaint.due_at = at(2025, 1, 13)
    check("a complaint's due time moved (now late)")
    unanswered = db.session.scalar(select(Invitation).where(
        Invitation.sent_at.is_not(None), ~Invitation.id.in_(select(Response.invitation_id))))
    moved = db.session.scalar(select(Response).where(Response.unit_id == fen).limit(1))
    moved.invitation_id = unanswered.id
    check("a response moved to another invitation")
    unanswered = db.session.scalar(select(Invitation).where(
        Invitation.sent_at.is_not(None), ~Invitation.id.in_(select(Response.invitation_id))))
    unanswered.complaint_id = db.session.scalar(select(Complaint.id).where(
        Complaint.unit_id == builder.units["zabita"].id).limit(1))
    check("an invitation moved to another unit's complaint")
    answered.version = QuestionnaireVersion(
        questionnaire=Questionnaire(key="second", title="Second"), number=1,
        status=VersionStatus.PUBLISHED, definition={"key": "second", "questions": []})
    check("an invitation moved to another questionnaire's version")
    response = db.session.scalar(select(Response).limit(1))
    db.session.execute(delete(Answer).where(Answer.response_id == response.id))
    check("a response's answers deleted")
    db.session.delete(response)
    check("a response deleted")
    builder.response("zabita", at(2025, 1, 30, 16, 5), 5, 10, 1, True)
    check("a new response with its answers")
    db.session.execute(insert(Complaint), [  # one multi-row INSERT (statement-level trigger)
        {"source": "default", "external_id": f"M-{n}", "received_at": at(2025, 1, 8 + n),
         "channel": Channel.WEB if n % 2 else Channel.SOCIAL, "category_id": other.id,
         "unit_id": park, "status": "resolved", "due_at": at(2025, 1, 20),
         "resolved_at": at(2025, 1, 12 + n), "reopen_count": 0}
        for n in range(6)])
    check("complaints inserted in one statement")


def _other_questionnaire() -> int:
    other = Questionnaire(key="other", title="Other")
    db.session.add(other)
    db.session.flush()
    return other.id


def test_reopen_and_erasure_keep_the_rollup_equal_to_a_rebuild(builder: Any) -> None:
    from app.intake.services import record_event
    from app.privacy.services import erase_person

    complaint = make_complaint(email="erase@example.org", category=builder.category,
                               unit=builder.units["park"], received_at=at(2025, 1, 5),
                               resolved_at=at(2025, 1, 9), due_at=at(2025, 1, 10))
    builder.invitation("park", at(2025, 1, 10), complaint)
    db.session.flush()
    response = builder.response("park", at(2025, 1, 11), 4, 9, received=at(2025, 1, 4))
    db.session.get(Complaint, response.complaint_id).complainant = complaint.complainant
    response.answers.append(Answer(question_key="why", question_type="text",
                                   value_text="Ayşe Yılmaz, erase@example.org"))
    check("a resolved complaint with an invitation, and a response with a comment")
    record_event(complaint, EventIn(type="reopened", at="2025-01-12T12:00:00+00:00"), "test")
    assert complaint.resolved_at is None
    check("the complaint reopened: its resolution no longer counts")
    before = snapshot()
    assert erase_person("erase@example.org").answers == 1
    check("the person erased")
    assert snapshot() == before, "erasure keeps every score and choice"


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
    return Periods.covering(filters.start, filters.end, grain, TZ)


def _counted(tallies: Any) -> list[dict[Any, Any]]:
    """The groups that count something (an ungrouped count over no rows is a zero, which the
    rollup leaves out, as ``Tally.now`` reads either); responses over the rows are counted for
    the period only (``all_tallies``)."""
    sides = [tallies.answers.current, tallies.answers.previous, tallies.complaints.current,
             tallies.complaints.previous, tallies.invitations.current,
             tallies.invitations.previous, tallies.responses.current]
    return [{key: value for key, value in side.items() if value != type(value)()}
            for side in sides]


def _single_filters(data: Any) -> list[Filters]:
    """One filter of each dimension (a category with those below it), alone and with a unit,
    over whole local days of the generated dataset, compared with the same days before."""
    whole = Filters(to_instant(dt.date(2024, 12, 1), TZ), to_instant(dt.date(2025, 3, 1), TZ))
    c1 = expand(Category, [data.category_ids["c1"]])
    chosen = [whole.but(category_ids=c1), whole.but(category_ids=frozenset()),
              whole.but(channel=Channel.PHONE), whole.but(channel="email"),
              whole.but(questionnaire_id=data.questionnaire_ids["q"]),
              whole.but(questionnaire_id=data.questionnaire_ids["ipa"]),
              whole.but(language="en"), whole.but(language="tr")]
    a = frozenset({data.unit_ids[code] for code in ("a", "a1", "a2")})
    return chosen + [filters.but(unit_ids=a) for filters in chosen]


@pytest.mark.parametrize("grain", [Grain.DAY, Grain.MONTH])
def test_single_filter_views_from_the_rollup_equal_those_from_the_rows(generated: Any,
                                                                       grain: Grain) -> None:
    by_unit = ByDimension(Dimension.UNIT)
    for filters in _single_filters(generated):
        periods = ByPeriod(_periods(filters, grain))
        assert rollup_covers(filters, periods, True), filters
        from_rollup = overview_and_trend(filters, grain, 2, TZ)
        with without_rollup():
            from_rows = overview_and_trend(filters, grain, 2, TZ)
        assert from_rollup == from_rows, filters
        for split in (None, by_unit, periods):
            found = all_tallies(filters, split, previous=True)
            with without_rollup():
                expected = all_tallies(filters, split, previous=True)
            assert _counted(found) == _counted(expected), (filters, split)
    assert from_rollup[0].responses, "the filters keep responses"


def test_a_filtered_view_reads_the_rollups_not_the_rows(generated: Any) -> None:
    """The statements of a category's overview name only the rollups (and the reference
    tables), never the rows; a language filter takes the complaints from ``hourly_figures``."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    filters = Filters(to_instant(dt.date(2024, 12, 1), TZ), to_instant(dt.date(2025, 3, 1), TZ))
    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for chosen in (filters.but(category_ids=frozenset({generated.category_ids["c2"]})),
                       filters.but(language="en")):
            seen.clear()
            all_tallies(chosen, ByPeriod(_periods(chosen, Grain.MONTH)), previous=True)
            text = " ".join(seen)
            assert "hourly_dimension_figures" in text
            for source in ("FROM answer", "FROM response", "FROM complaint", "FROM invitation"):
                assert source not in text
        assert "hourly_figures " in text  # the complaints of a language view
    finally:
        event.remove(engine, "before_cursor_execute", record)


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


def test_boundaries_off_the_hour_or_two_filters_count_from_the_rows(builder: Any) -> None:
    filters = Filters(at(2025, 1, 2, 0, 30), at(2025, 1, 20, 12, 0))
    assert not rollup_covers(filters, None, False)
    hours = Filters(at(2025, 1, 2), at(2025, 1, 20))
    assert rollup_covers(hours.but(channel="web"), None, False)
    assert not rollup_covers(hours.but(channel="web", language="tr"), None, False)
    by_category = ByDimension(Dimension.CATEGORY)
    assert not rollup_covers(hours, by_category, False)
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
    for model in (HourlyFigures, HourlyDimensionFigures):
        assert first.scalar(select(func.count()).select_from(model).where(model.slot != 0)) == 0
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
    for model in (HourlyFigures, HourlyDimensionFigures):
        db.session.execute(delete(model))  # as after a bulk load that bypassed the triggers
    db.session.commit()
    assert not any(snapshot().values())
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
