"""The respondent's survey page: rendering, the e-mail link and its clean address, one-click
answers, submission, errors, link states, and 50 submissions at once over real HTTP."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Answer,
    Complaint,
    Invitation,
    InvitationState,
    QuestionnaireVersion,
    Response,
)
from tests.support.respond import (
    ANSWERED,
    CLOSED,
    GOOD_ANSWERS,
    answers_of,
    checked_value,
    form_fields,
    invitation_of,
    invite,
    lost_page,
    open_link,
    post_survey,
    responses_of,
    textarea_content,
)


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    """The product's default language: pages reached without an invitation speak Turkish."""
    return make_app(BABEL_DEFAULT_LOCALE="tr")


pytestmark = pytest.mark.usefixtures("compiled_catalogues")


def test_the_link_moves_its_token_into_a_cookie_and_goes_on_to_a_clean_address(
    app, client
) -> None:
    invited = invite(app)
    first = client.get(f"/s/{invited.token}?lang=en&overall=4")
    assert first.status_code == 302
    assert first.headers["Location"] == "/s/survey?lang=en"  # no token, no preselection
    cookie = next(c for c in first.headers.getlist("Set-Cookie") if c.startswith("memnun_survey="))
    assert cookie.startswith(f"memnun_survey={invited.token};")
    for attribute in ("HttpOnly", "Path=/s", "SameSite=Lax", "Max-Age=86400"):
        assert attribute in cookie
    assert "Secure" not in cookie  # SESSION_COOKIE_SECURE is off in tests
    page = client.get(first.headers["Location"])
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert invited.token not in body  # not in a link, a form or a hidden field
    assert checked_value(body, "overall") == ["4"]
    # Opening the link stored nothing; opening it again still works.
    assert responses_of(app, invited.invitation_id) == []
    assert open_link(client, invited.token).status_code == 200

    # The clean address without the cookie knows no survey.
    assert lost_page(app.test_client().get("/s/survey"))


def test_a_later_link_becomes_the_page_and_an_open_form_keeps_its_own_survey(app, client) -> None:
    first = invite(app, external_id="CMP-A")
    second = invite(app, external_id="CMP-B")
    page_a = open_link(client, first.token).get_data(as_text=True)
    assert "CMP-A" in page_a
    page_b = open_link(client, second.token).get_data(as_text=True)
    assert "CMP-B" in page_b and "CMP-A" not in page_b  # the newer link replaces the page
    assert "CMP-B" in client.get("/s/survey").get_data(as_text=True)

    # The first tab is still open: its answers go to its own survey, not to the newer one.
    action, hidden = form_fields(page_a, "survey")
    sent = client.post(action, data={**hidden, "overall": "2", "resolved": "no", "why": "Geç."})
    assert sent.status_code == 302
    assert len(responses_of(app, first.invitation_id)) == 1
    assert responses_of(app, second.invitation_id) == []
    # The answered link left the cookie; the other one is still there.
    assert "CMP-B" in client.get("/s/survey").get_data(as_text=True)


