"""The lookup's world: an organisation with two directorates, a rule on the shipped
post-resolution questionnaire, and complaints resolved
through the REST API as the complaint system resolves them (so their invitation is planned by
the planner, not made by hand)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, Invitation
from tests.support.api import Api, complaint_body
from tests.support.distribution import make_rule

ORGANISATION = (
    ("/units/fen", {"name": "Fen İşleri Müdürlüğü", "parent": None}),
    ("/units/fen.yol", {"name": "Yol Bakım Şefliği", "parent": "fen"}),
    ("/units/zabita", {"name": "Zabıta Müdürlüğü", "parent": None}),
    ("/categories/temizlik", {"name": "Temizlik", "parent": None, "committed_response_days": 10}),
    (
        "/categories/cop",
        {"name": "Çöp toplama", "parent": "temizlik", "committed_response_days": 3},
    ),
)


def seed_organisation(app: Flask, api: Api, **rule: Any) -> None:
    """Units, categories (through the API) and one rule on the post-resolution questionnaire:
    24 hours after the resolution, 09:00-20:00 Istanbul, unless ``rule`` says otherwise."""
    for path, body in ORGANISATION:
        response = api.put(path, json=body)
        assert response.status_code in (200, 201), response.get_json()
    from app.design.services import install_template, template_paths

    with app.app_context():
        shipped = next(path for path in template_paths() if path.stem == "post-resolution")
        make_rule("after-resolution", install_template(shipped), **rule)
        db.session.commit()


def resolve_through_api(
    api: Api,
    reference: str,
    unit: str = "fen.yol",
    email: str = "sukru@example.com.tr",
    language: str = "tr",
    subject: str = "Çöp alınmadı",
) -> None:
    """A complaint received two days ago and resolved just now, through the API."""
    received = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    body = complaint_body(
        external_id=reference, unit=unit, subject=subject, received_at=received.isoformat()
    )
    body["complainant"] = {**body["complainant"], "email": email, "language": language}
    created = api.post("/complaints", json=body)
    assert created.status_code == 201, created.get_json()
    resolved = api.post(
        f"/complaints/ext:{reference}/events",
        json={"type": "resolved", "at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()},
    )
    assert resolved.status_code in (200, 201), resolved.get_json()


def ids_of(app: Flask, reference: str) -> tuple[int, int]:
    """(complaint id, its latest invitation's id)."""
    with app.app_context():
        complaint_id = db.session.scalar(
            select(Complaint.id).where(Complaint.external_id == reference)
        )
        invitation_id = db.session.scalar(
            select(Invitation.id)
            .where(Invitation.complaint_id == complaint_id)
            .order_by(Invitation.id.desc())
        )
        assert complaint_id is not None and invitation_id is not None
        return complaint_id, invitation_id
