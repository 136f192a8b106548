"""Survey data inserted as rows (responses come from the respondent pages, not the API), for the
API tests (metrics, rules) and the webhook tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.support.factories import make_complaint


def utc(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


class SurveyData:
    """Units, categories, a questionnaire, and complaints with invitations and responses.

    Use inside an app context; ``commit()`` at the end.
    """

    QUESTIONS = [
        {"key": "overall", "type": "rating", "attribute": "overall"},
        {"key": "recommend", "type": "nps", "attribute": "loyalty"},
        {"key": "effort", "type": "effort", "attribute": "effort"},
        {"key": "resolved", "type": "yes_no", "attribute": "resolution"},
        {"key": "topics", "type": "multi_choice", "attribute": None},
        {"key": "comment", "type": "text", "attribute": None},
    ]

    def __init__(self) -> None:
        from sqlalchemy import func, select

        from app.extensions import db
        from app.models import (
            Category,
            Complaint,
            Questionnaire,
            QuestionnaireVersion,
            Unit,
            VersionStatus,
        )

        self.db = db
        self.number = db.session.scalar(select(func.count()).select_from(Complaint)) or 0
        if db.session.scalar(select(Unit).where(Unit.code == "fen")) is not None:
            # Made before in this database: use those rows.
            self.units = {u.code: u for u in db.session.scalars(select(Unit))}
            self.categories = {c.code: c for c in db.session.scalars(select(Category))}
            self.versions = {v.questionnaire.key: v
                             for v in db.session.scalars(select(QuestionnaireVersion))}
            return
        fen = Unit(code="fen", name="Fen İşleri Müdürlüğü")
        self.units = {
            "fen": fen,
            "fen.yol": Unit(code="fen.yol", name="Yol Bakım Şefliği", parent=fen),
            "park": Unit(code="park", name="Park ve Bahçeler"),
            "zabita": Unit(code="zabita", name="Zabıta"),
        }
        temizlik = Category(code="temizlik", name="Temizlik", committed_response_days=10)
        self.categories = {
            "temizlik": temizlik,
            "cop": Category(code="cop", name="Çöp toplama", parent=temizlik),
            "yol": Category(code="yol", name="Yol", committed_response_days=5),
        }
        self.versions = {}
        for key in ("post-resolution", "nps-relationship"):
            questionnaire = Questionnaire(key=key, title=key)
            self.versions[key] = QuestionnaireVersion(
                questionnaire=questionnaire, number=1, status=VersionStatus.PUBLISHED,
                definition={"key": key, "languages": ["tr", "en"], "questions": self.QUESTIONS},
            )
        db.session.add_all([*self.units.values(), *self.categories.values(),
                            *self.versions.values()])
        db.session.flush()

    def complaint(self, unit: str, received: dt.datetime, *, category: str = "cop",
                  channel: str = "web", resolved: dt.datetime | None = None,
                  due: dt.datetime | None = None) -> Any:
        from app.models import ComplaintStatus

        self.number += 1
        return make_complaint(
            external_id=f"S-{self.number:04d}", received_at=received, channel=channel,
            category=self.categories[category], unit=self.units[unit], resolved_at=resolved,
            due_at=due, reopen_count=0, with_complainant=False,
            status=ComplaintStatus.RESOLVED if resolved else ComplaintStatus.RECEIVED, flush=False,
        )

    def invitation(self, complaint: Any, sent: dt.datetime | None,
                   questionnaire: str = "post-resolution") -> Any:
        from app.models import Invitation, InvitationState

        invitation = Invitation(complaint=complaint, version=self.versions[questionnaire],
                                sent_at=sent, attempts=1 if sent else 0,
                                state=InvitationState.SENT if sent else InvitationState.PLANNED)
        self.db.session.add(invitation)
        return invitation

    def response(self, complaint: Any, submitted: dt.datetime, answers: dict[str, Any],
                 questionnaire: str = "post-resolution", language: str = "tr") -> Any:
        """A response to ``complaint`` (through an invitation sent an hour before) with
        ``answers`` (question key -> value, as the respondent gave it)."""
        from app.models import Answer, InvitationState, Response
        from app.wordforms import search_terms

        invitation = self.invitation(complaint, submitted - dt.timedelta(hours=1), questionnaire)
        invitation.state = InvitationState.RESPONDED
        invitation.responded_at = submitted
        self.db.session.flush()
        version = self.versions[questionnaire]
        types = {q["key"]: q for q in self.QUESTIONS}
        rows = []
        for key, value in answers.items():
            question = types[key]
            base = {"question_key": key, "question_type": question["type"],
                    "attribute": question["attribute"]}
            if question["type"] == "multi_choice":
                rows += [Answer(**base, value_choice=choice) for choice in value]
            elif question["type"] == "yes_no":
                rows.append(Answer(**base, value_choice=value,
                                   value_number=1.0 if value == "yes" else 0.0))
            elif question["type"] == "text":
                rows.append(Answer(**base, value_text=value,
                                   search_terms=search_terms(value, language)))
            else:
                rows.append(Answer(**base, value_number=float(value)))
        response = Response(
            invitation_id=invitation.id, version_id=version.id,
            questionnaire_id=version.questionnaire_id, complaint_id=complaint.id,
            unit_id=complaint.unit.id, category_id=complaint.category.id,
            channel=complaint.channel, language=language, submitted_at=submitted, answers=rows,
        )
        self.db.session.add(response)
        return response

    def commit(self) -> None:
        self.db.session.commit()
