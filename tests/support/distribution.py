"""Helpers of the distribution tests: a questionnaire, rules, planned invitations, SMTP settings.

Complaints are inserted as models directly (``tests.support.factories.make_complaint``): the
planner and the dispatcher are tested on their own, independent of the intake API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Category,
    Channel,
    Complainant,
    Complaint,
    ComplaintStatus,
    DistributionRule,
    Invitation,
    InvitationChannel,
    Questionnaire,
    QuestionnaireVersion,
    Unit,
    VersionStatus,
)
from tests.support.factories import make_complaint, next_number, node

UTC = dt.UTC

DEFINITION: dict[str, Any] = {
    "key": "post-resolution",
    "languages": ["tr", "en"],
    "title": {
        "tr": "Şikâyetinizi nasıl ele aldık?",
        "en": "How did we handle your complaint?",
    },
    "intro": {
        "tr": "Görüşünüz hizmetimizi iyileştirmemize yardım eder.",
        "en": "Your opinion helps us improve our service.",
    },
    "thanks": {"tr": "Teşekkür ederiz.", "en": "Thank you."},
    "questions": [
        {
            "key": "overall",
            "type": "rating",
            "attribute": "overall",
            "required": True,
            "email_embed": True,
            "text": {
                "tr": "Şikâyetinizin ele alınışından genel olarak ne kadar memnunsunuz?",
                "en": "Overall, how satisfied are you with the handling of your complaint?",
            },
            "labels": {
                "low": {"tr": "Hiç memnun değilim", "en": "Very dissatisfied"},
                "high": {"tr": "Çok memnunum", "en": "Very satisfied"},
            },
        },
        {
            "key": "comment",
            "type": "text",
            "max_length": 2000,
            "text": {"tr": "Eklemek istedikleriniz", "en": "Anything to add?"},
        },
    ],
}


def make_questionnaire(
    key: str = "post-resolution", published: bool = True, definition: dict[str, Any] | None = None
) -> Questionnaire:
    questionnaire = Questionnaire(key=key, title=key)
    version = QuestionnaireVersion(
        questionnaire=questionnaire,
        number=1,
        status=VersionStatus.PUBLISHED if published else VersionStatus.DRAFT,
        definition={**(definition or DEFINITION), "key": key},
        published_at=dt.datetime.now(UTC) if published else None,
    )
    db.session.add_all([questionnaire, version])
    db.session.flush()
    return questionnaire


def make_rule(key: str = "default", questionnaire: Questionnaire | None = None, **fields: Any
              ) -> DistributionRule:
    """A rule with the model's defaults unless given; the questionnaire is made if needed."""
    if questionnaire is None:
        questionnaire = db.session.scalar(select(Questionnaire).limit(1)) or make_questionnaire()
    fields.setdefault("timezone", "Europe/Istanbul")
    rule = DistributionRule(key=key, questionnaire=questionnaire, **fields)
    db.session.add(rule)
    db.session.flush()
    return rule


def planned_invitation(
    app: Flask,
    due_at: dt.datetime,
    *,
    commit: bool = True,
    channel: InvitationChannel = InvitationChannel.EMAIL,
    **complaint_fields: Any,
) -> int:
    """A planned invitation due at ``due_at`` for a fresh complaint (rule made if missing)."""
    rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == "default"))
    if rule is None:
        rule = make_rule()
    complaint = make_complaint(**complaint_fields)
    version = rule.questionnaire.published_version
    invitation = Invitation(
        complaint=complaint,
        rule=rule,
        version=version,
        language=complaint.complainant.language if complaint.complainant else "tr",
        due_at=due_at,
        channel=channel,
    )
    db.session.add(invitation)
    db.session.flush()
    if commit:
        db.session.commit()
    return invitation.id


def smtp_config(smtp_server: Any, **extra: Any) -> dict[str, Any]:
    return {
        "MEMNUN_MAIL_BACKEND": "smtp",
        "MEMNUN_SMTP_HOST": smtp_server.host,
        "MEMNUN_SMTP_PORT": smtp_server.port,
        "MEMNUN_SMTP_TIMEOUT": 5,
        **extra,
    }


def fetch(invitation_id: int) -> Invitation:
    """The row as stored now (not what this session last saw)."""
    db.session.expire_all()
    invitation = db.session.get(Invitation, invitation_id)
    assert invitation is not None
    return invitation


def bulk_due_invitations(count: int, due_at: dt.datetime) -> list[int]:
    """``count`` planned invitations due at ``due_at``, inserted in bulk (thousands in a
    second), each for its own complainant and complaint; returns their ids. Commits."""
    from sqlalchemy import insert

    rule = db.session.scalar(select(DistributionRule).where(DistributionRule.key == "default"))
    if rule is None:
        rule = make_rule()
    version = rule.questionnaire.published_version
    unit, category = node(Unit, "parks"), node(Category, "water")
    first = next_number()
    numbers = range(first, first + count)
    for _ in range(count):
        next_number()
    def returning_ids(model: Any) -> Any:
        return insert(model).returning(model.id, sort_by_parameter_order=True)

    people = db.session.scalars(returning_ids(Complainant), [
        {"name": "Bulk", "email": f"bulk{n}@example.org", "language": "tr", "survey_consent": True}
        for n in numbers])
    complaints = db.session.scalars(returning_ids(Complaint), [
        {"external_id": f"CMP-{n:06d}", "received_at": due_at - dt.timedelta(days=3),
         "channel": Channel.WEB, "category_id": category.id, "unit_id": unit.id,
         "complainant_id": person, "status": ComplaintStatus.RESOLVED,
         "resolved_at": due_at - dt.timedelta(days=1)}
        for n, person in zip(numbers, list(people), strict=True)])
    ids = list(db.session.scalars(returning_ids(Invitation), [
        {"complaint_id": complaint, "rule_id": rule.id, "version_id": version.id,
         "language": "tr", "due_at": due_at}
        for complaint in list(complaints)]))
    db.session.commit()
    return ids


def in_english(client: Any) -> Any:
    """Ask for English pages (the default language is Turkish): tests read English words."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def catalogue_text(app: Flask, language: str, text: str, **values: Any) -> str:
    """``text`` as the app's message catalogue gives it in ``language`` (tests that read what
    the complainant reads must not break when a translation is added or changed)."""
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(language):
        return gettext(text, **values)
