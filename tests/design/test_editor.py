"""The designer UI: create from a template, edit a draft, validation next to each field, the
versioning rules, preview, publish, import and export, and who may do it. On SQLite and
PostgreSQL, through real HTTP requests of the test client with CSRF on."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from app.design.services import (
    get_version,
    new_draft,
    published_version,
    template_paths,
)
from app.extensions import db
from app.models import Questionnaire, VersionStatus
from app.questionnaires.versions import comparable_versions, question_scale_history
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

BASE = "/admin/questionnaires"
PR = f"{BASE}/post-resolution"


def sign_in(app: Flask, client: FlaskClient, role: str) -> FlaskClient:
    password = make_user(app, f"{role}@example.org", role)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are checked in English
    login(client, f"{role}@example.org", password)
    return client


@pytest.fixture
def designer(installed: Flask, client: FlaskClient) -> FlaskClient:
    return sign_in(installed, client, "designer")


@pytest.fixture
def draft_of_post_resolution(installed: Flask) -> int:
    """post-resolution has a draft of version 2 (a copy of the published version 1)."""
    with installed.app_context():
        return new_draft(published_version("post-resolution").questionnaire).number


def token(client: FlaskClient) -> str:
    """The session's CSRF token, from the log-out form every staff page has."""
    return csrf_token_from(client.get("/").get_data(as_text=True))


def definition(app: Flask, key: str, number: int) -> dict[str, Any]:
    with app.app_context():
        db.session.expire_all()
        return copy.deepcopy(get_version(key, number).definition)


def question_of(document: dict[str, Any], key: str) -> dict[str, Any]:
    return next(q for q in document["questions"] if q["key"] == key)


def form_data(question: dict[str, Any], languages: list[str], **changes: Any) -> dict[str, Any]:
    """What a browser posts for the question form filled with ``question``, then ``changes``
    (a field set to None is left out, as a browser leaves out an unticked box)."""
    data: dict[str, Any] = {
        "key": question["key"], "type": question["type"],
        "attribute": question.get("attribute") or "", "show_if": question.get("show_if") or "",
        "max_length": question.get("max_length") or "", "save": "Save question",
    }
    if question.get("required"):
        data["required"] = "y"
    if question.get("email_embed"):
        data["email_embed"] = "y"
    labels = question.get("labels") or {}
    for code in languages:
        data[f"text_{code}"] = question["text"].get(code, "")
        data[f"low_{code}"] = (labels.get("low") or {}).get(code, "")
        data[f"high_{code}"] = (labels.get("high") or {}).get(code, "")
    for index, option in enumerate(question.get("options") or []):
        data[f"options-{index}-key"] = option["key"]
        for code in languages:
            data[f"options-{index}-label_{code}"] = option["label"].get(code, "")
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def field_block(html: str, name: str) -> str:
    """The part of the page that belongs to the field ``name``: its label, hint, errors, input."""
    start = html.index(f'id="field-{name}"')
    ends = [i for i in (html.find('id="field-', start + 1), html.find("</form>", start)) if i > 0]
    return html[start:min(ends)]


def errors_in(block: str) -> list[str]:
    found = re.search(r'<ul class="error field-errors"[^>]*>(.*?)</ul>', block, re.S)
    if not found:
        return []
    items = re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
    return [re.sub(r"<[^>]+>", "", item).replace("Error: ", "", 1).replace("&#39;", "'")
            .replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">").strip()
            for item in items]


ALL_FIELDS = ("key", "type", "text", "required", "attribute", "labels", "options", "max_length",
              "email_embed", "show_if")


def assert_only_errors_in(html: str, field: str, *expected: str) -> None:
    """Each expected message is shown next to ``field`` and no other field shows an error."""
    shown = errors_in(field_block(html, field))
    for message in expected:
        assert any(message in text for text in shown), (field, message, shown)
    for other in ALL_FIELDS:
        if other != field and f'id="field-{other}"' in html:
            assert errors_in(field_block(html, other)) == [], (other, field)
    # ... and the summary at the top links to the field.
    assert f'<a href="#field-{field}">' in html


# --- who may use the designer -----------------------------------------------------------------