def test_survey_page_in_the_invitation_language_with_a_visible_switch(app, client) -> None:
    invited = invite(app, external_id="CMP-2026-0042")
    response = open_link(client, invited.token)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="tr">' in page
    assert "Şikâyetinizi nasıl ele aldık?" in page
    assert "Şikâyetinizin ele alınışından genel olarak ne kadar memnunsunuz?" in page
    assert "Hiç memnun değilim" in page and "Çok memnunum" in page
    assert "Overall, how satisfied" not in page
    assert "CMP-2026-0042" in page and "2026" in page
    assert app.config["MEMNUN_ORGANISATION_NAME"] in page
    assert ">Gönder</button>" in page and "KVKK" in page  # our own words in Turkish too
    # Never the complaint's text nor anyone's personal data.
    for private in ("Kaldırım kırık", "aylardır kırık", "Ayşe", "ayse@example.com"):
        assert private not in page
    assert 'href="/s/survey?lang=en"' in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]

    english = client.get("/s/survey?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Overall, how satisfied are you with how your complaint was handled?" in english
    assert "Very dissatisfied" in english and "Şikâyetinizin" not in english
    assert ">Send</button>" in english and "GDPR" in english and "KVKK" not in english
    assert 'href="/s/survey?lang=tr"' in english


def test_survey_page_structure_is_accessible(app, client) -> None:
    invited = invite(app)
    page = open_link(client, invited.token).get_data(as_text=True)
    fieldsets = re.findall(r"<fieldset", page)
    legends = re.findall(r"<legend", page)
    assert len(fieldsets) == len(legends) == 6  # every radio or checkbox group
    controls = [
        tag for tag in re.findall(r"<(?:input|textarea)[^>]*>", page) if 'type="hidden"' not in tag
    ]
    assert len(controls) == 5 + 2 + 7 + 11 + 2 + 3 + 2
    for control_id in (re.search(r'\bid="([^"]+)"', tag).group(1) for tag in controls):
        assert f'for="{control_id}"' in page, f"{control_id} has no label"
    # The scale ends are read out with the first and the last value.
    assert re.search(r'for="q-overall-0">1<span class="visually-hidden"> \(Hiç memnun', page)
    assert re.search(r'for="q-overall-4">5<span class="visually-hidden"> \(Çok memnunum', page)
    # With scripts off the conditional question is shown, with a note saying when to answer it.
    assert 'data-show-if="overall &lt;= 2"' in page
    assert "Yalnızca şu durumda yanıtlayın: 1. soru ≤ 2" in page
    assert "<script>" not in page and "onclick" not in page and "style=" not in page


def test_invitation_language_decides_when_no_switch_is_asked(app, client) -> None:
    invited = invite(app, language="en")
    page = open_link(client, invited.token).get_data(as_text=True)
    assert '<html lang="en">' in page and "Was your problem really solved?" in page
    # A language the version is not written in falls back to the invitation's.
    page = open_link(client, invited.token, "?lang=de").get_data(as_text=True)
    assert '<html lang="en">' in page


def test_complaint_reference_is_escaped(app, client) -> None:
    invited = invite(app, external_id='<script>alert("x")</script>')
    page = open_link(client, invited.token).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page


def test_the_kept_blank_page_is_the_page_rendered_afresh(app, client) -> None:
    """The blank survey page is rendered once per version and language and then filled in per
    request: it must be, byte for byte, the page a full render gives, with each invitation's
    own reference (escaped), date, link and CSRF token, and a form that can be sent."""
    from app.respond.forms import build_form
    from app.respond.links import fingerprint
    from app.respond.pages import MARKERS, SurveyPage, blank_survey_page, speaking, survey_page
    from app.respond.services import find_survey_link

    open_link(client, invite(app, external_id="CMP-1").token)  # the page is kept from here on
    invited = invite(app, external_id='A&B <"x">')
    other = app.test_client()
    page = open_link(other, invited.token).get_data(as_text=True)
    assert "A&amp;B &lt;&#34;x&#34;&gt;" in page and 'A&B <"x">' not in page
    assert f'name="_survey" value="{fingerprint(invited.token)}"' in page
    assert not any(marker in page for marker in MARKERS.values())
    action, hidden = form_fields(page, "survey")
    sent = other.post(action, data={**hidden, **GOOD_ANSWERS})
    assert sent.status_code == 302 and sent.headers["Location"] == "/s/thanks"

    english = invite(app, external_id="CMP-3", language="en")
    with app.test_request_context("/s/survey"):
        found = find_survey_link(english.token)
        assert found is not None
        shown = SurveyPage.open(found, english.token, None)
        with speaking(shown.language):
            form = build_form(shown.questions, formdata=None, data={})
        fresh, _ = survey_page(shown, form)
        assert "CMP-3" in fresh and '<html lang="en">' in fresh
        for _ in range(2):  # rendered and kept, then from the kept copy
            assert blank_survey_page(shown) == (fresh, 200)


def test_one_click_link_preselects_and_stores_nothing(app, client) -> None:
    invited = invite(app)
    for _ in range(3):  # a mail scanner, a preview, the person: none of them uses the link up
        for opener in (client, app.test_client()):
            response = open_link(opener, invited.token, "?overall=4")
            assert response.status_code == 200
            assert response.request.path == "/s/survey"
            assert "overall" not in response.request.query_string.decode()
            page = response.get_data(as_text=True)
            assert checked_value(page, "overall") == ["4"]
            assert checked_value(page, "resolved") == []
            assert "henüz kaydedilmedi" in page  # "not saved yet", with a button to save it
    assert responses_of(app, invited.invitation_id) == []
    invitation = invitation_of(app, invited.invitation_id)
    assert invitation.state == InvitationState.SENT and invitation.responded_at is None

    # Values the question does not offer, and text, are never filled in from a link.
    page = open_link(client, invited.token, "?overall=9&comment=hello&why=x").get_data(
        as_text=True
    )
    assert checked_value(page, "overall") == []
    assert textarea_content(page, "comment") == ""
    assert "henüz kaydedilmedi" not in page and "one-click" not in page

    # The link still works afterwards.
    assert post_survey(client, invited.token, GOOD_ANSWERS).status_code == 302


def test_the_page_stores_the_one_click_answer_and_the_survey_completes_it(app, client) -> None:
    invited = invite(app)
    page = open_link(client, invited.token, "?overall=2").get_data(as_text=True)
    action, one_click = form_fields(page, "one-click")
    assert action == "/s/survey?lang=tr"
    assert {key: one_click[key] for key in ("_step", "overall")} == {
        "_step": "first",
        "overall": "2",
    }
    # Scripts off: the visible button posts it, and the page comes back saying it is saved.
    stored = client.post(action, data=one_click)
    assert stored.status_code == 302 and stored.headers["Location"] == "/s/survey?lang=tr"
    [partial] = responses_of(app, invited.invitation_id)
    assert answers_of(partial) == {"overall": 2.0}
    invitation = invitation_of(app, invited.invitation_id)
    assert invitation.state == InvitationState.SENT and invitation.responded_at is None
    again = client.get(stored.headers["Location"]).get_data(as_text=True)
    assert "yanıtınız kaydedildi" in again and "one-click" not in again
    assert checked_value(again, "overall") == ["2"]  # the stored answer stays chosen

    # A later click in the e-mail replaces it (the script's POST answers with a status only).
    page = open_link(client, invited.token, "?overall=5").get_data(as_text=True)
    action, one_click = form_fields(page, "one-click")
    saved = client.post(action, data=one_click, headers={"X-Memnun-Fetch": "1"})
    assert saved.status_code == 204
    [partial_again] = responses_of(app, invited.invitation_id)
    assert partial_again.id == partial.id and answers_of(partial_again) == {"overall": 5.0}

    # A second device opens a one-click link too, and will post it after the survey was sent.
    other_device = app.test_client()
    other_page = open_link(other_device, invited.token, "?overall=1").get_data(as_text=True)
    other_action, other_click = form_fields(other_page, "one-click")

    # Sending the survey completes the same response and uses the link up.
    sent = post_survey(client, invited.token, {**GOOD_ANSWERS, "overall": "4"})
    assert sent.status_code == 302 and sent.headers["Location"] == "/s/thanks"
    [complete] = responses_of(app, invited.invitation_id)
    assert complete.id == partial.id
    assert answers_of(complete) == {
        "overall": 4.0,
        "resolved": "yes",
        "effort": 2.0,
        "recommend": 9.0,
        "contact": "letter",
        "channels": ["phone", "visit"],
        "comment": "Hızlı döndünüz,\nteşekkürler.",
    }
    invitation = invitation_of(app, invited.invitation_id)
    assert invitation.state == InvitationState.RESPONDED
    assert invitation.responded_at == complete.submitted_at

    # After that, a click from the e-mail changes nothing.
    late = open_link(app.test_client(), invited.token, "?overall=1")
    assert ANSWERED in late.get_data(as_text=True)
    refused = other_device.post(other_action, data=other_click, headers={"X-Memnun-Fetch": "1"})
    assert refused.status_code == 409  # the script reloads and shows "already answered"
    without_script = other_device.post(other_action, data=other_click)
    assert ANSWERED in without_script.get_data(as_text=True)
    assert answers_of(responses_of(app, invited.invitation_id)[0])["overall"] == 4.0


def test_an_expired_csrf_token_on_the_one_click_button_offers_it_again(app, client) -> None:
    invited = invite(app)
    page = open_link(client, invited.token, "?overall=3").get_data(as_text=True)
    action, one_click = form_fields(page, "one-click")
    again = client.post(action, data={**one_click, "csrf_token": "expired"})
    assert again.status_code == 200
    assert responses_of(app, invited.invitation_id) == []
    action, one_click = form_fields(again.get_data(as_text=True), "one-click")
    assert one_click["overall"] == "3"
    assert client.post(action, data=one_click).status_code == 302
    assert answers_of(responses_of(app, invited.invitation_id)[0]) == {"overall": 3.0}


def test_a_one_click_post_with_nothing_chosen_stores_nothing(app, client) -> None:
    invited = invite(app)
    page = open_link(client, invited.token, "?overall=3").get_data(as_text=True)
    action, one_click = form_fields(page, "one-click")
    for bad in ({"overall": "9"}, {"comment": "hello"}, {}):
        data = {**{k: v for k, v in one_click.items() if k != "overall"}, **bad}
        assert client.post(action, data=data, headers={"X-Memnun-Fetch": "1"}).status_code == 400
    assert responses_of(app, invited.invitation_id) == []


def test_valid_submission_stores_exactly_one_response_then_thanks(app, client) -> None:
    invited = invite(app)
    answers = {**GOOD_ANSWERS, "why": "typed before the condition hid it"}
    response = post_survey(client, invited.token, answers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/s/thanks"
    # Its work done, the token leaves the browser.
    assert any(
        c.startswith("memnun_survey=;") and "Max-Age=0" in c
        for c in response.headers.getlist("Set-Cookie")
    )

    stored = responses_of(app, invited.invitation_id)
    assert len(stored) == 1
    saved = stored[0]
    with app.app_context():
        complaint = db.session.get(Complaint, invited.complaint_id)
        version = db.session.scalar(select(QuestionnaireVersion))
        assert (saved.complaint_id, saved.unit_id, saved.category_id, saved.channel) == (
            complaint.id,
            complaint.unit_id,
            complaint.category_id,
            complaint.channel,
        )
        assert (saved.version_id, saved.questionnaire_id) == (version.id, version.questionnaire_id)
    assert saved.language == "tr"
    rows = sorted(
        (a.question_key, a.question_type, a.attribute, a.value_number, a.value_choice, a.value_text)
        for a in saved.answers
    )
    assert rows == [
        ("channels", "multi_choice", "access", None, "phone", None),
        ("channels", "multi_choice", "access", None, "visit", None),
        ("comment", "text", "comment", None, None, "Hızlı döndünüz,\nteşekkürler."),
        ("contact", "single_choice", "channel", None, "letter", None),
        ("effort", "effort", "effort", 2.0, None, None),
        ("overall", "rating", "overall", 5.0, None, None),
        ("recommend", "nps", "loyalty", 9.0, None, None),
        ("resolved", "yes_no", "resolution", 1.0, "yes", None),
    ]  # "why" was hidden by its condition: not stored
    invitation = invitation_of(app, invited.invitation_id)
    assert invitation.state == InvitationState.RESPONDED
    assert invitation.responded_at is not None
    assert abs((invitation.responded_at - saved.submitted_at).total_seconds()) < 1

    thanks = client.get("/s/thanks")
    assert thanks.status_code == 200
    assert "Teşekkürler, yanıtlarınız bize ulaştı." in thanks.get_data(as_text=True)
    assert thanks.headers["Cache-Control"] == "no-store"
    # Back and refresh send nothing twice: the survey address now knows no survey.
    assert lost_page(client.get("/s/survey"))


def test_thanks_page_in_the_language_answered(app, client) -> None:
    invited = invite(app)
    assert post_survey(client, invited.token, GOOD_ANSWERS, "?lang=en").status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(Response))
        assert saved.language == "en"
    page = client.get("/s/thanks").get_data(as_text=True)
    assert "Thank you, your answers reached us." in page and '<html lang="en">' in page


def test_a_second_submission_shows_already_answered(app, client) -> None:
    invited = invite(app)
    assert post_survey(client, invited.token, GOOD_ANSWERS).status_code == 302
    page = open_link(client, invited.token)
    assert page.status_code == 200
    assert ANSWERED in page.get_data(as_text=True)
    assert "CMP-2026-0001" not in page.get_data(as_text=True)

    other_client = app.test_client()
    token_page = open_link(other_client, invited.token)  # already-answered page: no form
    assert 'name="csrf_token"' not in token_page.get_data(as_text=True)
    # Even a post that got its form before the first one was sent stores nothing more.
    late = app.test_client()
    with app.app_context():
        db.session.execute(
            Invitation.__table__.update()
            .where(Invitation.id == invited.invitation_id)
            .values(state=InvitationState.SENT.value)
        )
        db.session.commit()
        action, hidden = form_fields(
            open_link(late, invited.token).get_data(as_text=True), "survey"
        )
        db.session.execute(
            Invitation.__table__.update()
            .where(Invitation.id == invited.invitation_id)
            .values(state=InvitationState.RESPONDED.value)
        )
        db.session.commit()
    again = late.post(action, data={**hidden, **GOOD_ANSWERS})
    assert again.status_code == 200
    assert ANSWERED in again.get_data(as_text=True)
    assert len(responses_of(app, invited.invitation_id)) == 1


def test_missing_required_answer_is_shown_and_typed_text_kept(app, client) -> None:
    invited = invite(app)
    typed = 'Çok geç döndünüz <b>"yine"</b> & hâlâ bekliyorum'
    response = post_survey(
        client,
        invited.token,
        {
            "resolved": "no",
            "channels": ["web"],
            "comment": typed,
            "recommend": "3",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Lütfen bu soruyu yanıtlayın." in page
    assert re.search(r'id="q-overall-error"[^>]*>.*Lütfen bu soruyu yanıtlayın', page)
    assert 'href="#q-overall-0"' in page  # the summary leads to the question
    assert "<title>Hata:" in page
    assert textarea_content(page, "comment") == typed
    assert "<b>" not in page  # escaped, never rendered
    assert checked_value(page, "resolved") == ["no"]
    assert checked_value(page, "channels") == ["web"]
    assert checked_value(page, "recommend") == ["3"]
    assert responses_of(app, invited.invitation_id) == []
    assert invitation_of(app, invited.invitation_id).state == InvitationState.SENT


def test_text_over_its_limit_is_refused_not_cut(app, client) -> None:
    invited = invite(app)
    long_text = "Ş" * 51  # the limit of "why" is 50
    response = post_survey(
        client, invited.token, {"overall": "1", "resolved": "no", "why": long_text}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "en fazla 50 karaktere kısaltın (şu anda 51 karakter)" in page
    assert textarea_content(page, "why") == long_text
    assert responses_of(app, invited.invitation_id) == []

    exact = "ş" * 50
    response = post_survey(client, invited.token, {"overall": "1", "resolved": "no", "why": exact})
    assert response.status_code == 302
    [saved] = responses_of(app, invited.invitation_id)
    assert {a.question_key: a.value_text for a in saved.answers}["why"] == exact


def test_a_comment_is_stored_with_the_stems_it_is_found_by(app, client) -> None:
    invited = invite(app)
    response = post_survey(client, invited.token,
                           {"overall": "1", "resolved": "no", "why": "Çöpler alınmadı"})
    assert response.status_code == 302
    [saved] = responses_of(app, invited.invitation_id)
    [why] = [a for a in saved.answers if a.question_key == "why"]
    assert why.value_text == "Çöpler alınmadı"  # as typed
    assert " çöp " in why.search_terms and " cop " in why.search_terms
    assert all(a.search_terms is None for a in saved.answers if a.question_key != "why")


def test_conditional_question_required_only_when_shown(app, client) -> None:
    invited = invite(app)
    # Shown (overall <= 2) and required: refused without it.
    response = post_survey(client, invited.token, {"overall": "2", "resolved": "no"})
    assert response.status_code == 200
    assert re.search(
        r'id="q-why-error"[^>]*>.*Lütfen bu soruyu yanıtlayın', response.get_data(as_text=True)
    )
    assert re.search(r'id="q-overall-error"', response.get_data(as_text=True)) is None
    # Hidden (overall 4): neither required nor stored even when something was typed.
    response = post_survey(
        client, invited.token, {"overall": "4", "resolved": "yes", "why": "x" * 80}
    )
    assert response.status_code == 302
    [saved] = responses_of(app, invited.invitation_id)
    assert {a.question_key for a in saved.answers} == {"overall", "resolved"}


def test_values_not_offered_are_refused(app, client) -> None:
    invited = invite(app)
    response = post_survey(
        client, invited.token, {"overall": "6", "resolved": "maybe", "channels": ["fax"]}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count("Lütfen seçeneklerden birini seçin.") >= 2
    assert "Lütfen gösterilen seçenekler arasından seçim yapın." in page
    assert responses_of(app, invited.invitation_id) == []


def test_unknown_and_malformed_links_answer_404_alike(app, client) -> None:
    invite(app)
    bodies = set()
    for token in ["A" * 43, "short", "x" * 42 + "!", "a" * 200]:
        response = client.get(f"/s/{token}")
        assert response.status_code == 404
        assert response.headers["Referrer-Policy"] == "no-referrer"
        cookies = response.headers.getlist("Set-Cookie")
        assert not any(c.startswith("memnun_survey") for c in cookies)
        bodies.add(response.get_data(as_text=True))
    assert len(bodies) == 1  # nothing tells one unknown link from another
    assert "Bu anketi bulamadık" in bodies.pop()
    # Forms are posted to the clean address only; without a link cookie it knows no survey.
    assert client.post(f"/s/{'B' * 43}", data={"overall": "5"}).status_code == 405
    assert lost_page(client.post("/s/survey", data={"overall": "5"}))
    # A cookie holding an unknown token is no better.
    client.set_cookie("memnun_survey", "C" * 43, path="/s")
    assert lost_page(client.get("/s/survey"))


@pytest.mark.parametrize(
    ("state", "expires_in_days"),
    [
        (InvitationState.SENT, -1 / 24),
        (InvitationState.EXPIRED, 14),
        (InvitationState.CANCELLED, 14),
        (InvitationState.SUPPRESSED, 14),
    ],
)
def test_expired_or_cancelled_links_answer_410(app, client, state, expires_in_days) -> None:
    invited = invite(app, state=state, expires_in_days=expires_in_days)
    response = open_link(client, invited.token)
    assert response.status_code == 410
    assert CLOSED in response.get_data(as_text=True)
    assert "CMP-2026-0001" not in response.get_data(as_text=True)
    assert open_link(client, invited.token, "?overall=5").status_code == 410
    response = client.post("/s/survey", data=GOOD_ANSWERS)
    assert response.status_code == 410
    assert responses_of(app, invited.invitation_id) == []


def test_link_expiring_while_the_form_is_open_stores_nothing(app, client) -> None:
    invited = invite(app)
    page = open_link(client, invited.token, "?overall=4").get_data(as_text=True)
    with app.app_context():
        invitation = db.session.get(Invitation, invited.invitation_id)
        invitation.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.session.commit()
    for form_class in ("one-click", "survey"):
        action, hidden = form_fields(page, form_class)
        response = client.post(action, data={**GOOD_ANSWERS, **hidden})
        assert response.status_code == 410
    scripted = client.post(action, data=hidden, headers={"X-Memnun-Fetch": "1"})
    assert scripted.status_code == 410 and scripted.get_data() == b""
    assert responses_of(app, invited.invitation_id) == []


def test_expired_csrf_token_keeps_the_answers_and_asks_to_send_again(app, client) -> None:
    invited = invite(app)
    action, hidden = form_fields(open_link(client, invited.token).get_data(as_text=True), "survey")
    typed = "Bu metin kaybolmamalı."
    answers = {"overall": "2", "resolved": "no", "why": typed, "channels": ["phone", "web"]}
    response = client.post(action, data={**hidden, "csrf_token": "expired", **answers})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "yeniden “Gönder” düğmesine basın" in page
    assert checked_value(page, "overall") == ["2"]
    assert checked_value(page, "channels") == ["phone", "web"]
    assert textarea_content(page, "why") == typed
    assert responses_of(app, invited.invitation_id) == []
    # The page carries a fresh token: sending again works.
    action, hidden = form_fields(page, "survey")
    again = client.post(action, data={**hidden, **answers})
    assert again.status_code == 302
    assert len(responses_of(app, invited.invitation_id)) == 1


def test_the_token_is_never_logged(app, client, caplog) -> None:
    invited = invite(app)
    caplog.set_level(logging.DEBUG)
    open_link(client, invited.token, "?overall=5")
    client.post("/s/survey", data={"csrf_token": "stale", "overall": "5"})
    post_survey(client, invited.token, GOOD_ANSWERS)
    open_link(client, invited.token)  # already answered
    client.get(f"/s/{invited.token}/opt-out", follow_redirects=True)
    assert any(str(invited.invitation_id) in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert invited.token not in record.getMessage()


def test_fifty_parallel_submissions_store_one_response(app, live_server) -> None:
    invited = invite(app)
    link = f"{live_server.url}/s/{invited.token}"
    browsers = []
    for _ in range(50):
        browser = requests.Session()
        page = browser.get(link)  # redirected to the clean address, the token in a cookie
        assert page.url == f"{live_server.url}/s/survey"
        action, hidden = form_fields(page.text, "survey")
        browsers.append((browser, live_server.url + action, hidden))
    start = threading.Barrier(len(browsers))
    results: list[str] = []

    def submit(browser: requests.Session, url: str, hidden: dict[str, str]) -> None:
        start.wait()
        answer = browser.post(url, data={**hidden, **GOOD_ANSWERS}, allow_redirects=False)
        if answer.status_code == 302:
            results.append(answer.headers["Location"])
        elif answer.status_code == 200 and ANSWERED in answer.text:
            results.append("already answered")
        else:
            results.append(f"{answer.status_code}: {answer.text[:200]}")

    threads = [threading.Thread(target=submit, args=job) for job in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["/s/thanks"] + ["already answered"] * 49
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 1
        assert db.session.scalar(select(func.count(Answer.id))) == 8


@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_text_the_database_cannot_keep_is_refused_and_the_answers_kept(app, client, bad) -> None:
    # PostgreSQL refuses NUL in text: stored as posted, the submission was a 500 that lost
    # every answer. A lone surrogate cannot be encoded at all.
    invited = invite(app)
    page = open_link(client, invited.token).get_data(as_text=True)
    action, hidden = form_fields(page, "survey")
    answers = {**GOOD_ANSWERS, "comment": f"Geç{bad} döndünüz"}
    body = "&".join(
        f"{quote(key)}={quote(value, errors='surrogatepass')}"
        for key, values in {**hidden, **answers}.items()
        for value in (values if isinstance(values, list) else [values])
    )
    response = client.post(action, data=body.encode("utf-8", "surrogatepass"),
                           content_type="application/x-www-form-urlencoded")
    page = response.get_data(as_text=True)
    if response.status_code == 302:  # the edge replaced what cannot be decoded: kept as text
        [saved] = responses_of(app, invited.invitation_id)
        assert bad not in answers_of(saved)["comment"]
        return
    assert response.status_code == 200
    assert re.search(r'id="q-comment-error"[^>]*>.*kaydedilemeyen karakterler', page, re.S)
    assert textarea_content(page, "comment") == "Geç döndünüz"
    assert checked_value(page, "overall") == ["5"]
    assert checked_value(page, "channels") == ["phone", "visit"]
    assert responses_of(app, invited.invitation_id) == []
    assert invitation_of(app, invited.invitation_id).state == InvitationState.SENT


def test_a_lone_surrogate_in_a_text_answer_is_refused(app) -> None:
    from werkzeug.datastructures import MultiDict

    from app.respond.forms import build_form, survey_answers
    from app.respond.questions import questions_in
    from tests.support.respond import DEFINITION

    questions = questions_in(DEFINITION, "tr")
    with app.test_request_context(method="POST"):
        posted = MultiDict({"overall": "5", "resolved": "yes", "comment": "a\ud800b\x00c"})
        form = build_form(questions, formdata=posted, meta={"csrf": False})
        assert survey_answers(form, questions) is None
        assert form["q_comment"].errors and form["q_comment"].data == "abc"
