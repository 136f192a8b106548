"""The respondent's side as the tests drive it: an invited complaint (``invite``), the e-mail
link (``open_link``), the survey form (``form_fields``, ``post_survey``, ``GOOD_ANSWERS``), and
what was stored (``responses_of``, ``answers_of``, ``invitation_of``)."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.distribution.tokens import assign_token
from app.emails import email_key
from app.extensions import db
from app.models import (
    Category,
    Channel,
    Complainant,
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

DEFINITION: dict[str, Any] = {
    "key": "respond-test",
    "languages": ["tr", "en"],
    "title": {"tr": "Şikâyetinizi nasıl ele aldık?", "en": "How did we handle your complaint?"},
    "intro": {"tr": "Birkaç kısa soru.", "en": "A few short questions."},
    "thanks": {
        "tr": "Teşekkürler, yanıtlarınız bize ulaştı.",
        "en": "Thank you, your answers reached us.",
    },
    "questions": [
        {
            "key": "overall",
            "type": "rating",
            "required": True,
            "attribute": "overall",
            "email_embed": True,
            "text": {
                "tr": "Şikâyetinizin ele alınışından genel olarak ne kadar memnunsunuz?",
                "en": "Overall, how satisfied are you with how your complaint was handled?",
            },
            "labels": {
                "low": {"tr": "Hiç memnun değilim", "en": "Very dissatisfied"},
                "high": {"tr": "Çok memnunum", "en": "Very satisfied"},
            },
        },
        {
            "key": "resolved",
            "type": "yes_no",
            "required": True,
            "attribute": "resolution",
            "text": {
                "tr": "Sorununuz gerçekten çözüldü mü?",
                "en": "Was your problem really solved?",
            },
        },
        {
            "key": "effort",
            "type": "effort",
            "attribute": "effort",
            "text": {
                "tr": "Sonuç almak ne kadar kolaydı?",
                "en": "How easy was it to get a result?",
            },
        },
        {
            "key": "recommend",
            "type": "nps",
            "attribute": "loyalty",
            "text": {"tr": "Bizi bir yakınınıza önerir misiniz?", "en": "Would you recommend us?"},
        },
        {
            "key": "contact",
            "type": "single_choice",
            "attribute": "channel",
            "text": {"tr": "Size nasıl ulaştık?", "en": "How did we reach you?"},
            "options": [
                {"key": "phone", "label": {"tr": "Telefon", "en": "Phone"}},
                {"key": "letter", "label": {"tr": "Mektup", "en": "Letter"}},
            ],
        },
        {
            "key": "channels",
            "type": "multi_choice",
            "attribute": "access",
            "text": {"tr": "Hangi kanalları kullandınız?", "en": "Which channels did you use?"},
            "options": [
                {"key": "phone", "label": {"tr": "Telefon", "en": "Phone"}},
                {"key": "web", "label": {"tr": "İnternet", "en": "Web"}},
                {"key": "visit", "label": {"tr": "Ziyaret", "en": "Visit"}},
            ],
        },
        {
            "key": "comment",
            "type": "text",
            "attribute": "comment",
            "max_length": 200,
            "text": {"tr": "Eklemek istediğiniz bir şey var mı?", "en": "Anything to add?"},
        },
        {
            "key": "why",
            "type": "text",
            "required": True,
            "attribute": "reason",
            "max_length": 50,
            "show_if": "overall <= 2",
            "text": {"tr": "Neden memnun kalmadınız?", "en": "Why were you not satisfied?"},
        },
    ],
}


@dataclass
class Invited:
    token: str
    invitation_id: int
    complaint_id: int
    complainant_id: int | None


def _setting(app: Flask, definition: dict[str, Any]) -> tuple[int, int, int]:
    """The unit, category and published version (one per definition key) of a test."""
    with app.app_context():
        version = db.session.scalar(
            select(QuestionnaireVersion)
            .join(Questionnaire)
            .where(Questionnaire.key == definition["key"])
        )
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "fen"))
        category_id = db.session.scalar(select(Category.id).where(Category.code == "yol"))
        if unit_id is None:
            unit = Unit(code="fen", name="Fen İşleri")
            category = Category(code="yol", name="Yol ve kaldırım", committed_response_days=10)
            db.session.add_all([unit, category])
            db.session.flush()
            unit_id, category_id = unit.id, category.id
        if version is None:
            questionnaire = Questionnaire(key=definition["key"], title=definition["key"])
            version = QuestionnaireVersion(
                questionnaire=questionnaire,
                number=1,
                status=VersionStatus.PUBLISHED,
                definition=definition,
                published_at=dt.datetime.now(dt.UTC),
            )
            db.session.add(version)
        db.session.commit()
        return unit_id, category_id, version.id


def invite(
    app: Flask,
    *,
    external_id: str = "CMP-2026-0001",
    language: str = "tr",
    state: InvitationState = InvitationState.SENT,
    expires_in_days: float = 14,
    email: str | None = "ayse@example.com",
    complainant_id: int | None = None,
    definition: dict[str, Any] = DEFINITION,
) -> Invited:
    """A resolved complaint with a sent survey invitation, as planner and dispatcher leave it."""
    unit_id, category_id, version_id = _setting(app, definition)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        if complainant_id is None:
            person = Complainant(
                name="Ayşe Yılmaz", email=email_key(email) if email else email,
                language=language, survey_consent=True
            )
            db.session.add(person)
            db.session.flush()
            complainant_id = person.id
        complaint = make_complaint(
            external_id=external_id,
            received_at=dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
            channel=Channel.WEB,
            category=None,
            category_id=category_id,
            unit=None,
            unit_id=unit_id,
            with_complainant=False,
            complainant_id=complainant_id,
            subject="Kaldırım kırık",
            description="Sokağımızdaki kaldırım aylardır kırık.",
            status=ComplaintStatus.RESOLVED,
            resolved_at=now - dt.timedelta(days=1),
        )
        invitation = Invitation(
            complaint_id=complaint.id,
            version_id=version_id,
            state=state,
            language=language,
            due_at=now - dt.timedelta(hours=2),
            sent_at=now - dt.timedelta(hours=1),
            expires_at=now + dt.timedelta(days=expires_in_days),
        )
        db.session.add(invitation)
        db.session.flush()
        token = assign_token(invitation)
        db.session.commit()
        return Invited(token, invitation.id, complaint.id, complainant_id)


def responses_of(app: Flask, invitation_id: int) -> list[Response]:
    with app.app_context():
        found = db.session.scalars(
            select(Response).where(Response.invitation_id == invitation_id)
        ).all()
        for response in found:
            _ = [(a.question_key, a.value_number) for a in response.answers]  # load them
        return list(found)


def answers_of(response: Response) -> dict[str, Any]:
    """question key -> the stored value (a list of choices for a multiple choice)."""
    answers: dict[str, Any] = {}
    for a in response.answers:
        value = a.value_text if a.value_text is not None else (
            a.value_choice if a.value_choice is not None else a.value_number
        )
        if a.question_type == "multi_choice":
            answers.setdefault(a.question_key, []).append(value)
        else:
            answers[a.question_key] = value
    return answers


def invitation_of(app: Flask, invitation_id: int) -> Invitation:
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation is not None
        db.session.expunge(invitation)
        return invitation


def checked_value(page: str, key: str) -> list[str]:
    """The values of the checked inputs named ``key`` in the survey form of the page."""
    survey_form = page[page.index('class="survey"'):] if 'class="survey"' in page else page
    inputs = re.findall(r"<input[^>]*>", survey_form)
    return [
        re.search(r'value="([^"]*)"', tag).group(1)
        for tag in inputs
        if f'name="{key}"' in tag and re.search(r"\bchecked\b", tag)
    ]


def textarea_content(page: str, key: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{key}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {key}"
    return html.unescape(match.group(1))


def form_fields(page: str, form_class: str) -> tuple[str, dict[str, str]]:
    """The action and the hidden fields of the form with this class."""
    match = re.search(
        rf'<form method="post" action="([^"]+)" class="[^"]*\b{form_class}\b[^"]*"[^>]*>'
        r"(.*?)</form>",
        page,
        re.S,
    )
    assert match, f"no form {form_class} in the page"
    hidden = {}
    for tag in re.findall(r"<input[^>]*>", match.group(2)):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            hidden[name] = html.unescape(re.search(r'value="([^"]*)"', tag).group(1))
    return html.unescape(match.group(1)), hidden


GOOD_ANSWERS = {
    "overall": "5",
    "resolved": "yes",
    "effort": "2",
    "recommend": "9",
    "contact": "letter",
    "channels": ["phone", "visit"],
    "comment": "Hızlı döndünüz,\r\nteşekkürler.",
}


def open_link(client: Any, token: str, query: str = "") -> Any:
    """Open the e-mail link as a browser does: on to the clean address it redirects to."""
    return client.get(f"/s/{token}{query}", follow_redirects=True)


def post_survey(client: Any, token: str, answers: dict[str, Any], query: str = "") -> Any:
    """Open the link, then send the survey form with ``answers`` where the form says."""
    page = open_link(client, token, query).get_data(as_text=True)
    action, hidden = form_fields(page, "survey")
    return client.post(action, data={**hidden, **answers})


def lost_page(response: Any) -> bool:
    return response.status_code == 404 and "Lütfen e-postadaki bağlantıyı yeniden açın." in (
        response.get_data(as_text=True)
    )


ANSWERED = "Bu anketi zaten yanıtladınız"
CLOSED = "Bu anket kapanmıştır"