ROUTES = [
    ("GET", f"{BASE}/new"), ("POST", f"{BASE}/new"),
    ("GET", f"{BASE}/import"), ("POST", f"{BASE}/import"),
    ("GET", f"{PR}/versions/1/export"),
    ("GET", f"{PR}/versions/1/preview"),
    ("POST", f"{PR}/draft"),
    ("GET", f"{PR}/versions/2/edit"),
    ("GET", f"{PR}/versions/2/texts"), ("POST", f"{PR}/versions/2/texts"),
    ("GET", f"{PR}/versions/2/add"), ("POST", f"{PR}/versions/2/add"),
    ("GET", f"{PR}/versions/2/questions/overall"), ("POST", f"{PR}/versions/2/questions/overall"),
    ("POST", f"{PR}/versions/2/questions/overall/move"),
    ("POST", f"{PR}/versions/2/order"),
    ("GET", f"{PR}/versions/2/questions/clarity/remove"),
    ("POST", f"{PR}/versions/2/questions/clarity/remove"),
    ("GET", f"{PR}/versions/2/publish"), ("POST", f"{PR}/versions/2/publish"),
]


def test_every_designer_route_sends_anonymous_users_to_login(
    installed: Flask, client: FlaskClient, draft_of_post_resolution: int
) -> None:
    # A valid CSRF token, so that what refuses is the login check, not the CSRF one.
    csrf = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    for method, path in ROUTES:
        response = client.open(path, method=method, data={"csrf_token": csrf})
        assert response.status_code == 302, (method, path)
        assert "/auth/login" in response.headers["Location"], (method, path)


def test_every_designer_route_refuses_viewers_and_changes_nothing(
    installed: Flask, client: FlaskClient, draft_of_post_resolution: int
) -> None:
    sign_in(installed, client, "viewer")
    csrf = token(client)
    before = definition(installed, "post-resolution", 2)
    for method, path in ROUTES:
        response = client.open(path, method=method, data={"csrf_token": csrf, "direction": "up"})
        assert response.status_code == 403, (method, path)
    assert definition(installed, "post-resolution", 2) == before
    with installed.app_context():
        assert get_version("post-resolution", 2).status == VersionStatus.DRAFT


@pytest.mark.parametrize("role", ["designer", "admin"])
def test_designers_and_admins_open_every_page(installed: Flask, client: FlaskClient,
                                              draft_of_post_resolution: int, role: str) -> None:
    sign_in(installed, client, role)
    for method, path in ROUTES:
        if method == "GET":
            assert client.get(path).status_code == 200, path


def test_posts_without_a_csrf_token_are_refused(designer: FlaskClient, installed: Flask,
                                                draft_of_post_resolution: int) -> None:
    before = definition(installed, "post-resolution", 2)
    response = designer.post(f"{PR}/versions/2/questions/clarity/remove")
    assert response.status_code == 400
    response = designer.post(f"{PR}/versions/2/publish", data={"publish": "Publish"})
    assert response.status_code == 400
    assert definition(installed, "post-resolution", 2) == before


# --- creating from a template -----------------------------------------------------------------

def test_create_from_a_template(designer: FlaskClient, installed: Flask) -> None:
    page = designer.get(f"{BASE}/new").get_data(as_text=True)
    assert '<option value="post-resolution.yaml">' in page
    assert re.search(r'<input checked id="languages-0" name="languages" type="checkbox" '
                     r'value="tr">', page)  # Turkish and English are ticked to begin with
    response = designer.post(f"{BASE}/new", data={
        "csrf_token": csrf_token_from(page), "template": "post-resolution.yaml",
        "key": "after-care", "languages": ["tr", "en"], "title_tr": "Bakım sonrası",
        "title_en": "After care",
    })
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/after-care/versions/1/edit")
    created = definition(installed, "after-care", 1)
    template = definition(installed, "post-resolution", 1)
    assert created["key"] == "after-care"
    # Exactly the chosen languages: the template's Dutch and Estonian texts are left out.
    assert created["languages"] == ["tr", "en"]
    assert created["title"] == {"tr": "Bakım sonrası", "en": "After care"}
    assert created["questions"][0]["text"] == {
        code: template["questions"][0]["text"][code] for code in ("tr", "en")}
    assert "'nl':" not in str(created) and "'et':" not in str(created)
    with installed.app_context():
        version = get_version("after-care", 1)
        assert version.status == VersionStatus.DRAFT
        assert version.questionnaire.title == "Bakım sonrası"
    listing = designer.get(f"{BASE}/").get_data(as_text=True)
    assert 'id="q-after-care"' in listing and "Edit the draft (version 1)" in listing


