"""The designer's pages: who may see them, and what they show."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.design.services import new_draft, published_version
from app.extensions import db
from app.models import (
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
)
from tests.support.factories import make_complaint, make_user
from tests.support.web import login

LIST = "/admin/questionnaires/"
VERSION = "/admin/questionnaires/post-resolution/versions/1"


def add_responses(version: QuestionnaireVersion, how_many: int) -> None:
    """Responses need a complaint and an invitation; make the smallest real ones."""
    unit = db.session.query(Unit).first() or Unit(code="fen", name="Fen İşleri")
    category = db.session.query(Category).first() or Category(code="yol", name="Yol")
    db.session.add_all([unit, category])
    start = db.session.query(Complaint).count()
    for n in range(start, start + how_many):
        complaint = make_complaint(
            external_id=f"C-{n}", received_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
            channel=Channel.WEB, category=category, unit=unit, with_complainant=False,
            resolved_at=None, status=ComplaintStatus.RECEIVED, add=False, flush=False,
        )
        invitation = Invitation(complaint=complaint, version=version,
                                state=InvitationState.RESPONDED)
        db.session.add_all([complaint, invitation])
        db.session.flush()
        db.session.add(Response(
            invitation_id=invitation.id, version_id=version.id,
            questionnaire_id=version.questionnaire_id, complaint_id=complaint.id,
            unit_id=unit.id, category_id=category.id, channel=Channel.WEB, language="tr",
        ))
    db.session.commit()


def section_of(html: str, key: str) -> str:
    start = html.index(f'id="q-{key}"')
    return html[start:html.index("</section>", start)]


def sign_in(app: Flask, client: FlaskClient, role: str) -> None:
    password = make_user(app, f"{role}@example.org", role)
    # The pages are checked in English; without this the staff language is the default, tr.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, f"{role}@example.org", password)


@pytest.mark.parametrize("path", [LIST, VERSION])
def test_anonymous_users_are_sent_to_login(installed: Flask, client: FlaskClient,
                                           path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("path", [LIST, VERSION])
def test_viewers_are_refused(installed: Flask, client: FlaskClient, path: str) -> None:
    sign_in(installed, client, "viewer")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("role", ["designer", "admin"])
def test_designers_and_admins_see_the_list(installed: Flask, client: FlaskClient,
                                           role: str) -> None:
    sign_in(installed, client, role)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for key in ("post-resolution", "nps-relationship", "ces", "iso10004-full"):
        assert f'id="q-{key}"' in html
        assert f'href="/admin/questionnaires/{key}/versions/1"' in html


def test_the_list_shows_versions_status_and_response_counts(installed: Flask,
                                                            client: FlaskClient) -> None:
    with installed.app_context():
        v1 = published_version("post-resolution")
        add_responses(v1, 3)
        draft = new_draft(v1.questionnaire)
        add_responses(published_version("ces"), 1)
        assert draft.number == 2
    sign_in(installed, client, "designer")
    html = client.get(LIST).get_data(as_text=True)
    section = section_of(html, "post-resolution")
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]  # skip the header row
    assert len(rows) == 2
    assert "Version 2" in rows[0] and "Draft" in rows[0] and 'data-responses="0"' in rows[0]
    assert "Version 1" in rows[1] and "Published" in rows[1]
    assert 'data-responses="3"' in rows[1]
    assert "3 responses" in section
    ces = section_of(html, "ces")
    assert 'data-responses="1"' in ces
    assert re.search(r"\b1 response\b(?!s)", ces)


def test_an_empty_list_says_how_to_install(app: Flask, client: FlaskClient) -> None:
    sign_in(app, client, "designer")
    html = client.get(LIST).get_data(as_text=True)
    assert "memnun templates install" in html


def test_a_version_is_shown_in_the_chosen_language(installed: Flask,
                                                   client: FlaskClient) -> None:
    sign_in(installed, client, "designer")
    html = client.get(VERSION + "?lang=nl").get_data(as_text=True)
    assert '<article lang="nl"' in html
    assert "Hoe tevreden bent u in het algemeen over de manier waarop uw klacht is behandeld?" in (
        html
    )
    assert "Zeer tevreden" in html
    assert "overall &lt;= 2 or resolved == &#34;no&#34;" in html  # the condition, escaped
    assert "Şikâyetinizin ele alınma şeklinden" not in html
    # Links to the other languages, the chosen one marked.
    assert '<strong aria-current="page">Nederlands</strong>' in html
    assert 'href="/admin/questionnaires/post-resolution/versions/1?lang=et"' in html

    estonian = client.get(VERSION + "?lang=et").get_data(as_text=True)
    assert "Kui rahul olete üldiselt sellega, kuidas teie kaebust käsitleti?" in estonian


def test_a_language_the_version_lacks_falls_back(installed: Flask, client: FlaskClient) -> None:
    sign_in(installed, client, "designer")
    html = client.get(VERSION + "?lang=de", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert '<article lang="en"' in html
    assert "Overall, how satisfied are you with the way your complaint was handled?" in html
    # Neither the version nor the staff pages speak French: the staff default language decides.
    default = installed.config["BABEL_DEFAULT_LOCALE"]
    fallback = client.get(VERSION + "?lang=xx", headers={"Accept-Language": "fr"})
    assert f'<article lang="{default}"' in fallback.get_data(as_text=True)


def test_unknown_versions_are_not_found(installed: Flask, client: FlaskClient) -> None:
    sign_in(installed, client, "designer")
    assert client.get("/admin/questionnaires/post-resolution/versions/9").status_code == 404
    assert client.get("/admin/questionnaires/nothing/versions/1").status_code == 404


def test_questionnaire_text_is_escaped(app: Flask, client: FlaskClient) -> None:
    from app.design.services import create_questionnaire

    with app.app_context():
        create_questionnaire({
            "key": "hostile",
            "languages": ["tr", "en"],
            "title": {"tr": "<script>alert(1)</script>", "en": "<b>bold</b>"},
            "intro": {"tr": "i", "en": "i"},
            "thanks": {"tr": "t", "en": "t"},
            "questions": [{"key": "q", "type": "text",
                           "text": {"tr": "<img src=x onerror=alert(1)>", "en": "q"}}],
        })
        assert db.session.query(Questionnaire).count() == 1
    sign_in(app, client, "designer")
    listing = client.get(LIST, headers={"Accept-Language": "tr"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    listing = client.get(LIST, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<b>bold</b>" not in listing
    assert "&lt;b&gt;bold&lt;/b&gt;" in listing
    page = client.get("/admin/questionnaires/hostile/versions/1?lang=tr").get_data(as_text=True)
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(("language", "title"), [
    ("en", "How did we handle your complaint?"),
    ("tr", "Şikâyetinizin çözüm sürecini değerlendirin"),
])
def test_the_list_names_each_questionnaire_in_the_readers_language(
    installed: Flask, client: FlaskClient, language: str, title: str
) -> None:
    sign_in(installed, client, "designer")
    html = client.get(LIST, headers={"Accept-Language": language}).get_data(as_text=True)
    section = section_of(html, "post-resolution")
    assert f"<h2>{title}</h2>" in section
