"""A small dataset for the reports, alerts and follow-up tests, inserted as models.

Used by tests/reports/ (pack, exports, targets, alerts), tests/followup/ and the access tests of
tests/reliability/.
Unit tree: city > (fen, park); zabita on its own. Categories: yol, temizlik, gurultu.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert

from app.extensions import db
from app.models import (
    Answer,
    Category,
    Channel,
    Complainant,
    Complaint,
    ComplaintStatus,
    Invitation,
    InvitationState,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    Unit,
    VersionStatus,
)
from tests.support.factories import make_complaint

UTC = dt.UTC
DEFINITION = {
    "key": "post-resolution",
    "languages": ["tr", "en"],
    "questions": [
        {"key": "overall", "type": "rating", "attribute": "overall"},
        {"key": "resolved", "type": "yes_no", "attribute": "resolution"},
        {"key": "recommend", "type": "nps", "attribute": "loyalty"},
        {"key": "improve", "type": "text"},
    ],
}


def at(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class Data:
    units: dict[str, Unit] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    version: QuestionnaireVersion | None = None
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def setup(self, unit_names: dict[str, str] | None = None) -> Data:
        names = {"city": "Belediye", "fen": "Fen İşleri", "park": "Park ve Bahçeler",
                 "zabita": "Zabıta", **(unit_names or {})}
        city = Unit(code="city", name=names["city"])
        self.units = {
            "city": city,
            "fen": Unit(code="fen", name=names["fen"], parent=city),
            "park": Unit(code="park", name=names["park"], parent=city),
            "zabita": Unit(code="zabita", name=names["zabita"]),
        }
        self.categories = {
            code: Category(code=code, name=name, committed_response_days=10)
            for code, name in (("yol", "Yol ve kaldırım"), ("temizlik", "Temizlik"),
                               ("gurultu", "Gürültü"))
        }
        questionnaire = Questionnaire(key="post-resolution", title="After resolution")
        self.version = QuestionnaireVersion(
            questionnaire=questionnaire, number=1, status=VersionStatus.PUBLISHED,
            definition=DEFINITION,
        )
        db.session.add_all([*self.units.values(), *self.categories.values(), self.version])
        db.session.commit()
        return self

    def complaint(self, unit: str, received: dt.datetime, resolved: dt.datetime | None = None,
                  due: dt.datetime | None = None, category: str = "yol",
                  email: str | None = None) -> Complaint:
        complainant = None
        if email:
            complainant = Complainant(name="Ayşe Yılmaz", email=email, phone="+90 555 000 0000",
                                      survey_consent=True)
        return make_complaint(
            external_id=f"C-{next(self._numbers)}", received_at=received, channel=Channel.WEB,
            category=self.categories[category], unit=self.units[unit], resolved_at=resolved,
            due_at=due, complainant=complainant, status=ComplaintStatus.RECEIVED, flush=False,
        )

    def invitation(self, complaint: Complaint, sent: dt.datetime | None,
                   state: InvitationState = InvitationState.SENT) -> Invitation:
        invitation = Invitation(complaint=complaint, version=self.version, sent_at=sent,
                                state=state, language="tr")
        db.session.add(invitation)
        return invitation

    def response(self, unit: str, submitted: dt.datetime, overall: float | None = None,
                 nps: float | None = None, resolved: bool | None = None,
                 comment: str | None = None, category: str = "yol",
                 received: dt.datetime | None = None, email: str | None = None) -> Response:
        """A response with its complaint (received 20 days before unless given) and an
        invitation sent an hour before it."""
        complaint = self.complaint(unit, received or submitted - dt.timedelta(days=20),
                                   category=category, email=email)
        invitation = self.invitation(complaint, submitted - dt.timedelta(hours=1),
                                     InvitationState.RESPONDED)
        db.session.flush()
        response = Response(
            invitation_id=invitation.id, version_id=self.version.id,
            questionnaire_id=self.version.questionnaire_id, complaint_id=complaint.id,
            unit_id=self.units[unit].id, category_id=self.categories[category].id,
            channel=Channel.WEB, language="tr", submitted_at=submitted,
        )
        answers = []
        if overall is not None:
            answers.append(Answer(question_key="overall", question_type="rating",
                                  attribute="overall", value_number=overall))
        if resolved is not None:
            answers.append(Answer(question_key="resolved", question_type="yes_no",
                                  attribute="resolution", value_number=1 if resolved else 0,
                                  value_choice="yes" if resolved else "no"))
        if nps is not None:
            answers.append(Answer(question_key="recommend", question_type="nps",
                                  attribute="loyalty", value_number=nps))
        if comment is not None:
            answers.append(Answer(question_key="improve", question_type="text",
                                  value_text=comment))
        response.answers = answers
        db.session.add(response)
        return response

    def bulk_responses(self, unit: str, submitted: dt.datetime, overall: list[int],
                       category: str = "yol", received: dt.datetime | None = None) -> None:
        """Many responses fast (Core inserts): one complaint (received 20 days before unless
        given), invitation and overall answer each."""
        received = received or submitted - dt.timedelta(days=20)
        unit_id, category_id = self.units[unit].id, self.categories[category].id
        base = next(self._numbers) * 1_000_000
        complaints = [{"external_id": f"B-{base + i}", "source": "default",
                       "received_at": received, "channel": "web",
                       "category_id": category_id, "unit_id": unit_id, "status": "resolved",
                       "reopen_count": 0, "created_at": submitted, "updated_at": submitted}
                      for i in range(len(overall))]
        ids = _insert_returning_ids(Complaint, complaints, "external_id")
        invitations = [{"complaint_id": cid, "version_id": self.version.id,
                        "state": "responded", "language": "tr", "attempts": 0,
                        "sent_at": submitted - dt.timedelta(hours=1), "created_at": submitted}
                       for cid in ids]
        invitation_ids = _insert_returning_ids(Invitation, invitations, "complaint_id")
        responses = [{"invitation_id": iid, "version_id": self.version.id,
                      "questionnaire_id": self.version.questionnaire_id, "complaint_id": cid,
                      "unit_id": unit_id, "category_id": category_id, "channel": "web",
                      "language": "tr", "submitted_at": submitted + dt.timedelta(seconds=i)}
                     for i, (iid, cid) in enumerate(zip(invitation_ids, ids, strict=True))]
        response_ids = _insert_returning_ids(Response, responses, "invitation_id")
        _insert_in_statements(Answer, [
            {"response_id": rid, "question_key": "overall", "question_type": "rating",
             "attribute": "overall", "value_number": value}
            for rid, value in zip(response_ids, overall, strict=True)
        ])
        db.session.commit()


def _insert_in_statements(model: Any, rows: list[dict[str, Any]], per_statement: int = 1000
                          ) -> None:
    """Multi-row INSERTs. A list of parameters would run one statement per row on psycopg,
    and PostgreSQL's statement-level rollup trigger would then update the same rollup rows once
    per row inside one transaction: quadratic (2,500 answers took minutes)."""
    for start in range(0, len(rows), per_statement):
        db.session.execute(insert(model).values(rows[start:start + per_statement]))


def _insert_returning_ids(model: Any, rows: list[dict[str, Any]], order_by: str) -> list[int]:
    """Insert ``rows`` and return their ids in the order given (matched on ``order_by``)."""
    _insert_in_statements(model, rows)
    column = getattr(model, order_by)
    keys = [row[order_by] for row in rows]
    found = dict(db.session.execute(
        db.select(column, model.id).where(column.in_(keys))).all())
    return [found[key] for key in keys]


def build_january(data: Data) -> None:
    """January 2025 (UTC) for the pack tests.

    fen: 6 responses, overall [5, 4, 3, 5, 2, 4] (satisfied 4 of 6), resolved 4 of 6,
         NPS [10, 9, 7, 3, 0, 10] (promoters 3, detractors 2);
    park: 2 responses (too few: suppressed), overall [1, 5];
    zabita: 5 responses, overall [5, 5, 4, 2, 4] (satisfied 4 of 5), category temizlik.
    Complaints received in January besides the responses' (received in December):
    fen 3 yol (2 with a due time: one on time, one late), zabita 2 temizlik (both on time),
    park 1 gurultu (resolved in February).
    """
    december = at(2024, 12, 10)
    fen = zip([5, 4, 3, 5, 2, 4], [True, True, False, True, True, False],
              [10, 9, 7, 3, 0, 10], strict=True)
    for i, (overall, resolved, nps) in enumerate(fen):
        data.response("fen", at(2025, 1, 3 + 4 * i), overall, nps, resolved, received=december)
    for overall in (1, 5):
        data.response("park", at(2025, 1, 15), overall, received=december)
    for overall in (5, 5, 4, 2, 4):
        data.response("zabita", at(2025, 1, 20), overall, category="temizlik",
                      received=december)
    data.complaint("fen", at(2025, 1, 2), resolved=at(2025, 1, 9), due=at(2025, 1, 12))
    data.complaint("fen", at(2025, 1, 2), resolved=at(2025, 1, 20), due=at(2025, 1, 12))
    data.complaint("fen", at(2025, 1, 4), resolved=at(2025, 1, 10))
    data.complaint("zabita", at(2025, 1, 6), resolved=at(2025, 1, 7), due=at(2025, 1, 7),
                   category="temizlik")
    data.complaint("zabita", at(2025, 1, 8), resolved=at(2025, 1, 10), due=at(2025, 1, 18),
                   category="temizlik")
    data.complaint("park", at(2025, 1, 25), resolved=at(2025, 2, 3), due=at(2025, 2, 4),
                   category="gurultu")
    db.session.commit()
