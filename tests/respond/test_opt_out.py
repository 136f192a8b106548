"""Opting out from a survey link: GET only asks, POST cancels every pending survey of the person.
Also the services' guarantees that the pages rely on."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AuditLog, Complainant, Invitation, InvitationState, Response
from app.respond.services import (
    AlreadyAnswered,
    SurveyClosed,
    answer_rows,
    partial_answers,
    save_first_answer,
    submit_response,
)
from tests.support.respond import (
    DEFINITION,
    GOOD_ANSWERS,
    form_fields,
    invitation_of,
    invite,
    lost_page,
    post_survey,
)


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    """The product's default language: pages reached without an invitation speak Turkish."""
    return make_app(BABEL_DEFAULT_LOCALE="tr")


pytestmark = pytest.mark.usefixtures("compiled_catalogues")


def _state(app, invitation_id: int) -> InvitationState:  # type: ignore[no-untyped-def]
    return invitation_of(app, invitation_id).state


def _opted_out_at(app, complainant_id: int) -> dt.datetime | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Complainant, complainant_id).opted_out_at


def test_opt_out_asks_first_then_cancels_every_pending_survey_of_the_person(app, client) -> None:
    link = invite(app, external_id="CMP-1", email="ayse@example.com")
    # The same person: another complaint of the same record, and a record made by an
    # integration for a later complaint with the same address written differently.
    planned = invite(
        app, external_id="CMP-2", state=InvitationState.PLANNED, complainant_id=link.complainant_id
    )
    reminded = invite(
        app, external_id="CMP-3", state=InvitationState.REMINDED, email="Ayse@Example.com"
    )
    answered = invite(app, external_id="CMP-4", complainant_id=link.complainant_id)
    assert post_survey(app.test_client(), answered.token, GOOD_ANSWERS).status_code == 302
    stranger = invite(app, external_id="CMP-5", email="mehmet@example.com")

    opened = client.get(f"/s/{link.token}/opt-out")
    assert opened.status_code == 302 and opened.headers["Location"] == "/s/opt-out"
    page = client.get("/s/opt-out")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Evet, bana artık anket göndermeyin" in body and 'method="post"' in body
    assert link.token not in body
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    # Opening the page (a mail scanner does) changes nothing.
    assert _opted_out_at(app, link.complainant_id) is None
    assert _state(app, link.invitation_id) == InvitationState.SENT

    # A POST without a valid CSRF token changes nothing either, and asks to press again.
    action, hidden = form_fields(body, "opt-out")
    assert action == "/s/opt-out?lang=tr"
    refused = client.post(action, data={**hidden, "csrf_token": "old"})
    assert refused.status_code == 200
    assert "düğmeye yeniden basın" in refused.get_data(as_text=True)
    assert _opted_out_at(app, link.complainant_id) is None

    done = client.post(action, data=hidden)
    assert done.status_code == 302 and done.headers["Location"] == "/s/opted-out"
    confirmation = client.get("/s/opted-out")
    assert confirmation.status_code == 200
    assert "Artık size anket gönderilmeyecek" in confirmation.get_data(as_text=True)
    # The link's token left the browser with its work done.
    assert lost_page(client.get("/s/opt-out"))

    first_time = _opted_out_at(app, link.complainant_id)
    assert first_time is not None
    assert _opted_out_at(app, reminded.complainant_id) is not None
    assert _opted_out_at(app, stranger.complainant_id) is None
    for cancelled in (link, planned, reminded):
        assert _state(app, cancelled.invitation_id) == InvitationState.CANCELLED
    assert _state(app, answered.invitation_id) == InvitationState.RESPONDED
    assert _state(app, stranger.invitation_id) == InvitationState.SENT
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "opt_out"))
        assert entry.detail == {"invitation": link.invitation_id, "cancelled": 3, "how": "page"}
        assert "ayse" not in str(entry.detail) + str(entry.target)

    # The survey link of a cancelled invitation is closed now.
    assert client.get(f"/s/{planned.token}", follow_redirects=True).status_code == 410

    # Opting out again is harmless and keeps the first time.
    again_page = client.get(f"/s/{link.token}/opt-out", follow_redirects=True)
    assert "daha önce bildirdiniz" in again_page.get_data(as_text=True)
    action, hidden = form_fields(again_page.get_data(as_text=True), "opt-out")
    assert client.post(action, data=hidden).status_code == 302
    assert _opted_out_at(app, link.complainant_id) == first_time


