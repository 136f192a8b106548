"""A small, hand-countable dataset for the analytics and dashboard tests, inserted as models.

Used by tests/analytics/ (queries, rollup) and tests/dashboards/test_overview.py; its hand counts
are checked by tests/analytics/test_dataset.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from app.extensions import db
from app.models import (
    Answer,
    Category,
    Channel,
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


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Builder:
    """Creates units, complaints, invitations and responses with as little ceremony as possible."""

    units: dict[str, Unit] = field(default_factory=dict)
    category: Category | None = None
    version: QuestionnaireVersion | None = None
    _numbers: itertools.count = field(default_factory=itertools.count)

    def setup(self) -> Builder:
        city = Unit(code="city", name="Belediye")
        self.units = {
            "city": city,
            "fen": Unit(code="fen", name="Fen İşleri", parent=city),
            "park": Unit(code="park", name="Park ve Bahçeler", parent=city),
            "zabita": Unit(code="zabita", name="Zabıta"),
        }
        self.category = Category(code="yol", name="Yol", committed_response_days=10)
        questionnaire = Questionnaire(key="post-resolution", title="After resolution")
        self.version = QuestionnaireVersion(
            questionnaire=questionnaire, number=1, status=VersionStatus.PUBLISHED,
            definition={"key": "post-resolution", "questions": []},
        )
        db.session.add_all([*self.units.values(), self.category, self.version])
        db.session.flush()
        return self

    def complaint(
        self,
        unit: str,
        received: dt.datetime,
        resolved: dt.datetime | None = None,
        due: dt.datetime | None = None,
    ) -> Complaint:
        return make_complaint(
            external_id=f"C-{next(self._numbers)}", received_at=received, channel=Channel.WEB,
            category=self.category, unit=self.units[unit], resolved_at=resolved, due_at=due,
            with_complainant=False, status=ComplaintStatus.RECEIVED, flush=False,
        )

    def invitation(self, unit: str, sent: dt.datetime | None,
                   complaint: Complaint | None = None) -> Invitation:
        # A complaint of its own, received long before, so it does not count in the period.
        complaint = complaint or self.complaint(unit, at(2024, 12, 1))
        invitation = Invitation(
            complaint=complaint, version=self.version, sent_at=sent,
            state=InvitationState.SENT if sent else InvitationState.PLANNED,
        )
        db.session.add(invitation)
        return invitation

    def response(
        self,
        unit: str,
        submitted: dt.datetime,
        overall: float | None = None,
        nps: float | None = None,
        effort: float | None = None,
        resolved: bool | None = None,
        extra: list[Answer] | None = None,
        received: dt.datetime | None = None,
    ) -> Response:
        """A response (with its complaint and an invitation sent an hour before) and answers."""
        complaint = self.complaint(unit, received or submitted - dt.timedelta(days=20))
        invitation = self.invitation(unit, submitted - dt.timedelta(hours=1), complaint)
        invitation.state = InvitationState.RESPONDED
        db.session.flush()  # Response refers to its invitation and complaint by id only
        response = Response(
            invitation_id=invitation.id, version_id=self.version.id,
            questionnaire_id=self.version.questionnaire_id, complaint_id=complaint.id,
            unit_id=self.units[unit].id, category_id=self.category.id, channel=Channel.WEB,
            language="tr", submitted_at=submitted,
        )
        answers = list(extra or [])
        if overall is not None:
            answers.append(Answer(question_key="overall", question_type="rating",
                                  attribute="overall", value_number=overall))
        if nps is not None:
            answers.append(Answer(question_key="recommend", question_type="nps",
                                  attribute="loyalty", value_number=nps))
        if effort is not None:
            answers.append(Answer(question_key="effort", question_type="effort",
                                  attribute="effort", value_number=effort))
        if resolved is not None:
            answers.append(Answer(question_key="resolved", question_type="yes_no",
                                  attribute="resolution", value_number=1 if resolved else 0,
                                  value_choice="yes" if resolved else "no"))
        response.answers = answers
        db.session.add(response)
        return response


# January 2025, unit "fen" (under "city"): six responses, hand-counted below.
FEN_OVERALL = [5, 4, 3, 5, 2, 4]  # satisfied (4-5): 4; sum 23; sum of squares 95
FEN_NPS = [10, 9, 7, 3, 0, 10]  # promoters 3, detractors 2
FEN_EFFORT = [2, 3, 1, 2, 5, 2]  # sum 15; sum of squares 47
FEN_RESOLVED = [True, True, False, True, True, False]  # yes 4 of 6
ZABITA_OVERALL = [1, 5]  # satisfied 1


def build_january(builder: Builder) -> None:
    """Responses, complaints and invitations around January 2025 (UTC)."""
    for i, (overall, nps, effort, resolved) in enumerate(
        zip(FEN_OVERALL, FEN_NPS, FEN_EFFORT, FEN_RESOLVED, strict=True)
    ):
        # Responses' complaints were received in December: they do not count as January's.
        builder.response("fen", at(2025, 1, 3 + 4 * i), overall, nps, effort, resolved,
                         received=at(2024, 12, 10))
    for overall in ZABITA_OVERALL:
        builder.response("zabita", at(2025, 1, 15), overall, received=at(2024, 12, 10))
    # Not CSAT: another attribute, and a skipped overall question.
    builder.response("fen", at(2025, 1, 20), received=at(2024, 12, 10), extra=[
        Answer(question_key="courtesy", question_type="rating", attribute="courtesy",
               value_number=1),
        Answer(question_key="overall", question_type="rating", attribute="overall",
               value_number=None),
    ])
    # Outside January: the end is excluded, the moment before the start too.
    builder.response("fen", at(2025, 2, 1, 0, 0), 1, received=at(2024, 12, 10))
    builder.response("fen", dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), 1,
                     received=at(2024, 12, 10))
    # Four more invitations sent to fen in January that got no answer, one sent in February,
    # one never sent.
    for day in (5, 6, 7, 8):
        builder.invitation("fen", at(2025, 1, day))
    builder.invitation("fen", at(2025, 2, 2))
    builder.invitation("fen", None)
    # Complaints received in January: fen 3 (one resolved on time, one late, one without a
    # due time), park 1 (resolved in February), zabita 1 (received in January, resolved on time).
    builder.complaint("fen", at(2025, 1, 2), resolved=at(2025, 1, 9), due=at(2025, 1, 12))
    builder.complaint("fen", at(2025, 1, 2), resolved=at(2025, 1, 20), due=at(2025, 1, 12))
    builder.complaint("fen", at(2025, 1, 4), resolved=at(2025, 1, 10))
    builder.complaint("park", at(2025, 1, 25), resolved=at(2025, 2, 3), due=at(2025, 2, 4))
    builder.complaint("zabita", at(2025, 1, 6), resolved=at(2025, 1, 7), due=at(2025, 1, 7))
    db.session.commit()
