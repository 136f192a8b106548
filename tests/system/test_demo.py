"""The demo municipality (``memnun demo``): deterministic, the promised volumes, a story in the
figures, safe e-mail addresses, and nothing for the dispatcher to send but the few planned ones."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import case, func, select

from app.analytics.filters import Filters
from app.analytics.sources import service_users_and_complainants
from app.demo import DemoError, load_demo
from app.extensions import db
from app.models import (
    Answer,
    Category,
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintKind,
    DistributionRule,
    FollowUp,
    FollowUpState,
    ImprovementAction,
    Invitation,
    InvitationChannel,
    InvitationState,
    Response,
    ResponseMode,
    ResponseSource,
    RuleTrigger,
    Service,
    ServiceEvent,
    ServiceVolume,
    Target,
    Unit,
)

TODAY = dt.date(2026, 3, 15)
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)  # 15:00 in Istanbul: the demo's "now"
#: The first moment of the demo's last 12 months on TODAY (1 April 2025 in Istanbul).
YEAR_START = dt.datetime(2025, 4, 1, tzinfo=ZoneInfo("Europe/Istanbul"))
APRIL_2025 = YEAR_START
SMALL = 0.1  # 300 complaints a year: enough for every mechanism, quick on both databases
SAFE_DOMAINS = {"example.com", "example.org", "example.net"}


def fingerprint() -> dict[str, Any]:
    """Counts and aggregates that any change in the generated data would move."""
    complaints = db.session.execute(
        select(
            Complaint.external_id, Unit.code, Category.code, Complaint.channel,
            Complaint.received_at, Complaint.resolved_at, Complaint.status,
        )
        .join(Unit, Unit.id == Complaint.unit_id)
        .join(Category, Category.id == Complaint.category_id)
        .order_by(Complaint.external_id)
    ).all()
    emails = sorted(e or "" for e in db.session.scalars(select(Complainant.email)))
    return {
        "counts": {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Unit, Category, Complainant, Complaint, ComplaintEvent, Invitation,
                          Response, Answer, ServiceVolume, Target, FollowUp, ImprovementAction)
        },
        "states": {
            str(state): count
            for state, count in db.session.execute(
                select(Invitation.state, func.count()).group_by(Invitation.state)
            )
        },
        "answer_sum": round(db.session.scalar(select(func.sum(Answer.value_number))), 6),
        "texts": sorted(db.session.scalars(select(Answer.value_text).where(
            Answer.value_text.is_not(None)))),
        "volumes": db.session.scalar(select(func.sum(ServiceVolume.transactions))),
        "complaints": hashlib.sha256(repr(complaints).encode()).hexdigest(),
        "emails": hashlib.sha256(repr(emails).encode()).hexdigest(),
    }


def fresh_database() -> None:
    db.session.remove()
    db.drop_all()
    db.create_all()


def overall_by_lateness() -> dict[bool, float]:
    """Mean overall rating of responses to complaints resolved late and on time."""
    late = Complaint.resolved_at > Complaint.due_at
    rows = db.session.execute(
        select(late, func.avg(Answer.value_number), func.count())
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .join(Complaint, Complaint.id == Response.complaint_id)
        .where(Answer.question_type == "rating", Answer.attribute == "overall")
        .group_by(late)
    ).all()
    assert {bool(row[0]) for row in rows} == {True, False}
    assert all(count >= 10 for _, _, count in rows), rows
    return {bool(is_late): float(mean) for is_late, mean, _ in rows}


def service_users_asked_by_a_rule() -> None:
    """The rule on the imar unit's building-permit events left a funnel and answers over the
    months since it was set up, and they set service users beside complainants per unit."""
    rule = db.session.scalar(select(DistributionRule).where(
        DistributionRule.triggered_by == RuleTrigger.SERVICE_EVENT))
    assert rule is not None and rule.unit_codes == ["imar"] and rule.active
    states = Counter(db.session.scalars(select(Invitation.state).where(
        Invitation.rule_id == rule.id)))
    for state in ("responded", "expired", "suppressed", "reminded"):
        assert states[InvitationState(state)] > 0, state
    assert states[InvitationState.PLANNED] == 0  # nothing for the dispatcher
    reasons = set(db.session.scalars(select(Invitation.suppression_reason).where(
        Invitation.rule_id == rule.id)))
    assert {"no_contact", "no_consent", "not_sampled"} <= {str(r) for r in reasons}
    answered = db.session.execute(
        select(Response.submitted_at, Response.source, Response.mode, ServiceEvent.complainant_id,
               Invitation.campaign_id)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .join(ServiceEvent, ServiceEvent.id == Response.service_event_id)
        .where(Invitation.rule_id == rule.id)).all()
    assert 150 <= len(answered) <= 500
    assert {(source, mode) for _at, source, mode, _p, _c in answered} == {
        (ResponseSource.SERVICE_USER, ResponseMode.EMAIL)}
    assert all(person is not None and campaign is None for _at, _s, _m, person, campaign
               in answered)
    months = Counter((at.year, at.month) for at, *_rest in answered)
    assert len(months) >= 6 and min(months.values()) >= 10, months
    # The section "Service users and complainants", over weeks before the walk-in codes'
    # two months: the service users of imar are the rule's.
    start, end = NOW - dt.timedelta(days=150), NOW - dt.timedelta(days=65)
    imar = db.session.scalar(select(Unit.id).where(Unit.code == "imar"))
    rows = {row.unit_id: row for row in service_users_and_complainants(
        Filters(start, end), 5, start.date(), end.date(), "Europe/Istanbul")}
    users, complainants = rows[imar].service_users, rows[imar].complainants
    assert not users.suppressed and users.value is not None and users.n >= 30
    assert not complainants.suppressed and complainants.value is not None
    assert rows[imar].difference is not None


def test_same_seed_same_data_on_a_fresh_database(app: Flask) -> None:
    with app.app_context():
        summary = load_demo(seed=7, today=TODAY, scale=SMALL)
        first = fingerprint()
        fresh_database()
        load_demo(seed=7, today=TODAY, scale=SMALL)
        second = fingerprint()
        fresh_database()
        load_demo(seed=8, today=TODAY, scale=SMALL)
        other_seed = fingerprint()

    assert first == second
    assert "300 complaints in the last 12 months" in summary
    assert other_seed["complaints"] != first["complaints"]
    assert other_seed["answer_sum"] != first["answer_sum"]


def test_a_year_of_a_municipality_that_tells_a_story(app: Flask) -> None:
    with app.app_context():
        summary = load_demo(today=TODAY)
        assert "3000 complaints" in summary

        units = db.session.scalars(select(Unit)).all()
        roots = [u for u in units if u.parent_id is None]
        assert len(roots) == 1 and roots[0].name == "Örnek Belediyesi"
        handling = db.session.scalars(select(Complaint.unit_id).distinct()).all()
        assert 9 <= len(handling) <= 12

        categories = db.session.scalars(select(Category)).all()
        leaves = [c for c in categories if not c.children]
        assert 18 <= len(leaves) <= 22
        assert all(c.committed_response_days for c in categories)

        received = db.session.scalars(select(Complaint.received_at).where(
            Complaint.kind == ComplaintKind.COMPLAINT)).all()
        assert len([r for r in received if r >= YEAR_START]) == 3000
        assert max(received) <= NOW
        # Compliments, suggestions and requests beside them: no due time, no survey.
        kinds = Counter(db.session.scalars(select(Complaint.kind)))
        assert set(kinds) == set(ComplaintKind) and kinds[ComplaintKind.COMPLIMENT] > 100
        assert not db.session.scalar(select(func.count(Complaint.id)).where(
            Complaint.kind != ComplaintKind.COMPLAINT, Complaint.due_at.is_not(None)))
        # The imar unit's services are reported as events, more in its peak month (April);
        # the Beyaz Masa service is the campaigns' population.
        assert db.session.scalar(select(func.count(Service.id))) == 8
        served = Counter(at.astimezone(ZoneInfo("Europe/Istanbul")).month
                         for at in db.session.scalars(select(ServiceEvent.occurred_at)))
        assert served[4] > served[10] > 0 and max(served.values()) < 7000
        months = Counter((r.year, r.month) for r in received)
        assert len(months) == 25  # this month and the 24 before it
        channels = Counter(db.session.scalars(select(Complaint.channel)))
        assert len(channels) >= 6

        resolved = db.session.execute(
            select(Complaint.resolved_at, Complaint.due_at)
            .where(Complaint.resolved_at.is_not(None))
        ).all()
        late_share = sum(r > d for r, d in resolved) / len(resolved)
        assert 0.08 < late_share < 0.35

        states = Counter(db.session.scalars(select(Invitation.state).where(
            Invitation.channel != InvitationChannel.PHONE)))
        for state in ("responded", "expired", "suppressed", "reminded", "cancelled", "failed"):
            assert states[InvitationState(state)] > 0, state
        assert states[InvitationState.PLANNED] == 3
        calls = Counter(db.session.scalars(select(Invitation.state).where(
            Invitation.channel == InvitationChannel.PHONE)))  # the call list: every state
        assert calls[InvitationState.PLANNED] >= 3 and calls[InvitationState.RESPONDED] == 1
        assert calls[InvitationState.CANCELLED] == 2
        reasons = set(db.session.scalars(
            select(Invitation.suppression_reason).where(Invitation.suppression_reason.is_not(None))
        ))
        assert {"no_consent", "no_contact", "fatigue", "opted_out"} <= {str(r) for r in reasons}
        responses = db.session.scalar(select(func.count(Response.id)).where(  # complaints'
            Response.submitted_at >= YEAR_START, Response.complaint_id.is_not(None)))
        assert 400 <= responses <= 1000
        assert_the_mode_mix()

        by_lateness = overall_by_lateness()
        assert by_lateness[True] < by_lateness[False] - 0.5

        csat_by_unit = db.session.execute(
            select(Response.unit_id, func.avg(case((Answer.value_number >= 4, 1.0), else_=0.0)))
            .join(Answer, Answer.response_id == Response.id)
            .where(Answer.attribute == "overall")
            .group_by(Response.unit_id)
        ).all()
        shares = [share for _, share in csat_by_unit]
        assert max(shares) - min(shares) > 0.2  # units differ: the drill-down has something to show

        assert db.session.scalar(select(func.count(ServiceVolume.id))) == 10 * 25
        service_users_asked_by_a_rule()
        org_csat = db.session.scalar(
            select(Target.value).where(Target.unit_id.is_(None), Target.metric == "csat")
        )
        assert org_csat == 0.75

        # Comments: varied, from the unhappy and the pleased, and found by their word forms.
        comments = db.session.execute(
            select(Answer.value_text, Answer.search_terms).where(Answer.question_type == "text")
        ).all()
        assert len({text for text, _ in comments}) >= 0.8 * len(comments) >= 150
        assert all(terms and terms.startswith(" ") for _, terms in comments)
        assert any(" çöp " in terms for _, terms in comments)


def assert_the_mode_mix() -> None:
    """Each answer's mode is the channel its invitation went by: e-mail; SMS to people with
    only a phone until the demo's gateway ended two months ago; phone since then. Walk-in
    answers have no invitation."""
    pairs = Counter(tuple(row) for row in db.session.execute(
        select(Invitation.channel, Response.mode)
        .join(Response, Response.invitation_id == Invitation.id)))
    assert {(str(channel), str(mode)) for channel, mode in pairs} == {
        ("email", "email"), ("sms", "sms"), ("phone", "phone")}, pairs
    modes = Counter(db.session.scalars(select(Response.mode)))
    assert modes[ResponseMode.EMAIL] > modes[ResponseMode.SMS] >= 30, modes
    assert modes[ResponseMode.PHONE] == 1 and modes[ResponseMode.WALK_IN] > 0, modes
    assert not db.session.scalar(select(func.count(Response.id)).where(
        Response.mode == ResponseMode.EMAIL, Response.invitation_id.is_(None),
        Response.complaint_id.is_not(None)))
    last_sms = db.session.scalar(select(func.max(Invitation.due_at)).where(
        Invitation.channel == InvitationChannel.SMS))
    assert last_sms is not None and last_sms < NOW - dt.timedelta(days=59)


def test_people_are_made_up_and_mostly_consent(app: Flask) -> None:
    with app.app_context():
        load_demo(seed=3, today=TODAY, scale=SMALL)
        people = db.session.scalars(select(Complainant)).all()

    emails = [p.email for p in people if p.email]
    assert len(emails) > 100
    for email in emails:
        domain = email.rsplit("@", 1)[1]
        assert domain in SAFE_DOMAINS or domain.endswith(".test"), email
    assert len(set(emails)) == len(emails)
    assert all(p.phone is None or p.phone.startswith("+90 000 ") for p in people)
    languages = Counter(p.language for p in people)
    assert languages["tr"] > 0.8 * len(people) and languages["en"] > 0
    consent = sum(p.survey_consent for p in people) / len(people)
    assert 0.7 < consent < 0.97
    assert any(p.opted_out_at for p in people) or len(people) < 500


def test_the_dispatcher_sends_only_the_planned_few(app: Flask) -> None:
    from app.distribution.dispatcher import dispatch_due

    with app.app_context():
        load_demo(seed=5, today=TODAY, scale=SMALL)
        first = dispatch_due(now=NOW)
        later = dispatch_due(now=NOW + dt.timedelta(hours=1))
        planned_left = db.session.scalar(
            select(func.count(Invitation.id)).where(Invitation.state == InvitationState.PLANNED,
                                                     Invitation.channel != InvitationChannel.PHONE)
        )
        calls_left = db.session.scalar(
            select(func.count(Invitation.id)).where(Invitation.state == InvitationState.PLANNED,
                                                     Invitation.channel == InvitationChannel.PHONE)
        )

    assert (first.sent, first.reminded, first.failed) == (3, 0, 0)
    assert later.sent == later.reminded == 0
    assert planned_left == 0
    assert calls_left > 0  # calls are made by people, never sent


def test_only_if_empty_does_nothing_the_second_time(app: Flask) -> None:
    with app.app_context():
        load_demo(seed=1, today=TODAY, scale=0.05)
        before = fingerprint()

        message = load_demo(seed=2, only_if_empty=True, today=TODAY, scale=0.05)
        assert "not loaded" in message
        assert fingerprint() == before

        with pytest.raises(DemoError, match="already holds complaints"):
            load_demo(seed=2, today=TODAY, scale=0.05)
        assert fingerprint() == before


def test_refuses_to_mix_with_an_organisation_already_set_up(app: Flask) -> None:
    with app.app_context():
        db.session.add(Unit(code="fen-isleri", name="Fen İşleri"))
        db.session.commit()
        assert "not loaded" in load_demo(only_if_empty=True, today=TODAY, scale=0.05)
        with pytest.raises(DemoError, match="units"):
            load_demo(today=TODAY, scale=0.05)
        assert db.session.scalar(select(func.count(Complaint.id))) == 0


def test_demo_command_with_if_empty_on_a_loaded_database(app: Flask) -> None:
    with app.app_context():
        load_demo(seed=1, today=TODAY, scale=0.05)
        count = db.session.scalar(select(func.count(Complaint.id)))

    result = app.test_cli_runner().invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output
    refused = app.test_cli_runner().invoke(args=["demo"])
    assert refused.exit_code != 0
    assert "already holds" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Complaint.id))) == count


def test_unhappy_respondents_are_followed_up_and_actions_are_on_the_register(app: Flask) -> None:
    """The demo opens follow-ups through the respond flow's own rule, dated at their responses,
    and the review pack of the demo's year shows them and the improvement actions."""
    from app.followup.services import follow_up_reasons
    from app.reports.pack import build_pack
    from app.reports.render import pack_html

    with app.app_context():
        summary = load_demo(seed=5, today=TODAY, scale=SMALL)
        # Follow-ups are about a complaint's handling: campaign and walk-in answers open none.
        responses = db.session.scalars(select(Response).where(
            Response.complaint_id.is_not(None))).all()
        unhappy = {r.id for r in responses if follow_up_reasons(r.answers)}
        follow_ups = db.session.scalars(select(FollowUp)).all()
        assert {f.response_id for f in follow_ups} == unhappy and len(unhappy) >= 5
        submitted = {r.id: r.submitted_at for r in responses}
        assert all(f.created_at == submitted[f.response_id] for f in follow_ups)
        states = Counter(f.state for f in follow_ups)
        assert states[FollowUpState.CLOSED] > 0
        assert f"{len(follow_ups)} follow-ups" in summary

        actions = db.session.scalars(select(ImprovementAction)).all()
        assert len(actions) >= 5
        assert {a.status.value for a in actions} == {"open", "in_progress", "done", "dropped"}
        assert all(a.created_at <= NOW for a in actions)
        assert all((a.closed_at is not None) == a.closed for a in actions)

    with app.test_request_context(headers={"Accept-Language": "en"}):
        pack = build_pack(dt.date(2025, 4, 1), dt.date(2026, 3, 15), None, "demo",
                          generated_at=NOW)
        html = pack_html(pack)
    # The follow-ups opened in the pack's period (the demo goes back a year before it).
    assert pack.follow_ups.total == len([f for f in follow_ups if f.created_at >= APRIL_2025])
    listed = {row.action.id for item in pack.actions.by_target for row in item.actions}
    listed |= {row.action.id for row in pack.actions.other}
    assert listed == {a.id for a in actions}  # all created and none finished before April
    assert pack.actions.completed and any(row.overdue for item in pack.actions.by_target
                                          for row in item.actions)
    assert "Zabıta ekiplerine" in html


