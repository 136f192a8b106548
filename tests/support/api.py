"""Helpers shared by the intake contract tests (this module holds no tests of its own)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models import ApiScope

# Received ten days ago: events up to ten days later are in the past; later ones are refused.
RECEIVED = (dt.datetime.now(dt.UTC) - dt.timedelta(days=10)).replace(microsecond=0)
TURKISH_NAME = "Şükrü Ağaoğlu İnanç Işık"
TURKISH_TEXT = "Çöp konteyneri taşmış; ığdır, İstanbul, ŞĞÜÖÇİı ve şğüöçi — düzeltilsin."


def make_key(app: Flask, *scopes: ApiScope, name: str = "entegrasyon") -> str:
    from app.auth.services import create_api_key

    with app.app_context():
        _, plain = create_api_key(name, list(scopes))
    return plain


class Api:
    """The test client with an API key: ``api.post(path, json=...)`` and so on."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def open(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open("/api/v1" + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("POST", path, **kwargs)


def admin_api(app: Flask) -> Api:
    return Api(app.test_client(), make_key(app, ApiScope.ADMIN, name="yönetici"))


def seed_reference(api: Api) -> None:
    """A small organisation: a directorate with one unit below it, and two categories."""
    for path, body in (
        ("/units/fen", {"name": "Fen İşleri Müdürlüğü", "parent": None}),
        ("/units/fen.yol", {"name": "Yol Bakım Şefliği", "parent": "fen"}),
        ("/categories/temizlik", {"name": "Temizlik", "parent": None,
                                  "committed_response_days": 10}),
        ("/categories/cop", {"name": "Çöp toplama", "parent": "temizlik",
                             "committed_response_days": 3}),
    ):
        response = api.put(path, json=body)
        assert response.status_code == 201, response.get_json()


def complaint_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": "ÇM-2026/0001",
        "received_at": RECEIVED.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat(),
        "channel": "web",
        "category": "cop",
        "unit": "fen.yol",
        "subject": "Çöp alınmadı",
        "description": TURKISH_TEXT,
        "complainant": {
            "name": TURKISH_NAME,
            "email": "sukru.agaoglu@example.com.tr",
            "phone": "+90 532 000 00 00",
            "language": "tr",
            "survey_consent": True,
        },
    }
    body.update(overrides)
    return body


def at(days: float) -> str:
    """An ISO time ``days`` after the complaint was received, written in Istanbul's offset."""
    moment = RECEIVED + dt.timedelta(days=days)
    return moment.astimezone(dt.timezone(dt.timedelta(hours=3))).isoformat()


def error_of(response: TestResponse) -> dict[str, Any]:
    """The error document, after checking that it has the one shape every error has."""
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def invalid_fields(response: TestResponse) -> set[str]:
    assert response.status_code == 422, response.get_json()
    error = error_of(response)
    assert error["code"] == "invalid"
    assert all(detail["message"] for detail in error["details"])
    return {detail["field"] for detail in error["details"]}


# --- survey data inserted as rows (responses come from the respondent pages, not the API) -------

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
        from app.models import Channel, Complaint, ComplaintStatus

        self.number += 1
        complaint = Complaint(
            external_id=f"S-{self.number:04d}", received_at=received, channel=Channel(channel),
            category=self.categories[category], unit=self.units[unit], resolved_at=resolved,
            due_at=due, reopen_count=0,
            status=ComplaintStatus.RESOLVED if resolved else ComplaintStatus.RECEIVED,
        )
        self.db.session.add(complaint)
        return complaint

    def invitation(self, complaint: Any, sent: dt.datetime | None,
                   questionnaire: str = "post-resolution") -> Any:
        from app.models import Invitation, InvitationState

        invitation = Invitation(complaint=complaint, version=self.versions[questionnaire],
                                sent_at=sent, attempts=1 if sent else 0,
                                state=InvitationState.SENT if sent else InvitationState.PLANNED)
        self.db.session.add(invitation)
        return invitation

    def response(self, complaint: Any, submitted: dt.datetime, answers: dict[str, Any],
                 questionnaire: str = "post-resolution") -> Any:
        """A response to ``complaint`` (through an invitation sent an hour before) with
        ``answers`` (question key -> value, as the respondent gave it)."""
        from app.models import Answer, InvitationState, Response

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
                rows.append(Answer(**base, value_text=value))
            else:
                rows.append(Answer(**base, value_number=float(value)))
        response = Response(
            invitation_id=invitation.id, version_id=version.id,
            questionnaire_id=version.questionnaire_id, complaint_id=complaint.id,
            unit_id=complaint.unit.id, category_id=complaint.category.id,
            channel=complaint.channel, language="tr", submitted_at=submitted, answers=rows,
        )
        self.db.session.add(response)
        return response

    def commit(self) -> None:
        self.db.session.commit()
