"""A complainant's personal data: erased on request, exported on request, purged on schedule.

Where Memnun keeps personal data (checked by tests/reliability/test_privacy_erase.py, which
searches every text and JSON column of the database, the exports, the outbox and the logs):

- ``complainant``: name, e-mail address, phone (the contact data);
- ``complaint.subject`` and ``description``, ``complaint_event.note``: free text from the
  complaint system, where people write names, addresses and ID numbers;
- ``answer.value_text``: free-text answers to the survey (about a complaint or a service event),
  for the same reason;
- ``follow_up_note.text``: what staff wrote while calling the person back (about a complaint,
  or about a service event: a service user's follow-up);
- ``invitation.last_error``: a gateway's refusal may quote a phone number (mail errors are
  scrubbed of addresses already, ``app.logsafe.scrub``);
- the file mail backend's outbox (``MEMNUN_OUTBOX_DIR``): each survey e-mail as an .eml file.

Not personal data, so left as they are: webhook deliveries (their payloads hold codes and scores
only, never free text or contact data: ``app.webhooks``), the audit log (ids, and here a keyed hash
of the e-mail address), and the logs: the app writes no log file of its own; it logs to stderr,
naming invitations, responses and complaints by id only.

Erasing keeps every number and choice a person answered, attached to the same complaint, unit
and category, so the published figures do not change; what identifies them is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, exists, func, not_, or_, select, update

from app.distribution.mail import EML_NAME_RE
from app.emails import email_key
from app.extensions import db
from app.models import (
    Answer,
    AuditLog,
    Complainant,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    FollowUp,
    FollowUpNote,
    Invitation,
    InvitationState,
    Response,
    ServiceEvent,
)
from app.models.types import utcnow
from app.progress import Advance, nothing

log = logging.getLogger(__name__)

#: States in which a survey is over: nothing more will be sent or answered.
CLOSED_STATES = (
    InvitationState.RESPONDED,
    InvitationState.EXPIRED,
    InvitationState.CANCELLED,
    InvitationState.SUPPRESSED,
    InvitationState.FAILED,
)
REDACTED = "<erased>"
BATCH = 500


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed (counts only: this is printed and kept in the audit log)."""

    complainants: int = 0
    complaints: int = 0
    service_events: int = 0  # whose person's contact data went
    events: int = 0
    answers: int = 0  # free-text answers removed
    notes: int = 0
    invitations: int = 0  # error texts redacted
    outbox_files: int = 0

    def summary(self) -> str:
        return (f"{self.complainants} complainant record(s), {self.complaints} complaint(s), "
                f"{self.service_events} service event(s), "
                f"{self.events} event note(s), {self.answers} free-text answer(s), "
                f"{self.notes} follow-up note(s), {self.invitations} error text(s), "
                f"{self.outbox_files} outbox file(s)")


def person_key(email: str) -> str:
    """A keyed hash of the address for the audit log: whoever holds the secret key can check
    whether an address was erased; the log itself names nobody."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"privacy:" + email_key(email).encode(), hashlib.sha256).hexdigest()


def complainants_with_email(email: str) -> list[Complainant]:
    """Every complainant record with this address, however it is written (integrations often
    make one record per complaint); addresses are stored as ``email_key`` gives them."""
    return list(db.session.scalars(
        select(Complainant)
        .where(Complainant.email == email_key(email))
        .order_by(Complainant.id)
    ))


# --- erasure --------------------------------------------------------------------------------------


def erase_person(email: str, actor: str = "cli", now: dt.datetime | None = None) -> Erasure:
    """Erase the personal data of the person with this e-mail address everywhere (see the
    module), keep their numeric and choice answers, and record it in the audit log.

    The outbox files go first: if the database part then fails, running it again still finds
    the person. Safe to repeat; a second run finds nothing left.
    """
    now = now or utcnow()
    people = complainants_with_email(email)
    complaint_ids = _complaint_ids(person.id for person in people)
    event_ids = _service_event_ids(person.id for person in people)
    files = delete_outbox_files(_invitation_ids(complaint_ids, event_ids))
    needles = _identifiers(people)
    erasure = Erasure(
        complainants=len(people),
        complaints=_erase_complaint_texts(complaint_ids),
        service_events=len(event_ids),
        events=_erase_event_notes(complaint_ids),
        answers=_erase_free_text_answers(complaint_ids, event_ids),
        notes=_erase_follow_up_notes(complaint_ids, event_ids),
        invitations=_redact_errors(complaint_ids, needles, event_ids),
        outbox_files=files,
    )
    _clear_contacts(people, now)
    db.session.add(AuditLog(actor=actor, action="privacy.erase",
                            target=f"person:{person_key(email)}", detail=asdict(erasure)))
    db.session.commit()
    log.info("privacy erasure: %s", erasure.summary())
    return erasure


def _complaint_ids(complainant_ids: Iterable[int]) -> list[int]:
    ids = list(complainant_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(Complaint.id).where(Complaint.complainant_id.in_(ids)).order_by(Complaint.id)))


def _service_event_ids(complainant_ids: Iterable[int]) -> list[int]:
    ids = list(complainant_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(ServiceEvent.id).where(ServiceEvent.complainant_id.in_(ids))
        .order_by(ServiceEvent.id)))


def _of_subjects(model: Any, complaint_ids: Collection[int],
                 event_ids: Collection[int] = ()) -> Any:
    """The condition on ``model`` (invitations, responses) for rows about these complaints or
    service events."""
    return or_(model.complaint_id.in_(list(complaint_ids)),
               model.service_event_id.in_(list(event_ids)))


def _invitation_ids(complaint_ids: Collection[int], event_ids: Collection[int] = ()) -> set[int]:
    if not complaint_ids and not event_ids:
        return set()
    return set(db.session.scalars(
        select(Invitation.id).where(_of_subjects(Invitation, complaint_ids, event_ids))))


def _identifiers(people: Iterable[Complainant]) -> list[str]:
    """The person's name, address and phone as they may be quoted in an error text."""
    found = {value.strip() for person in people
             for value in (person.name, person.email, person.phone) if value and value.strip()}
    return sorted(found, key=len, reverse=True)  # longest first: a name inside an address


