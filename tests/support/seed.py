"""Data for the reliability tests and benchmarks: a questionnaire, a rule, and invitations in bulk.

The rows are inserted as models, in bulk (thousands at a time), because what is under test here is
what happens to them afterwards: the dispatcher, the survey pages, the scheduler. Intake and the
planner have their own tests. Works on SQLite and PostgreSQL; call inside an app context.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text

from app.distribution.tokens import hash_token, token_for
from app.extensions import db
from app.models import (
    Category,
    Complainant,
    Complaint,
    ComplaintStatus,
    DistributionRule,
    Invitation,
    InvitationState,
    Questionnaire,
    QuestionnaireVersion,
    Unit,
    VersionStatus,
)

UTC = dt.UTC

# A short questionnaire: the one-click rating and a comment.
DEFINITION: dict[str, Any] = {
    "key": "reliability",
    "languages": ["tr", "en"],
    "title": {"tr": "Şikâyetinizi nasıl ele aldık?", "en": "How did we handle your complaint?"},
    "intro": {"tr": "Görüşünüz önemli.", "en": "Your opinion matters."},
    "thanks": {"tr": "Teşekkür ederiz.", "en": "Thank you."},
    "questions": [
        {
            "key": "overall",
            "type": "rating",
            "attribute": "overall",
            "required": True,
            "email_embed": True,
            "text": {"tr": "Genel olarak ne kadar memnunsunuz?", "en": "How satisfied are you?"},
        },
        {
            "key": "comment",
            "type": "text",
            "max_length": 2000,
            "text": {"tr": "Eklemek istedikleriniz", "en": "Anything to add?"},
        },
    ],
}

# Sends at any hour: a test must not depend on the time of day it runs at.
ALL_DAY = {"send_window_start": "00:00", "send_window_end": "00:00", "timezone": "UTC"}


@dataclass(frozen=True)
class Reference:
    """The ids every invitation points at."""

    unit_id: int
    category_id: int
    questionnaire_id: int
    version_id: int
    rule_id: int


def seed_reference(**rule_fields: Any) -> Reference:
    """One unit, one category, a published questionnaire and its rule (sending all day)."""
    now = dt.datetime.now(UTC)
    unit = Unit(code="parks", name="Parks")
    category = Category(code="water", name="Water")
    questionnaire = Questionnaire(key="reliability", title="Reliability")
    version = QuestionnaireVersion(
        questionnaire=questionnaire, number=1, definition=DEFINITION,
        status=VersionStatus.PUBLISHED, published_at=now,
    )
    settings = {**ALL_DAY, **rule_fields}
    rule = DistributionRule(key="default", questionnaire=questionnaire, **settings)
    db.session.add_all([unit, category, questionnaire, version, rule])
    db.session.commit()
    return Reference(unit.id, category.id, questionnaire.id, version.id, rule.id)


def _next_id(model: Any) -> int:
    return int(db.session.scalar(select(func.coalesce(func.max(model.id), 0)))) + 1


SEED_CHUNK = 500


def _insert_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERTs of ``SEED_CHUNK`` rows. An executemany runs one INSERT per row on
    psycopg 3, and each fires the rollup's statement-level trigger: in one transaction every
    one of them updates the same few rollup rows again, whose dead versions pile up, so 15,000
    rows took over 20 minutes; a few dozen statements take seconds."""
    for start in range(0, len(rows), SEED_CHUNK):
        db.session.execute(insert(model.__table__).values(rows[start:start + SEED_CHUNK]))


def _fix_sequences() -> None:
    """Explicit ids leave PostgreSQL's sequences behind: move them past the largest id."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in ("complainant", "complaint", "invitation"):
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"))


def seed_invitations(
    ref: Reference,
    count: int,
    *,
    due_at: dt.datetime | list[dt.datetime],
    state: InvitationState = InvitationState.PLANNED,
    secret_key: str | None = None,
    **invitation_fields: Any,
) -> list[int]:
    """``count`` invitations, each for its own complaint and complainant; returns their ids.

    ``due_at`` is one time for all or one per invitation. With ``secret_key`` each invitation
    gets the token hash of its survey link (``token_for(id, secret_key)`` opens it), as the
    dispatcher would have stored when it sent the mail. Commits.
    """
    dues = due_at if isinstance(due_at, list) else [due_at] * count
    if not dues:
        return []
    first = max(_next_id(Complainant), _next_id(Complaint), _next_id(Invitation))
    ids = list(range(first, first + count))
    resolved_at = min(dues) - dt.timedelta(hours=1)
    _insert_rows(Complainant, [
        {"id": i, "name": "Reliability", "email": f"person{i}@example.org",
         "language": "tr" if i % 2 else "en", "survey_consent": True} for i in ids])
    _insert_rows(Complaint, [
        {"id": i, "external_id": f"REL-{i:07d}", "received_at": resolved_at - dt.timedelta(days=2),
         "channel": "web", "category_id": ref.category_id, "unit_id": ref.unit_id,
         "complainant_id": i, "status": ComplaintStatus.RESOLVED, "resolved_at": resolved_at}
        for i in ids])
    _insert_rows(Invitation, [
        {"id": i, "complaint_id": i, "rule_id": ref.rule_id, "version_id": ref.version_id,
         "language": "tr" if i % 2 else "en", "due_at": due, "state": state,
         "token_hash": hash_token(token_for(i, secret_key)) if secret_key else None,
         **invitation_fields}
        for i, due in zip(ids, dues, strict=True)])
    _fix_sequences()
    db.session.commit()
    return ids


def states_of(ids: list[int] | None = None) -> dict[int, InvitationState]:
    """Invitation id -> state, as stored now."""
    query = select(Invitation.id, Invitation.state)
    if ids is not None:
        query = query.where(Invitation.id.in_(ids))
    db.session.expire_all()
    return {row[0]: row[1] for row in db.session.execute(query)}
