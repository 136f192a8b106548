"""Every staff page, for every role, from the URL map: ids are unique, every label's ``for``
names an element of the page (a label must focus its own field, not another form's), the
page links the favicon, the language switch offers the four languages, and /favicon.ico is
served."""

from __future__ import annotations

import pytest

from tests.support.factories import make_user
from tests.support.staff_pages import DASH_PAGES, build_dataset, markup_problems, staff_pages
from tests.support.web import login

ROLES = {
    "admin": ("admin", None),
    "designer": ("designer", None),
    "viewer": ("viewer", None),
    "manager": ("viewer", ["fen"]),
}
LANGUAGE_BUTTONS = ['value="tr"', 'value="en"', 'value="nl"', 'value="et"']
# The preview is the respondent's page, with the questionnaire's languages as its own switch.


def test_favicon_is_served_to_anyone(client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert client.get("/static/favicon.svg").status_code == 200


def test_the_login_page_has_the_switch_and_clean_markup(client) -> None:
    html = client.get("/auth/login").get_data(as_text=True)
    assert markup_problems(html) == []
    assert all(button in html for button in LANGUAGE_BUTTONS)
    assert 'rel="icon"' in html


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_page_has_unique_ids_and_labels_that_point_at_fields(make_app, role) -> None:
    app = make_app()
    values = build_dataset(app)
    client = app.test_client()
    kind, units = ROLES[role]
    login(client, f"{role}@example.org", make_user(app, f"{role}@example.org", kind, units=units))
    seen, problems = 0, {}
    for path in staff_pages(app, values):
        response = client.get(path, headers={"Accept-Language": "tr"})
        if response.status_code != 200 or response.mimetype != "text/html":
            continue  # refused to this role (the access matrix checks which), or a file
        seen += 1
        html = response.get_data(as_text=True)
        found = markup_problems(html)
        if 'rel="icon"' not in html:
            found.append("no favicon link")
        if not path.endswith("/preview") and not all(b in html for b in LANGUAGE_BUTTONS):
            found.append("the language switch lacks a language")
        if found:
            problems[path] = found
    for path in DASH_PAGES:
        html = client.get(path).get_data(as_text=True)
        if "/static/favicon.svg" not in html:
            problems[path] = ["no favicon link"]
    assert seen >= (12 if role in ("admin", "designer") else 4)
    assert problems == {}