def test_the_last_12_months_have_a_year_before_them(app: Flask) -> None:
    """The default view (the last 12 months, compared with the 12 before) and "same days last
    year" have something to compare with: every month of the year before holds complaints and
    answers, the complaints as many as the seasons give, the changes are worked out."""
    from app.analytics.filters import Filters
    from app.analytics.overview import overview_of
    from app.analytics.periods import (
        Comparison,
        Shortcut,
        compared_days,
        shortcut_days,
        to_instant,
    )

    tz = "Europe/Istanbul"
    with app.app_context():
        load_demo(seed=4, today=TODAY, scale=SMALL)
        first, last = shortcut_days(Shortcut.LAST_12_MONTHS, TODAY)
        compared = compared_days(first, last, Shortcut.LAST_12_MONTHS, Comparison.PREVIOUS)
        assert compared == (dt.date(2024, 4, 1), dt.date(2025, 3, 15))
        day_after = dt.timedelta(days=1)
        figures = overview_of(Filters(
            to_instant(first, tz), to_instant(last + day_after, tz),
            compared=(to_instant(compared[0], tz), to_instant(compared[1] + day_after, tz))))
        answered = db.session.scalars(select(Response.submitted_at)).all()
        received = db.session.scalars(select(Complaint.received_at)).all()
        volumes = set(db.session.scalars(select(ServiceVolume.period_start)))

    zone = ZoneInfo(tz)
    for month in range(4, 16):  # April 2024 to March 2025: the same months a year before
        year, number = 2024 + (month - 1) // 12, (month - 1) % 12 + 1
        same = [(at.astimezone(zone).year, at.astimezone(zone).month) == (year, number)
                for at in received]
        assert sum(same) >= 10, (year, number)
        assert any((at.astimezone(zone).year, at.astimezone(zone).month) == (year, number)
                   for at in answered), (year, number)
        assert dt.date(year, number, 1) in volumes
    assert 0.8 < figures.complaints_previous / figures.complaints < 1.2
    assert figures.csat_change is not None and figures.complaints_change is not None
