"""The retention job: contact data is purged a configurable time (MEMNUN_RETENTION_DAYS, default
180) after the person's surveys closed, or, for a complaint without a survey, after it was
closed; never while a survey or a complaint is still open."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from app.distribution.mail import FileBackend
from app.extensions import db
from app.models import (
    AuditLog,
    Category,
    Channel,
    Complainant,
    Complaint,
    ComplaintStatus,
    Invitation,
    InvitationState,
    Unit,
)
from app.privacy.services import purge_expired_contacts
from app.scheduler import RETENTION, add_jobs
from tests.support.factories import make_complaint

# The daily job and the command purge as of the real time, so the data is placed around it.
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
State = InvitationState


def days_ago(days: int) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


# person -> their complaints: (complaint status, closed days ago or None, [(survey state,
# closed days ago)]). Whether the person's contact data goes at 180 days, and why.
PEOPLE = {
    "answered-long-ago": ([("resolved", None, [(State.RESPONDED, 200)])], True),
    "answered-lately": ([("resolved", None, [(State.RESPONDED, 100)])], False),
    "expired-long-ago": ([("closed", 300, [(State.EXPIRED, 190)])], True),
    "expired-lately": ([("resolved", None, [(State.EXPIRED, 170)])], False),
    "suppressed-long-ago": ([("resolved", None, [(State.SUPPRESSED, 250)])], True),
    "cancelled-and-failed": ([("resolved", None, [(State.CANCELLED, 400),
                                                  (State.FAILED, 200)])], True),
    "survey-still-open": ([("resolved", None, [(State.SENT, 300)])], False),
    "one-complaint-still-recent": ([("resolved", None, [(State.RESPONDED, 300)]),
                                    ("resolved", None, [(State.RESPONDED, 20)])], False),
    "no-survey-closed-long-ago": ([("closed", 200, [])], True),
    "no-survey-closed-lately": ([("closed", 30, [])], False),
    "no-survey-still-open": ([("received", None, [])], False),
    "no-survey-reopened": ([("reopened", None, [])], False),
}


def _complaint(person: Complainant, unit: Unit, category: Category, number: int, status: str,
               closed: int | None) -> Complaint:
    return make_complaint(
        external_id=f"R-{number}", received_at=days_ago(500), channel=Channel.WEB,
        category=category, unit=unit, complainant=person, status=ComplaintStatus(status),
        resolved_at=days_ago(closed if closed is not None else 450)
        if status in ("resolved", "closed") else None,
        closed_at=days_ago(closed) if closed is not None else None, flush=False)


def _invitation(complaint: Complaint, state: InvitationState, closed: int) -> Invitation:
    """An invitation whose survey closed ``closed`` days ago, with the times that state has."""
    at = days_ago(closed)
    times: dict[str, dt.datetime | None] = {"created_at": at - dt.timedelta(days=20)}
    if state == State.RESPONDED:
        times |= {"sent_at": at - dt.timedelta(days=2), "expires_at": at + dt.timedelta(days=12),
                  "responded_at": at}
    elif state in (State.EXPIRED, State.SENT):
        times |= {"sent_at": at - dt.timedelta(days=14), "expires_at": at}
    elif state == State.SUPPRESSED:
        times = {"created_at": at}
    else:  # cancelled or failed before sending
        times |= {"due_at": at}
    invitation = Invitation(complaint=complaint, state=state, language="tr", **times)
    db.session.add(invitation)
    return invitation


@pytest.fixture
def people(app) -> dict[str, tuple[int, list[int]]]:  # type: ignore[no-untyped-def]
    """person's key -> (complainant id, invitation ids); an outbox file for every invitation."""
    found = {}
    backend = FileBackend(app.config["MEMNUN_OUTBOX_DIR"])
    with app.app_context():
        unit, category = Unit(code="fen", name="Fen"), Category(code="yol", name="Yol")
        number = 0
        for key, (complaints, _purged) in PEOPLE.items():
            person = Complainant(name=f"Name {key}", email=f"{key}@example.org",
                                 phone="+90 555 000 00 00", survey_consent=True,
                                 created_at=days_ago(600))
            invitations = []
            for status, closed, surveys in complaints:
                number += 1
                complaint = _complaint(person, unit, category, number, status, closed)
                invitations += [_invitation(complaint, state, ago) for state, ago in surveys]
            db.session.commit()
            found[key] = (person.id, [invitation.id for invitation in invitations])
    for _person, invitation_ids in found.values():
        for invitation_id in invitation_ids:
            message = EmailMessage()
            message["Subject"] = "Survey"
            message.set_content("How did we do?")
            backend.send(message, invitation_id=invitation_id)
    return found


def _has_contact(person_id: int) -> bool:
    person = db.session.get(Complainant, person_id)
    return person.email is not None and person.name is not None and person.erased_at is None


def _outbox_invitations(app) -> set[int]:  # type: ignore[no-untyped-def]
    return {int(path.name.split("-inv")[1].split("-")[0])
            for path in Path(app.config["MEMNUN_OUTBOX_DIR"]).glob("*.eml")}


def test_purge_after_the_retention_time(app, people) -> None:  # type: ignore[no-untyped-def]
    expected = {key for key, (_complaints, purged) in PEOPLE.items() if purged}
    with app.app_context():
        assert app.config["MEMNUN_RETENTION_DAYS"] == 180
        assert purge_expired_contacts(now=NOW) == len(expected)
        kept = {key for key, (person_id, _ids) in people.items() if _has_contact(person_id)}
        assert kept == set(PEOPLE) - expected
        purged = db.session.get(Complainant, people["answered-long-ago"][0])
        assert purged.phone is None and purged.erased_at == NOW
        # The survey e-mails of the purged are gone from the outbox; the others' stay.
        gone = {i for key in expected for i in people[key][1]}
        assert _outbox_invitations(app) == {i for _p, ids in people.values() for i in ids} - gone
        audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "privacy.purge"))
        assert audit.detail == {"complainants": len(expected), "days": 180}
        assert purge_expired_contacts(now=NOW) == 0  # once only


def test_the_retention_time_is_configurable(app, people) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        app.config["MEMNUN_RETENTION_DAYS"] = 365
        assert purge_expired_contacts(now=NOW) == 0
        # 90 days: the answers of 100 days ago and the expiry of 170 days ago go as well.
        assert purge_expired_contacts(now=NOW, days=90) == 7
        assert not _has_contact(people["expired-lately"][0])
        assert _has_contact(people["survey-still-open"][0])


def test_cli_purge(app, people) -> None:  # type: ignore[no-untyped-def]
    # Retention 0: everything closed before now goes.
    result = app.test_cli_runner().invoke(args=["privacy", "purge", "--days", "0"])
    assert result.exit_code == 0, result.output
    assert "Purged the contact data of 9 complainant record(s)." in result.output
    with app.app_context():
        assert _has_contact(people["survey-still-open"][0])  # open is open, whatever the time


def test_the_daily_job_runs_the_purge(app, people) -> None:  # type: ignore[no-untyped-def]
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")  # never started: the job is run by hand
    add_jobs(scheduler, app)
    job = scheduler.get_job(RETENTION.id)
    assert job.trigger.interval == dt.timedelta(days=1)
    job.func(*job.args)
    with app.app_context():
        assert not _has_contact(people["answered-long-ago"][0])
        assert _has_contact(people["answered-lately"][0])