def _clear_contacts(people: Iterable[Complainant], now: dt.datetime) -> None:
    for person in people:
        person.name = person.email = person.phone = None
        person.erased_at = person.erased_at or now


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


def _erase_complaint_texts(complaint_ids: list[int]) -> int:
    if not complaint_ids:
        return 0
    return _rowcount(db.session.execute(
        update(Complaint).where(Complaint.id.in_(complaint_ids))
        .values(subject=None, description=None)
        .execution_options(synchronize_session=False)))


def _erase_event_notes(complaint_ids: list[int]) -> int:
    # The history is append-only, except for this: the events stay, their free text goes.
    if not complaint_ids:
        return 0
    return _rowcount(db.session.execute(
        update(ComplaintEvent)
        .where(ComplaintEvent.complaint_id.in_(complaint_ids), ComplaintEvent.note.is_not(None))
        .values(note=None)
        .execution_options(synchronize_session=False)))


def _erase_free_text_answers(complaint_ids: list[int], event_ids: list[int]) -> int:
    """Remove free-text answers; numbers and choices stay (they identify nobody, and they are
    what the published figures count)."""
    if not complaint_ids and not event_ids:
        return 0
    responses = select(Response.id).where(_of_subjects(Response, complaint_ids, event_ids))
    return _rowcount(db.session.execute(
        delete(Answer)
        .where(Answer.response_id.in_(responses), Answer.value_text.is_not(None))
        .execution_options(synchronize_session=False)))


def _follow_ups_about(complaint_ids: Collection[int], event_ids: Collection[int] = ()) -> Any:
    """The condition for follow-ups of answers about these complaints or service events (a
    service user's follow-up has no complaint: its response names the service event)."""
    responses = select(Response.id).where(_of_subjects(Response, complaint_ids, event_ids))
    return FollowUp.response_id.in_(responses)


def _erase_follow_up_notes(complaint_ids: list[int], event_ids: list[int]) -> int:
    """Empty the notes: that someone followed up, and when, stays; what they wrote goes."""
    if not complaint_ids and not event_ids:
        return 0
    follow_ups = select(FollowUp.id).where(_follow_ups_about(complaint_ids, event_ids))
    return _rowcount(db.session.execute(
        update(FollowUpNote)
        .where(FollowUpNote.follow_up_id.in_(follow_ups), FollowUpNote.text != "")
        .values(text="")
        .execution_options(synchronize_session=False)))


def _redact_errors(complaint_ids: list[int], needles: list[str], event_ids: list[int]) -> int:
    if not (complaint_ids or event_ids) or not needles:
        return 0
    pattern = re.compile("|".join(re.escape(needle) for needle in needles), re.IGNORECASE)
    changed = 0
    for invitation in db.session.scalars(select(Invitation).where(
            _of_subjects(Invitation, complaint_ids, event_ids),
            Invitation.last_error.is_not(None))):
        redacted = pattern.sub(REDACTED, invitation.last_error or "")
        if redacted != invitation.last_error:
            invitation.last_error = redacted
            changed += 1
    return changed


