"""The language switch: four languages on every staff page, the login page and the dashboards;
the choice is kept in the session before login and on the user after it; without a choice the
browser's Accept-Language decides."""

from __future__ import annotations

import json
import re

from app.extensions import db
from app.models import User
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

EMAIL = "admin@example.org"


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match
    return match.group(1)


def _switch(client, language: str, next_path: str = "/") -> None:
    page = client.get(next_path).get_data(as_text=True)
    response = client.post(
        "/language",
        data={"csrf_token": csrf_token_from(page), "language": language, "next": next_path},
    )
    assert response.status_code == 302


def _users_language(app) -> str | None:
    with app.app_context():
        return db.session.scalar(db.select(User.language).where(User.email == EMAIL))


def test_without_a_choice_the_browser_decides(client) -> None:
    html = client.get("/auth/login", headers={"Accept-Language": "et"}).get_data(as_text=True)
    assert _lang(html) == "et"
    assert all(name in html for name in ("Türkçe", "English", "Nederlands", "Eesti"))


def test_a_choice_on_the_login_page_survives_the_login_and_is_remembered(app, client) -> None:
    password = make_user(app)
    _switch(client, "nl", "/auth/login")
    page = client.get("/auth/login", headers={"Accept-Language": "tr"}).get_data(as_text=True)
    assert _lang(page) == "nl"
    login(client, EMAIL, password)
    assert _lang(client.get("/", headers={"Accept-Language": "tr"}).get_data(as_text=True)) == "nl"
    assert _users_language(app) == "nl"


def test_the_users_choice_follows_them_to_another_browser(app, client) -> None:
    password = make_user(app)
    login(client, EMAIL, password)
    _switch(client, "et")
    assert _users_language(app) == "et"
    other = app.test_client()  # a new browser: no session, another Accept-Language
    login(other, EMAIL, password)
    html = other.get("/reports/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert _lang(html) == "et"
    _switch(other, "en", "/reports/")
    assert _users_language(app) == "en"
    assert _lang(client.get("/").get_data(as_text=True)) == "en"  # the first browser too


def test_an_unknown_language_changes_nothing(app, client) -> None:
    login(client, EMAIL, make_user(app))
    _switch(client, "tr")
    _switch(client, "xx")
    assert _users_language(app) == "tr"


def test_the_dashboards_offer_the_four_languages(app, client) -> None:
    login(client, EMAIL, make_user(app))
    layout = json.dumps(client.get("/dashboards/_dash-layout").get_json(), ensure_ascii=False)
    for code, name in (("tr", "Türkçe"), ("en", "English"), ("nl", "Nederlands"), ("et", "Eesti")):
        assert f'"children": "{name}"' in layout and f'"value": "{code}"' in layout
