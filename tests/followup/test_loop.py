"""The closed loop: a low score or "not resolved" puts the response on its unit's follow-up
list (through the real respond service) and fires the webhook; the follow-up pages show each
role what it may see."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.followup.services import follow_up_reasons, open_follow_up_if_needed
from app.models import (
    Answer,
    FollowUp,
    FollowUpNote,
    FollowUpReason,
    FollowUpState,
    Invitation,
    InvitationState,
    Response,
    Webhook,
    WebhookDelivery,
)
from app.respond.services import submit_response
from tests.support.datasets.reports import Data, at
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

EN = {"Accept-Language": "en"}


def _answers(**values: float) -> list[Answer]:
    kinds = {"overall": ("rating", "overall"), "recommend": ("nps", "loyalty"),
             "resolved": ("yes_no", "resolution"), "courtesy": ("rating", "courtesy")}
    return [Answer(question_key=key, question_type=kinds[key][0], attribute=kinds[key][1],
                   value_number=value) for key, value in values.items()]


@pytest.mark.parametrize(("values", "reasons"), [
    ({"overall": 1}, [FollowUpReason.LOW_SCORE]),
    ({"overall": 2, "resolved": 0}, [FollowUpReason.LOW_SCORE, FollowUpReason.NOT_RESOLVED]),
    ({"overall": 5, "recommend": 6}, [FollowUpReason.DETRACTOR]),
    ({"overall": 4, "resolved": 0}, [FollowUpReason.NOT_RESOLVED]),
    ({"overall": 3, "recommend": 7, "resolved": 1}, []),
    ({"overall": 5, "courtesy": 1}, []),  # another attribute is not overall satisfaction
    ({"recommend": 10}, []),
])
def test_reasons(values, reasons) -> None:
    assert follow_up_reasons(_answers(**values)) == reasons


def _invitation(data: Data, unit: str = "fen", email: str = "ayse@example.org") -> Invitation:
    complaint = data.complaint(unit, at(2025, 1, 2), email=email)
    invitation = data.invitation(complaint, at(2025, 1, 5))
    db.session.commit()
    return invitation


@pytest.fixture
def data(app) -> Data:
    with app.app_context():
        data = Data().setup()
        db.session.add(Webhook(url="http://127.0.0.1:9/hook", secret="s" * 32,
                               events=["response.low_score"]))
        db.session.commit()
        return data


def test_a_low_score_opens_a_follow_up_and_fires_the_webhook(app, data) -> None:
    with app.app_context():
        invitation = _invitation(data)
        response = submit_response(invitation, {"overall": 1, "resolved": "no",
                                                "improve": "Beni arayın"}, "tr")
        follow_up = db.session.scalar(db.select(FollowUp))
        assert follow_up is not None
        assert follow_up.response_id == response.id
        assert follow_up.unit_id == data.units["fen"].id
        assert follow_up.state == FollowUpState.OPEN
        assert follow_up.reasons == [FollowUpReason.LOW_SCORE, FollowUpReason.NOT_RESOLVED]
        delivery = db.session.scalar(db.select(WebhookDelivery))
        assert delivery.event_type == "response.low_score"
        payload = delivery.payload["data"]
        assert payload["id"] == response.id and payload["unit"] == "fen"
        assert payload["reasons"] == ["low_score", "not_resolved"]
        assert "Beni arayın" not in str(payload) and "ayse@" not in str(payload)
        # Called again (a retry), nothing doubles.
        assert open_follow_up_if_needed(response).id == follow_up.id
        assert db.session.scalar(db.select(db.func.count(FollowUp.id))) == 1
        assert db.session.scalar(db.select(db.func.count(WebhookDelivery.id))) == 1


def test_a_high_score_opens_nothing(app, data) -> None:
    with app.app_context():
        submit_response(_invitation(data), {"overall": 5, "resolved": "yes",
                                            "recommend": 9}, "tr")
        assert db.session.scalar(db.select(db.func.count(FollowUp.id))) == 0
        assert db.session.scalar(db.select(db.func.count(WebhookDelivery.id))) == 0
        assert db.session.scalar(db.select(Invitation.state)) == InvitationState.RESPONDED


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def follow_ups(app, data) -> dict[str, int]:
    """One follow-up in Fen (with contact data and a comment), one in Zabıta."""
    with app.app_context():
        fen = submit_response(_invitation(data, "fen"), {"overall": 1, "improve": "Kötüydü"},
                              "tr")
        zabita = submit_response(_invitation(data, "zabita", "mehmet@example.org"),
                                 {"overall": 2}, "tr")
        ids = {unit: db.session.scalar(db.select(FollowUp.id).where(
            FollowUp.response_id == response.id)) for unit, response in
            (("fen", fen), ("zabita", zabita))}
        assert db.session.scalar(db.select(db.func.count(Response.id))) == 2
        return ids


def _as(app, client, email: str, role: str, units=None):
    login(client, email, make_user(app, email, role, units=units))
    return client


def test_admin_sees_every_follow_up_and_the_contact(app, client, follow_ups) -> None:
    admin = _as(app, client, "admin@example.org", "admin")
    listing = admin.get("/follow-ups/", headers=EN).get_data(as_text=True)
    assert "Fen İşleri" in listing and "Zabıta" in listing
    page = admin.get(f"/follow-ups/{follow_ups['fen']}", headers=EN)
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "ayse@example.org" in html and "+90 555" in html and "Kötüydü" in html


def test_a_unit_manager_sees_their_units_without_contact_data(app, client, follow_ups) -> None:
    manager = _as(app, client, "fen@example.org", "viewer", units=["city"])  # fen is below city
    listing = manager.get("/follow-ups/", headers=EN).get_data(as_text=True)
    assert "Fen İşleri" in listing and "Zabıta" not in listing
    html = manager.get(f"/follow-ups/{follow_ups['fen']}", headers=EN).get_data(as_text=True)
    assert "C-" in html  # the complaint reference, to find it in the complaint system
    assert "ayse@example.org" not in html and "+90 555" not in html and "Ayşe" not in html
    assert "Kötüydü" not in html  # free text may hold personal data
    assert manager.get(f"/follow-ups/{follow_ups['zabita']}").status_code == 404


def test_viewers_without_units_are_refused(app, client, follow_ups) -> None:
    viewer = _as(app, client, "viewer@example.org", "viewer")
    assert viewer.get("/follow-ups/").status_code == 403
    assert viewer.get(f"/follow-ups/{follow_ups['fen']}").status_code == 403


def test_the_satisfaction_team_sees_what_its_surveys_bring_back(app, client,
                                                                follow_ups) -> None:
    """Designers see every follow-up (every rule is theirs) with the comments, never the
    contact data."""
    designer = _as(app, client, "team@example.org", "designer")
    listing = designer.get("/follow-ups/", headers=EN).get_data(as_text=True)
    assert "Fen İşleri" in listing and "Zabıta" in listing
    html = designer.get(f"/follow-ups/{follow_ups['fen']}", headers=EN).get_data(as_text=True)
    assert "Kötüydü" in html
    assert "ayse@example.org" not in html and "+90 555" not in html


def test_a_manager_changes_the_state_and_adds_notes(app, client, follow_ups) -> None:
    manager = _as(app, client, "fen@example.org", "viewer", units=["fen"])
    url = f"/follow-ups/{follow_ups['fen']}"
    token = csrf_token_from(manager.get(url).get_data(as_text=True))
    assert manager.post(f"{url}/state", data={"state": "contacted"}).status_code == 400  # CSRF
    changed = manager.post(f"{url}/state", data={"state": "contacted", "csrf_token": token})
    assert changed.status_code == 302
    added = manager.post(f"{url}/notes", data={"text": "Aradım, <b>yarın</b> dönecek.",
                                                 "csrf_token": token})
    assert added.status_code == 302
    empty = manager.post(f"{url}/notes", data={"text": "   ", "csrf_token": token}, headers=EN)
    assert empty.status_code == 400
    html = manager.get(url, headers=EN).get_data(as_text=True)
    assert "Aradım, &lt;b&gt;yarın&lt;/b&gt; dönecek." in html
    assert "fen@example.org" in html  # the note's author
    with app.app_context():
        follow_up = db.session.get(FollowUp, follow_ups["fen"])
        assert follow_up.state == FollowUpState.CONTACTED
        assert follow_up.contacted_at is not None
        assert len(follow_up.notes) == 1
    other = manager.post(f"/follow-ups/{follow_ups['zabita']}/state",
                         data={"state": "closed", "csrf_token": token})
    assert other.status_code == 404
    with app.app_context():
        assert db.session.get(FollowUp, follow_ups["zabita"]).state == FollowUpState.OPEN


def test_the_pack_counts_follow_ups_by_state(app, client, follow_ups) -> None:
    import datetime as dt

    from app.analytics.review import follow_up_counts

    with app.app_context():
        db.session.get(FollowUp, follow_ups["zabita"]).state = FollowUpState.CLOSED
        db.session.commit()
        now = dt.datetime.now(dt.UTC)
        counts = follow_up_counts(now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    assert counts.total == 2
    assert counts.by_state == {FollowUpState.OPEN: 1, FollowUpState.CONTACTED: 0,
                               FollowUpState.CLOSED: 1}
    assert counts.by_reason[FollowUpReason.LOW_SCORE] == 2


@pytest.mark.parametrize("text", ["Aradım\x00", "bell\x07"])
def test_a_note_with_nul_or_a_control_character_is_refused_with_a_message(
        app, client, follow_ups, text: str) -> None:
    # PostgreSQL refuses NUL in text (a 500 when stored); refused at the form, nothing stored.
    manager = _as(app, client, "fen@example.org", "viewer", units=["fen"])
    url = f"/follow-ups/{follow_ups['fen']}"
    token = csrf_token_from(manager.get(url).get_data(as_text=True))
    added = manager.post(f"{url}/notes", data={"text": text, "csrf_token": token}, headers=EN)
    assert added.status_code == 400
    assert "control characters" in added.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(FollowUpNote.id))) == 0
