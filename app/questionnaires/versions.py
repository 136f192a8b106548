"""What the published versions of a questionnaire asked: which versions' answers to a question
may be counted together: analytics puts only those on one trend line, never answers given on
another scale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Questionnaire, QuestionnaireVersion, VersionStatus
from app.questionnaires.documents import question_index


def question_scale_history(questionnaire_key: str, question_key: str, *,
                           include_drafts: bool = False) -> list[tuple[int, str]]:
    """(version number, question type) for every published version that asks ``question_key``,
    oldest first; drafts too with ``include_drafts``. Versions without the key are left out."""
    query = (
        select(QuestionnaireVersion)
        .join(Questionnaire)
        .where(Questionnaire.key == questionnaire_key)
        .order_by(QuestionnaireVersion.number)
    )
    if not include_drafts:
        query = query.where(QuestionnaireVersion.status == VersionStatus.PUBLISHED)
    history = []
    for version in db.session.scalars(query):
        question = _question_of(version.definition, question_key)
        if question is not None:
            history.append((version.number, str(question.get("type"))))
    return history


def comparable_versions(questionnaire_key: str, question_key: str) -> list[int]:
    """The published versions whose ``question_key`` has the same type as in the newest published
    version that asks it: the answers analytics may put on one trend line. Empty when no
    published version asks it."""
    history = question_scale_history(questionnaire_key, question_key)
    if not history:
        return []
    latest_type = history[-1][1]
    return [number for number, kind in history if kind == latest_type]


def _question_of(definition: dict[str, Any], key: str) -> dict[str, Any] | None:
    index = question_index(definition, key)
    return None if index is None else definition["questions"][index]