def test_opt_out_page_in_the_invitation_language_and_unknown_links(app, client) -> None:
    link = invite(app, language="en")
    page = client.get(f"/s/{link.token}/opt-out", follow_redirects=True)
    assert '<html lang="en">' in page.get_data(as_text=True)
    assert "Yes, send me no more surveys" in page.get_data(as_text=True)
    assert client.get(f"/s/{'Z' * 43}/opt-out").status_code == 404
    # The link's POST is the one-click unsubscribe of RFC 8058 (test_one_click.py): any other
    # body is refused before a token is looked up.
    assert client.post(f"/s/{'Z' * 43}/opt-out", data={}).status_code == 400
    assert lost_page(app.test_client().post("/s/opt-out", data={}))


def test_survey_page_links_to_opt_out(app, client) -> None:
    link = invite(app)
    page = client.get(f"/s/{link.token}", follow_redirects=True).get_data(as_text=True)
    assert 'href="/s/opt-out?lang=tr"' in page
    opt_out_page = client.get("/s/opt-out?lang=tr")
    assert opt_out_page.status_code == 200
    assert "Anketleri durdur" in opt_out_page.get_data(as_text=True)


def test_the_database_refuses_a_second_response_for_an_invitation(app) -> None:
    """The backstop of every race: one response per invitation, whatever the code does."""
    link = invite(app)
    with app.app_context():
        invitation = db.session.get(Invitation, link.invitation_id)
        first = submit_response(invitation, {"overall": 4, "resolved": "no"}, "tr")
        db.session.add(
            Response(
                invitation_id=link.invitation_id,
                version_id=first.version_id,
                questionnaire_id=first.questionnaire_id,
                complaint_id=first.complaint_id,
                unit_id=first.unit_id,
                category_id=first.category_id,
                channel=first.channel,
                language="tr",
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert len(db.session.scalars(select(Response)).all()) == 1


def test_first_answer_is_partial_and_submission_completes_it(app) -> None:
    link = invite(app)
    with app.app_context():
        invitation = db.session.get(Invitation, link.invitation_id)
        partial = save_first_answer(invitation, {"overall": 2}, "tr")
        assert db.session.get(Invitation, link.invitation_id).state == InvitationState.SENT
        assert partial_answers(invitation) == {"overall": 2}
        again = save_first_answer(invitation, {"overall": 3}, "en")
        assert again.id == partial.id and again.language == "en"
        assert partial_answers(invitation) == {"overall": 3}
        with pytest.raises(ValueError):
            save_first_answer(invitation, {}, "tr")
        with pytest.raises(ValueError):
            save_first_answer(invitation, {"overall": 8}, "tr")

        complete = submit_response(invitation, {"overall": 1, "resolved": "no", "why": "x"}, "tr")
        assert complete.id == partial.id
        assert sorted(a.question_key for a in complete.answers) == ["overall", "resolved", "why"]
        assert partial_answers(invitation) == {}  # a complete response is no partial one
        with pytest.raises(AlreadyAnswered):
            save_first_answer(invitation, {"overall": 5}, "tr")
        with pytest.raises(AlreadyAnswered):
            submit_response(invitation, {"overall": 5}, "tr")
        assert len(db.session.scalars(select(Response)).all()) == 1


def test_a_partial_answer_survives_expiry_and_opt_out_but_takes_no_more(app) -> None:
    link = invite(app)
    with app.app_context():
        invitation = db.session.get(Invitation, link.invitation_id)
        save_first_answer(invitation, {"overall": 5}, "tr")
        invitation.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
        with pytest.raises(SurveyClosed):
            save_first_answer(invitation, {"overall": 1}, "tr")
        with pytest.raises(SurveyClosed):
            submit_response(invitation, {"overall": 1}, "tr")
        [kept] = db.session.scalars(select(Response)).all()
        assert [(a.question_key, a.value_number) for a in kept.answers] == [("overall", 5.0)]


def test_answer_rows_refuse_what_the_version_cannot_take(app) -> None:
    with app.app_context():
        for bad in (
            {"nope": 1},
            {"overall": 6},
            {"overall": "5"},
            {"resolved": "maybe"},
            {"channels": ["fax"]},
            {"contact": "phone2"},
            {"comment": 3},
        ):
            try:
                answer_rows(DEFINITION, bad)
            except ValueError:
                continue
            raise AssertionError(f"{bad} was accepted")
        rows = answer_rows(DEFINITION, {"resolved": "no", "recommend": 0})
        assert [(r.question_key, r.value_number, r.value_choice) for r in rows] == [
            ("resolved", 0.0, "no"),
            ("recommend", 0.0, None),
        ]
