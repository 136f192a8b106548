"""Complainant e-mail addresses are stored in one normalised form (app/emails.py), whichever way
they come in (API, batch, CSV), and people are recognised by it: the opt-out, the fatigue
window and the privacy lookups treat every spelling of one address as one person. The data
migration that normalises stored addresses is tested in tests/system/test_migrations.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from app.emails import email_key, normalise_email
from app.extensions import db
from app.models import (
    Complainant,
    Complaint,
    DistributionRule,
    Invitation,
    Questionnaire,
    QuestionnaireVersion,
    VersionStatus,
)
from tests.support.api import Api, admin_api, at, complaint_body, seed_reference

STORED = "ayşe.yilmaz@örnek.com.tr"
#: The same mailbox as ``STORED``, written as senders write it.
SPELLINGS = [
    "Ayşe.Yilmaz@ÖRNEK.com.tr",  # upper-case domain, with a non-ASCII capital
    "AYşE.YILMAZ@xn--rnek-4qa.com.tr",  # the domain in its ASCII (punycode) form
    "  ays\u0327e.yilmaz@Örnek.COM.TR ",  # ş as s + combining cedilla (NFD), blanks around
]


@pytest.fixture
def api(app: Any) -> Api:
    api = admin_api(app)
    seed_reference(api)
    return api


def _stored(app: Any) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Complainant.email).order_by(Complainant.id)))


def _person(email: str) -> dict[str, Any]:
    return {"name": "Ayşe Yılmaz", "email": email, "language": "tr", "survey_consent": True}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_rule(spelling: str) -> None:
    assert normalise_email(spelling) == STORED
    assert email_key(spelling) == STORED
    assert email_key(" Not An Address ") == "not an address"  # looked up as stored before


def test_the_api_stores_every_spelling_in_one_form(app: Any, api: Api) -> None:
    for number, spelling in enumerate(SPELLINGS):
        response = api.post(
            "/complaints",
            json=complaint_body(external_id=f"E-{number}", complainant=_person(spelling)),
        )
        assert response.status_code == 201, response.get_json()
    batch = api.post(
        "/complaints/batch",
        json={
            "complaints": [
                complaint_body(external_id=f"B-{number}", complainant=_person(spelling))
                for number, spelling in enumerate(SPELLINGS)
            ]
        },
    )
    assert batch.status_code == 200, batch.get_json()
    assert _stored(app) == [STORED]  # one person, same data: one row for all six complaints


def test_the_csv_import_stores_the_normalised_form(app: Any, api: Api) -> None:
    from app.intake.csv_import import import_csv

    header = (
        "external_id,received_at,channel,category,unit,complainant_name,"
        "complainant_email,survey_consent"
    )
    rows = [
        f"C-{n},2025-03-01T09:00:00+03:00,web,cop,fen,Ayşe Yılmaz,{spelling.strip()},yes"
        for n, spelling in enumerate(SPELLINGS)
    ]
    with app.app_context():
        report = import_csv("complaints", "\n".join([header, *rows]).encode(), actor="test")
    assert not report.problems and report.stored == len(SPELLINGS), report.problems
    assert set(_stored(app)) == {STORED}


def test_an_opt_out_follows_the_person_whatever_the_spelling(app: Any, api: Api) -> None:
    first = api.post(
        "/complaints", json=complaint_body(external_id="O-1", complainant=_person(SPELLINGS[0]))
    )
    with app.app_context():
        person = db.session.scalars(select(Complainant)).one()
        person.opted_out_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        db.session.commit()
    # Another complaint of hers with other details: a new row, which keeps her opt-out.
    second = api.post(
        "/complaints",
        json=complaint_body(
            external_id="O-2", complainant={**_person(SPELLINGS[1]), "language": "en"}
        ),
    )
    assert (first.status_code, second.status_code) == (201, 201)
    with app.app_context():
        rows = db.session.scalars(select(Complainant).order_by(Complainant.id)).all()
        assert len(rows) == 2 and all(row.opted_out_at is not None for row in rows)


def test_privacy_finds_the_person_by_any_spelling(app: Any, api: Api) -> None:
    from app.privacy.services import complainants_with_email, erase_person

    for number, spelling in enumerate(SPELLINGS):
        api.post(
            "/complaints",
            json=complaint_body(
                external_id=f"P-{number}", complainant={**_person(spelling), "name": f"A{number}"}
            ),
        )
    with app.app_context():
        assert len(complainants_with_email("AYşE.yilmaz@XN--RNEK-4QA.COM.TR")) == 3
        assert erase_person(SPELLINGS[2]).complainants == 3
    assert _stored(app) == [None, None, None]


def test_the_fatigue_window_counts_every_spelling_as_one_person(app: Any, api: Api) -> None:
    with app.app_context():
        questionnaire = Questionnaire(key="post-resolution", title="Memnuniyet")
        db.session.add_all(
            [
                QuestionnaireVersion(
                    questionnaire=questionnaire,
                    number=1,
                    status=VersionStatus.PUBLISHED,
                    published_at=dt.datetime.now(dt.UTC),
                    definition={"key": "post-resolution", "languages": ["tr"], "questions": []},
                ),
                DistributionRule(
                    key="default",
                    questionnaire=questionnaire,
                    delay_minutes=0,
                    send_window_start="00:00",
                    send_window_end="23:59",
                    fatigue_days=30,
                ),
            ]
        )
        db.session.commit()
    for number, spelling in enumerate(SPELLINGS[:2]):
        created = api.post(
            "/complaints",
            json=complaint_body(
                external_id=f"F-{number}",
                complainant={**_person(spelling), "name": f"Ayşe {number}"},
            ),
        )
        ref = created.get_json()["id"]
        resolved = api.post(f"/complaints/{ref}/events", json={"type": "resolved", "at": at(1)})
        assert resolved.status_code in (200, 201), resolved.get_json()
    with app.app_context():
        states = db.session.execute(
            select(Invitation.state, Invitation.suppression_reason)
            .join(Complaint)
            .order_by(Complaint.id)
        ).all()
    assert [(s.value, r and r.value) for s, r in states] == [
        ("planned", None),
        ("suppressed", "fatigue"),
    ]