def _outbox_files_of(invitation_ids: Collection[int],
                     directory: str | None = None) -> list[tuple[Path, int]]:
    """The file backend's .eml files of these invitations, with their invitation ids. Only
    names the backend writes are considered (``<time>-inv<id>-<random>.eml``)."""
    folder = Path(directory or current_app.config["MEMNUN_OUTBOX_DIR"])
    if not invitation_ids or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        match = EML_NAME_RE.match(path.name)
        if match and int(match.group(2)) in invitation_ids:
            found.append((path, int(match.group(2))))
    return found


def delete_outbox_files(invitation_ids: Collection[int], directory: str | None = None) -> int:
    """Delete the file backend's .eml files of these invitations; returns how many."""
    files = _outbox_files_of(invitation_ids, directory)
    for path, _invitation in files:
        path.unlink(missing_ok=True)
    return len(files)


# --- export ---------------------------------------------------------------------------------------


def export_person(email: str, actor: str = "cli") -> dict[str, Any]:
    """Everything Memnun holds about the person with this address, as a JSON-ready document:
    their complainant records, their complaints (with the history, the invitations, the answers
    including free text, and the follow-up notes), their service events (with the invitations,
    a campaign's too, the answers and the follow-ups), and the outbox files of their e-mails.

    The e-mails themselves are only named: they hold live survey links. The export is recorded in
    the audit log (without the address).
    """
    from app.documents import complaint_document, iso, service_event_document

    people = complainants_with_email(email)
    complaint_ids = _complaint_ids(person.id for person in people)
    event_ids = _service_event_ids(person.id for person in people)
    events = list(db.session.scalars(
        select(ServiceEvent).where(ServiceEvent.id.in_(event_ids))
        .order_by(ServiceEvent.occurred_at, ServiceEvent.id))) if event_ids else []
    complaints = list(db.session.scalars(
        select(Complaint).where(Complaint.id.in_(complaint_ids))
        .order_by(Complaint.received_at, Complaint.id))) if complaint_ids else []
    document = {
        "email": email_key(email),
        "exported_at": iso(utcnow()),
        "complainant_records": [_person_document(person) for person in people],
        "complaints": [
            {**complaint_document(complaint, include_personal=True),
             "responses": _responses_of(complaint.id),
             "follow_ups": _follow_ups_of(FollowUp.complaint_id == complaint.id)}
            for complaint in complaints
        ],
        "service_events": [
            {**service_event_document(event, include_personal=True),
             "responses": _answers_about_service(event.id),
             "follow_ups": _follow_ups_of(FollowUp.response_id.in_(
                 select(Response.id).where(Response.service_event_id == event.id)))}
            for event in events
        ],
        "outbox_files": outbox_files(_invitation_ids(complaint_ids, event_ids)),
    }
    db.session.add(AuditLog(actor=actor, action="privacy.export",
                            target=f"person:{person_key(email)}",
                            detail={"complainants": len(people), "complaints": len(complaints),
                                    "service_events": len(events)}))
    db.session.commit()
    return document


def _person_document(person: Complainant) -> dict[str, Any]:
    from app.documents import iso

    return {
        "id": person.id, "name": person.name, "email": person.email, "phone": person.phone,
        "language": person.language, "survey_consent": person.survey_consent,
        "opted_out_at": iso(person.opted_out_at), "created_at": iso(person.created_at),
        "erased_at": iso(person.erased_at),
    }


def _responses_of(complaint_id: int) -> list[dict[str, Any]]:
    from app.documents import response_document, response_with_context

    documents = []
    for response_id in db.session.scalars(
            select(Response.id).where(Response.complaint_id == complaint_id)
            .order_by(Response.id)):
        found = response_with_context(response_id)
        if found is not None:
            documents.append(response_document(*found, include_free_text=True))
    return documents


def _answers_about_service(event_id: int) -> list[dict[str, Any]]:
    """The responses about a service event, with every answer (free text included)."""
    from app.documents import iso

    return [
        {"id": response.id, "submitted_at": iso(response.submitted_at),
         "answers": [{"question": answer.question_key,
                      "value": next((value for value in (answer.value_number,
                                                         answer.value_choice,
                                                         answer.value_text)
                                     if value is not None), None)}
                     for answer in response.answers]}
        for response in db.session.scalars(
            select(Response).where(Response.service_event_id == event_id).order_by(Response.id))
    ]


def _follow_ups_of(condition: Any) -> list[dict[str, Any]]:
    """The follow-ups that meet ``condition``, with their notes."""
    from app.documents import iso

    return [
        {"state": item.state.value, "reasons": item.reason.split(","),
         "created_at": iso(item.created_at),
         "notes": [{"at": iso(note.at), "text": note.text} for note in item.notes]}
        for item in db.session.scalars(
            select(FollowUp).where(condition).order_by(FollowUp.id))
    ]