def test_a_turkish_only_questionnaire_is_created_published_and_asks_in_turkish(
    designer: FlaskClient, installed: Flask
) -> None:
    response = designer.post(f"{BASE}/new", data={
        "csrf_token": token(designer), "template": "ces.yaml", "key": "yalniz-turkce",
        "languages": ["tr"], "title_tr": "Kısa anket"})
    assert response.status_code == 302
    created = definition(installed, "yalniz-turkce", 1)
    assert created["languages"] == ["tr"] and created["title"] == {"tr": "Kısa anket"}
    assert all(set(q["text"]) == {"tr"} for q in created["questions"])
    page = designer.get(f"{BASE}/yalniz-turkce/versions/1/publish",
                        headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Kısa anket" in page and "??" not in page and "?”?" not in page
    published = designer.post(f"{BASE}/yalniz-turkce/versions/1/publish",
                              data={"csrf_token": token(designer), "publish": "Publish"})
    assert published.status_code == 302
    with installed.app_context():
        from app.distribution.planner import survey_language
        from app.models import Complainant

        version = get_version("yalniz-turkce", 1)
        assert version.status == VersionStatus.PUBLISHED
        for wanted in ("en", "nl", "et", None):  # whatever they speak: Turkish
            assert survey_language(Complainant(language=wanted), version) == "tr"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"key": "post-resolution"}, "key",
     "a questionnaire with the key 'post-resolution' already exists"),
    ({"key": "After Care"}, "key", "Use lower-case letters, digits, _ or -"),
    ({"title_en": ""}, "title_en", "Give the title in this language, or untick it above."),
    ({"title_nl": "Zorg"}, "title_nl", "This language is not chosen above"),
    ({"languages": []}, "languages", "Choose at least one language."),
    ({"template": "../../etc/passwd"}, "template", "Not a valid choice."),
])
def test_create_from_a_template_shows_errors_next_to_fields(
    designer: FlaskClient, installed: Flask, changes: dict[str, str], field: str, message: str
) -> None:
    data = {"csrf_token": token(designer), "template": "ces.yaml", "key": "after-care",
            "languages": ["tr", "en"], "title_tr": "Bakım", "title_en": "Care", **changes}
    response = designer.post(f"{BASE}/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in " ".join(errors_in(field_block(html, field)))
    with installed.app_context():
        assert db.session.query(Questionnaire).count() == len(template_paths())  # none added


# --- editing a question: each kind of error next to its field ---------------------------------

LANGUAGES = ["tr", "en", "nl", "et"]
TEXT_ONLY_TR = {"text_en": "", "text_nl": "", "text_et": ""}

CASES = [
    # (question edited, changes to the form, field, expected messages)
    ("overall", {"key": "Overall"}, "key", ["the key 'Overall' must be lower-case letters"]),
    ("overall", {"key": "resolved"}, "key", ["duplicate question key 'resolved'"]),
    ("overall", {"type": "stars"}, "type", ["Not a valid choice."]),
    ("overall", TEXT_ONLY_TR, "text",
     ["missing the English text", "missing the Nederlands text",
      "missing the Eesti text"]),
    ("courtesy", {"low_en": "", "high_tr": "", "high_en": "", "high_nl": "", "high_et": ""},
     "labels", ["missing 'high'", "missing the English text"]),
    ("courtesy", {"type": "single_choice"}, "options", ["a choice question needs options"]),
    ("courtesy", {"type": "multi_choice", "options-0-key": "Fast", "options-0-label_tr": "Hızlı",
                  "options-0-label_en": "Fast", "options-0-label_nl": "Snel",
                  "options-0-label_et": "Kiire"},
     "options", ["the key 'Fast' must be lower-case letters",
                 "a choice question needs at least two options"]),
    ("improve", {"max_length": "0"}, "max_length",
     ["max_length must be a whole number from 1 to 10000"]),
    ("improve", {"max_length": "lots"}, "max_length", ["Not a valid integer value."]),
    ("improve", {"email_embed": "y"}, "email_embed",
     ["email_embed is only for a rating or nps question",
      "a question embedded in the e-mail cannot have show_if",
      "only one question may have email_embed; 'overall' already has it"]),
    ("courtesy", {"type": "importance", "attribute": ""}, "attribute",
     ["an importance question needs the attribute it weighs"]),
    ("courtesy", {"attribute": "Staff Courtesy"}, "attribute",
     ["'Staff Courtesy' is not an attribute name"]),
    ("courtesy", {"type": "importance", "attribute": "friendliness"}, "attribute",
     ["no rating or likert question has the attribute 'friendliness'"]),
    ("improve", {"show_if": "overall <="}, "show_if",
     ["expected a value, found the end of the expression"]),
    ("improve", {"show_if": "len(overall) > 1"}, "show_if",
     ["expected a comparison (==, !=, <, <=, >, >=) after 'len', found '('"]),
    ("improve", {"show_if": "overall.__class__ == 1"}, "show_if", ["unexpected character '.'"]),
    ("improve", {"show_if": "overall_score <= 2"}, "show_if",
     ["show_if reads 'overall_score', which is not a question key"]),
    ("resolved", {"show_if": "recommend < 7"}, "show_if",
     ["show_if reads 'recommend', which is asked later"]),
    ("improve", {"show_if": 'overall == "bad"'}, "show_if",
     ["show_if compares 'overall', answered with a number, with the text 'bad'"]),
    ("improve", {"show_if": 'resolved == "maybe"'}, "show_if",
     ["'resolved' has no option 'maybe'"]),
    ("improve", {"show_if": "resolved == 0"}, "show_if",
     ["show_if compares 'resolved', answered with an option, with the number 0"]),
]


@pytest.mark.parametrize(("edited", "changes", "field", "messages"), CASES)
def test_each_error_is_shown_next_to_its_field_and_nothing_is_saved(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int,
    edited: str, changes: dict[str, str], field: str, messages: list[str],
) -> None:
    before = definition(installed, "post-resolution", 2)
    data = form_data(question_of(before, edited), LANGUAGES, **changes)
    data["csrf_token"] = token(designer)
    response = designer.post(f"{PR}/versions/2/questions/{edited}", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The question is not saved yet" in html
    assert_only_errors_in(html, field, *messages)
    # What was typed is kept in the form, escaped.
    if "show_if" in changes:
        assert f'value="{escape(changes["show_if"])}"' in html
    block = field_block(html, field)
    assert 'aria-invalid="true"' in block or field in ("text", "labels", "options")
    assert definition(installed, "post-resolution", 2) == before


def test_the_form_checks_and_the_questionnaire_checks_show_together(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int
) -> None:
    before = definition(installed, "post-resolution", 2)
    data = form_data(question_of(before, "improve"), LANGUAGES, max_length="lots", text_en="",
                     csrf_token=token(designer))
    html = designer.post(f"{PR}/versions/2/questions/improve", data=data).get_data(as_text=True)
    assert errors_in(field_block(html, "max_length")) == ["Not a valid integer value."]
    assert errors_in(field_block(html, "text")) == ["missing the English text"]
    assert definition(installed, "post-resolution", 2) == before


def test_a_change_that_breaks_other_questions_names_them(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int
) -> None:
    before = definition(installed, "post-resolution", 2)
    data = form_data(question_of(before, "overall"), LANGUAGES, key="satisfaction",
                     csrf_token=token(designer))
    html = designer.post(f"{PR}/versions/2/questions/overall", data=data).get_data(as_text=True)
    assert "other parts of the questionnaire would no longer be valid" in html
    elsewhere = re.search(r'<ul class="elsewhere">(.*?)</ul>', html, re.S).group(1)
    assert "question &#39;improve&#39;, field &#39;show_if&#39;: show_if reads &#39;overall&#39;" \
        in elsewhere
    for name in ALL_FIELDS:
        assert errors_in(field_block(html, name)) == []
    assert definition(installed, "post-resolution", 2) == before


def test_edit_a_question_in_every_language_with_a_condition(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int
) -> None:
    before = definition(installed, "post-resolution", 2)
    page = designer.get(f"{PR}/versions/2/questions/clarity").get_data(as_text=True)
    # Side by side: one text box per declared language, filled in.
    for code in LANGUAGES:
        assert f'name="text_{code}"' in page
    assert "How satisfied are you with the clarity of the answer you received?" in page
    data = form_data(question_of(before, "clarity"), LANGUAGES, text_tr="Yanıt açık mıydı?",
                     text_en="Was the answer clear?", show_if='resolved == "yes"',
                     required="y", csrf_token=csrf_token_from(page))
    response = designer.post(f"{PR}/versions/2/questions/clarity", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PR}/versions/2/edit#question-clarity")
    after = question_of(definition(installed, "post-resolution", 2), "clarity")
    assert after["text"] == {**question_of(before, "clarity")["text"],
                             "tr": "Yanıt açık mıydı?", "en": "Was the answer clear?"}
    assert after["show_if"] == 'resolved == "yes"'
    assert after["required"] is True
    assert after["labels"] == question_of(before, "clarity")["labels"]
    # The published version 1 is untouched.
    assert question_of(definition(installed, "post-resolution", 1), "clarity")["show_if"] is None


def test_change_type_to_a_choice_with_options(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int
) -> None:
    before = definition(installed, "post-resolution", 2)
    options = {}
    for index, (key, tr, en) in enumerate([("phone", "Telefon", "Phone"),
                                           ("email", "E-posta", "E-mail")]):
        options[f"options-{index}-key"] = key
        for code, text in (("tr", tr), ("en", en), ("nl", en), ("et", en)):
            options[f"options-{index}-label_{code}"] = text
    data = form_data(question_of(before, "courtesy"), LANGUAGES, type="multi_choice",
                     csrf_token=token(designer), **options)
    response = designer.post(f"{PR}/versions/2/questions/courtesy", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    after = question_of(definition(installed, "post-resolution", 2), "courtesy")
    assert after["type"] == "multi_choice"
    assert after["labels"] is None  # scale labels belong to scales only
    assert [o["key"] for o in after["options"]] == ["phone", "email"]
    assert after["options"][1]["label"]["tr"] == "E-posta"


def test_more_option_rows_saves_nothing(designer: FlaskClient, installed: Flask,
                                        draft_of_post_resolution: int) -> None:
    before = definition(installed, "post-resolution", 2)
    data = form_data(question_of(before, "courtesy"), LANGUAGES, type="single_choice",
                     more_options="More option rows", csrf_token=token(designer))
    del data["save"]
    html = designer.post(f"{PR}/versions/2/questions/courtesy", data=data).get_data(as_text=True)
    assert 'name="options-3-key"' in html  # 2 blank rows, then 2 more
    assert "not saved yet" not in html
    assert definition(installed, "post-resolution", 2) == before


def test_add_a_question(designer: FlaskClient, installed: Flask,
                        draft_of_post_resolution: int) -> None:
    page = designer.get(f"{PR}/versions/2/add?type=single_choice").get_data(as_text=True)
    assert '<option selected value="single_choice">' in page
    data = {"csrf_token": csrf_token_from(page), "key": "channel", "type": "single_choice",
            "save": "Save question",
            "options-0-key": "phone", "options-1-key": "web"}
    for code in LANGUAGES:
        data[f"text_{code}"] = f"channel {code}"
        data[f"options-0-label_{code}"] = f"phone {code}"
        data[f"options-1-label_{code}"] = f"web {code}"
    response = designer.post(f"{PR}/versions/2/add", data=data)
    assert response.status_code == 302
    after = definition(installed, "post-resolution", 2)
    assert after["questions"][-1]["key"] == "channel"
    assert after["questions"][-1]["options"][1] == {
        "key": "web", "label": {code: f"web {code}" for code in LANGUAGES}}
    # An empty new question is refused, with the reasons next to its fields.
    empty = {"csrf_token": data["csrf_token"], "key": "", "type": "rating", "save": "Save"}
    html = designer.post(f"{PR}/versions/2/add", data=empty).get_data(as_text=True)
    assert "the key &#39;&#39; must be lower-case" in field_block(html, "key")
    assert "missing the Türkçe text" in field_block(html, "text")
    assert len(definition(installed, "post-resolution", 2)["questions"]) == len(
        after["questions"])


# --- reorder and remove -----------------------------------------------------------------------

def keys(app: Flask, number: int = 2) -> list[str]:
    return [q["key"] for q in definition(app, "post-resolution", number)["questions"]]


def test_move_up_and_down(designer: FlaskClient, installed: Flask,
                          draft_of_post_resolution: int) -> None:
    original = keys(installed)
    csrf = token(designer)
    response = designer.post(f"{PR}/versions/2/questions/courtesy/move",
                             data={"csrf_token": csrf, "direction": "up"})
    assert response.status_code == 302
    assert keys(installed) == ["overall", "resolved", "courtesy", "timeliness", "clarity",
                               "recommend", "improve"]
    designer.post(f"{PR}/versions/2/questions/courtesy/move",
                  data={"csrf_token": csrf, "direction": "down"})
    assert keys(installed) == original
    # improve reads overall and resolved: it cannot go above them.
    designer.post(f"{PR}/versions/2/questions/resolved/move",
                  data={"csrf_token": csrf, "direction": "up"})
    assert keys(installed)[:2] == ["resolved", "overall"]
    html = designer.get(f"{PR}/versions/2/edit").get_data(as_text=True)
    # The first question's "up" arrow is disabled; the page shows the new order.
    assert html.index('id="question-resolved"') < html.index('id="question-overall"')
    assert designer.post(f"{PR}/versions/2/questions/overall/move",
                         data={"csrf_token": csrf, "direction": "sideways"}).status_code == 400


def test_a_move_that_breaks_a_condition_is_refused(designer: FlaskClient, installed: Flask,
                                                   draft_of_post_resolution: int) -> None:
    csrf = token(designer)
    order = keys(installed)
    improved_first = ["improve", *[k for k in order if k != "improve"]]
    response = designer.post(f"{PR}/versions/2/order",
                             data={"csrf_token": csrf, "key": improved_first})
    assert response.status_code == 302
    assert keys(installed) == order
    html = designer.get(response.headers["Location"]).get_data(as_text=True)
    assert "The questions cannot go in that order" in html
    assert "which is asked later" in html
    # A full, valid order is taken (what designer.js posts after a drag).
    swapped = [order[1], order[0], *order[2:]]
    designer.post(f"{PR}/versions/2/order", data={"csrf_token": csrf, "key": swapped})
    assert keys(installed) == swapped
    # An order that loses a question is refused.
    designer.post(f"{PR}/versions/2/order", data={"csrf_token": csrf, "key": swapped[:-1]})
    assert keys(installed) == swapped


def test_remove_asks_first_and_refuses_breaking_a_condition(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int
) -> None:
    page = designer.get(f"{PR}/versions/2/questions/clarity/remove").get_data(as_text=True)
    assert "Remove question clarity?" in page
    assert "clarity" in keys(installed)  # the GET removed nothing
    csrf = csrf_token_from(page)
    designer.post(f"{PR}/versions/2/questions/clarity/remove", data={"csrf_token": csrf})
    assert "clarity" not in keys(installed)
    response = designer.post(f"{PR}/versions/2/questions/resolved/remove",
                             data={"csrf_token": csrf}, follow_redirects=True)
    assert "resolved" in keys(installed)
    assert "Question resolved cannot be removed" in response.get_data(as_text=True)
    assert designer.get(f"{PR}/versions/2/questions/nothing/remove").status_code == 404


# --- questionnaire texts ----------------------------------------------------------------------

def test_edit_title_intro_and_thanks(designer: FlaskClient, installed: Flask,
                                     draft_of_post_resolution: int) -> None:
    page = designer.get(f"{PR}/versions/2/texts").get_data(as_text=True)
    before = definition(installed, "post-resolution", 2)
    data = {"csrf_token": csrf_token_from(page), "save": "Save texts"}
    for group in ("title", "intro", "thanks"):
        for code in LANGUAGES:
            data[f"{group}_{code}"] = before[group][code]
    data["thanks_en"] = "Thanks a lot."
    assert designer.post(f"{PR}/versions/2/texts", data=data).status_code == 302
    assert definition(installed, "post-resolution", 2)["thanks"]["en"] == "Thanks a lot."

    data["title_en"] = ""
    html = designer.post(f"{PR}/versions/2/texts", data=data).get_data(as_text=True)
    assert "missing the English text" in field_block(html, "title")
    assert "&#39;en&#39;" not in field_block(html, "intro")
    assert definition(installed, "post-resolution", 2)["title"]["en"] == before["title"]["en"]


# --- versions through the UI ------------------------------------------------------------------

def test_editing_a_published_version_makes_the_next_version_a_draft(
    designer: FlaskClient, installed: Flask
) -> None:
    v1_before = definition(installed, "post-resolution", 1)
    page = designer.get(f"{PR}/versions/1").get_data(as_text=True)
    assert "Edit (makes the draft of version 2)" in page
    # The published version's own editor refuses, and sends to the version page.
    response = designer.get(f"{PR}/versions/1/edit")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"{PR}/versions/1")
    data = form_data(question_of(v1_before, "overall"), LANGUAGES, text_en="Changed?",
                     csrf_token=csrf_token_from(page))
    assert designer.post(f"{PR}/versions/1/questions/overall", data=data).status_code == 302
    assert definition(installed, "post-resolution", 1) == v1_before

    response = designer.post(f"{PR}/draft", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PR}/versions/2/edit")
    with installed.app_context():
        assert get_version("post-resolution", 2).status == VersionStatus.DRAFT
    # "Edit" again opens the same draft; it does not make a third version.
    designer.post(f"{PR}/draft", data={"csrf_token": csrf_token_from(page)})
    with installed.app_context():
        assert get_version("post-resolution", 3) is None

    assert designer.post(f"{PR}/versions/2/questions/overall", data=data).status_code == 302
    assert question_of(definition(installed, "post-resolution", 2), "overall")["text"]["en"] \
        == "Changed?"
    assert definition(installed, "post-resolution", 1) == v1_before
    assert "Edit the draft (version 2)" in designer.get(f"{PR}/versions/1").get_data(as_text=True)

    publish_page = designer.get(f"{PR}/versions/2/publish").get_data(as_text=True)
    assert "<h1>Publish version 2</h1>" in publish_page
    assert "New surveys use version 2 instead of version 1" in publish_page
    assert "Trends will restart" not in publish_page
    response = designer.post(f"{PR}/versions/2/publish",
                             data={"csrf_token": csrf_token_from(publish_page),
                                   "publish": "Publish version 2"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{PR}/versions/2")
    with installed.app_context():
        assert published_version("post-resolution").number == 2
    assert definition(installed, "post-resolution", 1) == v1_before
    # Version 2 is frozen now too: its editor sends back, and the next edit makes version 3.
    assert designer.get(f"{PR}/versions/2/publish").status_code == 302
    designer.post(f"{PR}/draft", data={"csrf_token": csrf_token_from(publish_page)})
    with installed.app_context():
        assert get_version("post-resolution", 3).status == VersionStatus.DRAFT


def test_publishing_a_changed_scale_warns_that_trends_restart(
    designer: FlaskClient, installed: Flask, draft_of_post_resolution: int
) -> None:
    before = definition(installed, "post-resolution", 2)
    data = form_data(question_of(before, "recommend"), LANGUAGES, type="rating",
                     csrf_token=token(designer))
    assert designer.post(f"{PR}/versions/2/questions/recommend", data=data).status_code == 302
    edit_page = designer.get(f"{PR}/versions/2/edit").get_data(as_text=True)
    assert 'id="scale-changes"' in edit_page
    page = designer.get(f"{PR}/versions/2/publish").get_data(as_text=True)
    warning = page[page.index('id="scale-changes"'):]
    assert "Trends will restart" in warning
    assert "<code>recommend</code>: “Likelihood to recommend (0-10)” in version 1, " \
           "“Rating (1-5)” now" in warning
    # A warning, not a block: publishing goes ahead.
    response = designer.post(f"{PR}/versions/2/publish",
                             data={"csrf_token": csrf_token_from(page), "publish": "Publish"})
    assert response.status_code == 302
    with installed.app_context():
        assert published_version("post-resolution").number == 2
        assert question_scale_history("post-resolution", "recommend") == [(1, "nps"),
                                                                           (2, "rating")]
        assert comparable_versions("post-resolution", "recommend") == [2]
        assert comparable_versions("post-resolution", "overall") == [1, 2]


def test_an_invalid_stored_draft_is_not_published(designer: FlaskClient, installed: Flask,
                                                  draft_of_post_resolution: int) -> None:
    with installed.app_context():
        draft = get_version("post-resolution", 2)
        broken = copy.deepcopy(draft.definition)
        broken["questions"][0]["text"].pop("en")
        draft.definition = broken  # by other means than the designer, which would refuse it
        db.session.commit()
    page = designer.get(f"{PR}/versions/2/publish").get_data(as_text=True)
    html = designer.post(f"{PR}/versions/2/publish",
                         data={"csrf_token": csrf_token_from(page), "publish": "Publish"}
                         ).get_data(as_text=True)
    assert "This draft cannot be published yet" in html
    assert "question &#39;overall&#39;, field &#39;text&#39;: missing the English text" \
        in html
    with installed.app_context():
        assert published_version("post-resolution").number == 1


# --- preview ----------------------------------------------------------------------------------

def test_preview_shows_the_respondent_page_in_each_language(
    designer: FlaskClient, installed: Flask
) -> None:
    turkish = designer.get(f"{PR}/versions/1/preview?lang=tr").get_data(as_text=True)
    english = designer.get(f"{PR}/versions/1/preview?lang=en").get_data(as_text=True)
    assert '<html lang="tr">' in turkish and '<html lang="en">' in english
    assert "Şikâyetinizin ele alınma şeklinden genel olarak ne kadar memnun kaldınız?" in turkish
    assert "Overall, how satisfied are you with the way your complaint was handled?" in english
    assert "Overall, how satisfied" not in turkish
    for html in (turkish, english):
        # The respondent's own controls: a fieldset per question, radios named by key...
        assert 'id="q-overall-block"' in html and 'name="overall"' in html
        assert 'data-show-if="overall &lt;= 2 or resolved == &#34;no&#34;"' in html
        # ... under a banner, in a form that posts nowhere.
        assert "Preview of version 1" in html
        survey_form = re.search(r'<form[^>]*class="survey preview"[^>]*>', html).group(0)
        assert 'method="get"' in survey_form and "/s/" not in survey_form
        assert 'method="post"' not in html
        assert re.search(r'<button type="button" class="button primary send" disabled>', html)
    assert 'href="/admin/questionnaires/post-resolution/versions/1/preview?lang=nl"' in english
    assert "Hoe tevreden bent u" in designer.get(f"{PR}/versions/1/preview?lang=nl").get_data(
        as_text=True)
    # A one-click choice is shown as the respondent would see it.
    chosen = designer.get(f"{PR}/versions/1/preview?lang=en&overall=2").get_data(as_text=True)
    assert re.search(r'id="q-overall-1" name="overall" value="2"\s+checked', chosen)


# --- import and export ------------------------------------------------------------------------

def export(client: FlaskClient, key: str, number: int) -> str:
    response = client.get(f"{BASE}/{key}/versions/{number}/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{key}-v{number}.yaml"')
    assert response.content_type == "application/yaml; charset=utf-8"
    return response.get_data(as_text=True)


def upload(client: FlaskClient, text: str, name: str = "questionnaire.yaml",
           replace: bool = False) -> Any:
    data = {"csrf_token": token(client), "upload": "Import",
            "document": (io.BytesIO(text.encode("utf-8")), name)}
    if replace:
        data["replace_draft"] = "y"
    return client.post(f"{BASE}/import", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("key", ["post-resolution", "nps-relationship", "ces", "iso10004-full"])
def test_export_then_import_gives_an_equal_definition(designer: FlaskClient, installed: Flask,
                                                      key: str) -> None:
    exported = export(designer, key, 1)
    assert yaml.safe_load(exported)["key"] == key
    response = upload(designer, exported.replace(f"key: {key}\n", "key: copy-of-it\n", 1))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/copy-of-it/versions/1/edit")
    assert definition(installed, "copy-of-it", 1) == {
        **definition(installed, key, 1), "key": "copy-of-it"}
    # Importing under the same key makes the draft of the next version, equal again.
    response = upload(designer, exported)
    assert response.headers["Location"].endswith(f"{BASE}/{key}/versions/2/edit")
    assert definition(installed, key, 2) == definition(installed, key, 1)


def test_import_does_not_overwrite_a_draft_unless_asked(designer: FlaskClient, installed: Flask,
                                                        draft_of_post_resolution: int) -> None:
    exported = export(designer, "post-resolution", 1)
    changed = exported.replace("Thank you for your feedback.", "Many thanks.")
    html = upload(designer, changed).get_data(as_text=True)
    assert "&#39;post-resolution&#39; already has a draft (version 2)" in field_block(
        html, "replace_draft")
    assert definition(installed, "post-resolution", 2)["thanks"]["en"].startswith("Thank you")
    response = upload(designer, changed, replace=True)
    assert response.headers["Location"].endswith(f"{PR}/versions/2/edit")
    assert definition(installed, "post-resolution", 2)["thanks"]["en"].startswith("Many thanks.")


def test_a_bad_file_is_refused_with_every_error_and_its_line(designer: FlaskClient,
                                                             installed: Flask) -> None:
    bad = """\
key: broken
languages: [tr, en]
title: {tr: Bozuk, en: Broken}
intro: {tr: Giriş, en: Intro}
thanks: {tr: Sağ olun, en: Thanks}
questions:
  - {key: overall, type: stars, text: {tr: Genel, en: Overall}}
  - {key: why, type: text, show_if: "overall <", text: {tr: "Neden?"}}
"""
    html = upload(designer, bad, "broken.yaml").get_data(as_text=True)
    errors = errors_in(field_block(html, "document"))
    assert errors[0].startswith("line 7, question 'overall', field 'type': unknown type 'stars'")
    assert any(e.startswith("line 8, question 'why', field 'show_if': expected a value")
               for e in errors)
    assert any(e.startswith("line 8, question 'why', field 'text': missing the English text")
               for e in errors)
    html = upload(designer, "key: [unclosed", "x.yaml").get_data(as_text=True)
    assert "line 1: not valid YAML" in " ".join(errors_in(field_block(html, "document")))
    latin1 = {"csrf_token": token(designer), "upload": "Import",
              "document": (io.BytesIO("başlık".encode("iso-8859-9")), "x.yaml")}
    html = designer.post(f"{BASE}/import", data=latin1,
                         content_type="multipart/form-data").get_data(as_text=True)
    assert "The file is not UTF-8 text." in html
    html = upload(designer, "key: x", "notes.txt").get_data(as_text=True)
    assert "Only .yaml, .yml or .json files." in html
    with installed.app_context():
        assert db.session.query(Questionnaire).count() == len(template_paths())  # none added
