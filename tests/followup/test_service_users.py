"""Follow-ups beyond complainants: a service user's low score (a campaign's too) opens one, about
their service event (service, unit, day), with the unit scoping, the redaction of free text and
the contact data only for admins and only when the person consented; a walk-in answer names
nobody and opens none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Campaign,
    Channel,
    Complainant,
    FollowUp,
    FollowUpReason,
    Invitation,
    InvitationState,
    Service,
    ServiceEvent,
    Webhook,
    WebhookDelivery,
)
from app.respond.services import submit_response
from tests.followup.test_loop import EN, _as
from tests.support.datasets.reports import Data, at
from tests.support.walkin import answer, make_point


def _served_and_invited(data: Data, unit: str, *, consent: bool = True,
                        campaign: bool = False, number: int = 1) -> Invitation:
    person = Complainant(name="Zeynep Kaya", email=f"zeynep{number}@example.org",
                         phone="+90 555 111 2233", survey_consent=consent, language="tr")
    service = db.session.scalar(select(Service).where(Service.code == "ruhsat")) or Service(
        code="ruhsat", name="Yapı ruhsatı")
    event = ServiceEvent(external_id=f"SRV-{number}", occurred_at=at(2025, 3, 14),
                         unit=data.units[unit], service=service, channel=Channel.WEB,
                         person=person)
    invitation = Invitation(service_event=event, version=data.version, sent_at=at(2025, 3, 15),
                            state=InvitationState.SENT, language="tr")
    if campaign:
        invitation.campaign = Campaign(
            key=f"spring-{number}", name="Spring", questionnaire_id=data.version.questionnaire_id,
            served_from=at(2025, 3, 1), served_until=at(2025, 4, 1), closes_at=at(2025, 5, 1))
    db.session.add(invitation)
    db.session.commit()
    return invitation


@pytest.fixture
def data(app) -> Data:
    with app.app_context():
        return Data().setup()


@pytest.fixture
def served(app, data) -> dict[str, int]:
    """Follow-ups of service users: in Fen (consented, a comment), in Zabıta (a campaign's
    sample), and in Fen again from someone who gave no consent to be contacted."""
    with app.app_context():
        fen = submit_response(_served_and_invited(data, "fen"),
                              {"overall": 1, "improve": "Zeynep'i arayın"}, "tr")
        zabita = submit_response(_served_and_invited(data, "zabita", campaign=True, number=2),
                                 {"overall": 2}, "tr")
        silent = submit_response(_served_and_invited(data, "fen", consent=False, number=3),
                                 {"overall": 1, "resolved": "no"}, "tr")
        return {key: db.session.scalar(select(FollowUp.id).where(
            FollowUp.response_id == response.id))
            for key, response in (("fen", fen), ("zabita", zabita), ("silent", silent))}


def test_a_service_users_low_score_opens_a_follow_up_about_the_service(app, served) -> None:
    assert None not in served.values()
    with app.app_context():
        follow_up = db.session.get(FollowUp, served["silent"])
        assert follow_up.complaint_id is None
        assert follow_up.reasons == [FollowUpReason.LOW_SCORE, FollowUpReason.NOT_RESOLVED]
        campaign = db.session.get(FollowUp, served["zabita"])
        assert campaign.unit_id != follow_up.unit_id


def test_admin_sees_the_service_and_the_contact_of_those_who_consented(app, client,
                                                                       served) -> None:
    admin = _as(app, client, "admin@example.org", "admin")
    listing = admin.get("/follow-ups/", headers=EN).get_data(as_text=True)
    assert "Yapı ruhsatı" in listing and "Zabıta" in listing and "Fen İşleri" in listing
    assert "Service of" in listing and "14" in listing
    page = admin.get(f"/follow-ups/{served['fen']}", headers=EN)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Follow-up of a service user" in html and "Yapı ruhsatı" in html
    assert "Fen İşleri" in html and "Zeynep'i arayın" in html.replace("&#39;", "'")
    assert "zeynep1@example.org" in html and "+90 555 111 2233" in html
    silent = admin.get(f"/follow-ups/{served['silent']}", headers=EN).get_data(as_text=True)
    assert "zeynep3@example.org" not in silent and "+90 555" not in silent
    assert "did not consent" in silent


def test_a_unit_manager_sees_their_units_service_follow_ups_without_personal_data(
        app, client, served) -> None:
    manager = _as(app, client, "fen@example.org", "viewer", units=["fen"])
    listing = manager.get("/follow-ups/", headers=EN).get_data(as_text=True)
    assert "Yapı ruhsatı" in listing and "Zabıta" not in listing
    html = manager.get(f"/follow-ups/{served['fen']}", headers=EN).get_data(as_text=True)
    assert "Yapı ruhsatı" in html
    assert "zeynep1@example.org" not in html and "Zeynep Kaya" not in html
    assert "arayın" not in html  # free text is for those who read comments
    assert manager.get(f"/follow-ups/{served['zabita']}").status_code == 404
    home = manager.get("/", headers=EN).get_data(as_text=True)  # their open follow-ups
    assert f"/follow-ups/{served['fen']}\">Yapı ruhsatı</a>" in home and "None" not in home


def test_a_walk_in_answer_opens_no_follow_up_but_fires_the_low_score_webhook(app) -> None:
    point_id, _code = make_point(app)
    with app.app_context():
        db.session.add(Webhook(url="http://127.0.0.1:9/hook", secret="s" * 32,
                               events=["response.low_score"]))
        db.session.commit()
    answer(app, point_id, {"overall": 1, "done": "no"})
    with app.app_context():
        assert db.session.scalar(select(func.count(FollowUp.id))) == 0  # nobody to call back
        [delivery] = db.session.scalars(select(WebhookDelivery)).all()
        assert delivery.event_type == "response.low_score"
        assert delivery.payload["data"]["mode"] == "walk_in"