def outbox_files(invitation_ids: Collection[int]) -> list[dict[str, Any]]:
    """Name and invitation of the outbox files of these invitations (not their content: it
    holds live survey links)."""
    return [{"file": path.name, "invitation": invitation}
            for path, invitation in _outbox_files_of(invitation_ids)]


# --- retention ------------------------------------------------------------------------------------


def _survey_closed_at() -> Any:
    """When a closed survey closed, or the latest it can have: the answer, else the link's
    expiry, else the planned sending time, else the moment it was planned (suppressed)."""
    return func.coalesce(Invitation.responded_at, Invitation.expires_at, Invitation.due_at,
                         Invitation.created_at)


def _still_needed(cutoff: dt.datetime) -> Any:
    """A complaint of the complainant still needs their contact data: a survey not closed, or
    closed after ``cutoff``; or, without any survey, a complaint not closed before ``cutoff``."""
    open_survey = exists().where(
        Invitation.complaint_id == Complaint.id,
        or_(Invitation.state.not_in(CLOSED_STATES), _survey_closed_at() > cutoff))
    any_survey = exists().where(Invitation.complaint_id == Complaint.id)
    finished_at = func.coalesce(Complaint.closed_at, Complaint.resolved_at)
    closed_long_ago = and_(
        Complaint.status.in_([ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED]),
        finished_at.is_not(None), finished_at <= cutoff)
    complaint_needs = exists().where(
        Complaint.complainant_id == Complainant.id,
        or_(open_survey, and_(not_(any_survey), not_(closed_long_ago))))
    return or_(complaint_needs, _service_still_needed(cutoff))


def _service_still_needed(cutoff: dt.datetime) -> Any:
    """A service event of the person still needs their contact data: a survey about it not
    closed, or closed after ``cutoff``; or, without any survey, the service was delivered after
    ``cutoff`` (a survey, a campaign's sample, may still come)."""
    open_survey = exists().where(
        Invitation.service_event_id == ServiceEvent.id,
        or_(Invitation.state.not_in(CLOSED_STATES), _survey_closed_at() > cutoff))
    any_survey = exists().where(Invitation.service_event_id == ServiceEvent.id)
    return exists().where(
        ServiceEvent.complainant_id == Complainant.id,
        or_(open_survey, and_(not_(any_survey), ServiceEvent.occurred_at > cutoff)))


def purge_expired_contacts(now: dt.datetime | None = None, days: int | None = None,
                           progress: Advance = nothing) -> int:
    """Erase the contact data (name, e-mail, phone, and the outbox files of their e-mails) of
    complainants (and people served) whose surveys all closed more than ``days`` (default
    ``MEMNUN_RETENTION_DAYS``) ago, whose complaints without a survey were closed that long
    ago, and whose services without a survey were delivered that long ago. Returns how many
    complainant records were purged. Safe to run anywhere, any number of times at once: a
    record is purged once (``erased_at``).

    Their complaints' free text stays: it is the complaint record, not contact data; ``memnun
    privacy erase`` removes it on request. ``progress`` advances by each batch's records.
    """
    now = now or utcnow()
    days = int(current_app.config["MEMNUN_RETENTION_DAYS"] if days is None else days)
    cutoff = now - dt.timedelta(days=days)
    candidates = select(Complainant.id).where(
        Complainant.erased_at.is_(None), Complainant.created_at <= cutoff,
        or_(Complainant.name.is_not(None), Complainant.email.is_not(None),
            Complainant.phone.is_not(None)),
        not_(_still_needed(cutoff)),
    ).order_by(Complainant.id).limit(BATCH)
    purged, last_id = 0, 0
    while batch := list(db.session.scalars(candidates.where(Complainant.id > last_id))):
        last_id = batch[-1]
        delete_outbox_files(_invitation_ids(_complaint_ids(batch), _service_event_ids(batch)))
        purged += _rowcount(db.session.execute(
            update(Complainant)
            .where(Complainant.id.in_(batch), Complainant.erased_at.is_(None))
            .values(name=None, email=None, phone=None, erased_at=now)
            .execution_options(synchronize_session=False)))
        db.session.commit()
        progress(len(batch), "")
    if purged:
        db.session.add(AuditLog(actor="retention", action="privacy.purge",
                                detail={"complainants": purged, "days": days}))
        db.session.commit()
    log.info("retention: contact data of %s complainant record(s) purged (%s days)", purged, days)
    return purged
