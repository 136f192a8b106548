"""The walk-in pages over HTTP (Flask's client), on SQLite and PostgreSQL: the survey a QR code
opens, the second answer refused, old codes, the rate limit; the staff pages: service points,
posters whose QR code decodes to the point's link, the review of held answers, unit scope."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.factories import make_user
from tests.support.walkin import (
    answer,
    answer_count,
    make_point,
    pdf_images,
    qr_link,
    walk_ins,
)
from tests.support.web import csrf_token_from, login

BASE = "http://memnun.test"


def _send(client: FlaskClient, code: str, answers: dict[str, str], query: str = "") -> object:
    page = client.get(f"/w/{code}{query}")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(f"/w/{code}{query}", data={"csrf_token": token, **answers})


def test_the_link_opens_the_survey_in_the_visitor_s_language(app: Flask,
                                                           client: FlaskClient) -> None:
    point_id, code = make_point(app, name="Merkez çözüm masası")
    page = client.get(f"/w/{code}", headers={"Accept-Language": "nl-BE,nl;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="nl">' in html
    assert "Hoe was uw bezoek vandaag?" in html and "Merkez çözüm masası" in html
    assert page.headers["Cache-Control"] == "no-store"
    switched = client.get(f"/w/{code}?lang=et").get_data(as_text=True)
    assert '<html lang="et">' in switched and 'hreflang="tr"' in switched
    assert walk_ins(app, point_id) == []  # a GET stores nothing


def test_an_answer_is_stored_once_and_a_second_is_refused_kindly(app: Flask,
                                                                client: FlaskClient) -> None:
    point_id, code = make_point(app)
    sent = _send(client, code, {"overall": "4", "done": "yes"}, "?lang=en")
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/w/thanks")
    assert "Thank you for your feedback" in client.get("/w/thanks").get_data(as_text=True)
    again = client.get(f"/w/{code}?lang=en")
    assert again.status_code == 200 and "already answered today" in again.get_data(as_text=True)
    before = answer_count(app)
    refused = client.post(f"/w/{code}?lang=en", data={"csrf_token": _token(client),
                                                      "overall": "1"})
    assert refused.status_code == 409
    assert "already answered today" in refused.get_data(as_text=True)
    assert answer_count(app) == before and len(walk_ins(app, point_id)) == 1


def _token(client: FlaskClient) -> str:
    """A CSRF token of the client's session (any page with a form has one)."""
    return csrf_token_from(client.get("/auth/login").get_data(as_text=True))


def test_a_wrong_answer_is_explained_and_nothing_stored(app: Flask, client: FlaskClient) -> None:
    point_id, code = make_point(app)
    wrong = _send(client, code, {"done": "yes"}, "?lang=en")
    assert wrong.status_code == 400
    assert "Please answer this question." in wrong.get_data(as_text=True)
    assert walk_ins(app, point_id) == []


def test_an_old_code_says_it_is_no_longer_in_use(app: Flask, admin_client: FlaskClient) -> None:
    point_id, old = make_point(app)
    page = admin_client.get(f"/walk-in/points/{point_id}").get_data(as_text=True)
    made = admin_client.post(f"/walk-in/points/{point_id}/regenerate",
                             data={"csrf_token": csrf_token_from(page)})
    assert made.status_code == 302
    ended = admin_client.get(f"/w/{old}", headers={"Accept-Language": "tr"})
    assert ended.status_code == 410
    assert "Bu kod artık kullanılmıyor" in ended.get_data(as_text=True) or \
        "no longer in use" in ended.get_data(as_text=True)
    assert admin_client.get("/w/1-AAAAAAAAAAAAAAAA").status_code == 404
    assert admin_client.get("/w/" + "9" * 40).status_code == 404


def test_the_post_is_rate_limited(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(RATELIMIT_ENABLED=True, MEMNUN_WALKIN_RATE_LIMIT="2 per minute")
    client = app.test_client()
    _point_id, code = make_point(app)
    token = _token(client)
    statuses = [client.post(f"/w/{code}", data={"csrf_token": token}).status_code
                for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_a_point_is_created_and_its_poster_decodes_to_its_link(app: Flask,
                                                              admin_client: FlaskClient) -> None:
    make_point(app, code="DESK-0", unit="imar")  # the unit and questionnaire to choose
    page = admin_client.get("/walk-in/points").get_data(as_text=True)
    unit = re.search(r'<option value="(\d+)">\s*Imar', page)
    questionnaire = re.search(r'<option (?:selected )?value="(\d+)"[^>]*>[^<]*\(walk-in\)', page)
    assert unit and questionnaire, page
    created = admin_client.post("/walk-in/points", data={
        "csrf_token": csrf_token_from(page), "unit": unit.group(1), "code": "DESK-2",
        "name": "Branch office", "questionnaire": questionnaire.group(1)})
    assert created.status_code == 302
    point_page = admin_client.get(created.headers["Location"]).get_data(as_text=True)
    link = re.search(r'<code id="point-link">([^<]+)</code>', point_page)
    assert link and link.group(1).startswith(f"{BASE}/w/")
    point_id = created.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert qr_link(admin_client.get(f"/walk-in/points/{point_id}/qr.png").data) == link.group(1)
    poster = admin_client.get(f"/walk-in/points/{point_id}/poster").get_data(as_text=True)
    assert "Branch office" in poster and "Bugünkü ziyaretiniz" not in poster
    assert "Ziyaretiniz nasıldı" in poster or "How was your visit?" in poster
    pdf = admin_client.get(f"/walk-in/points/{point_id}/poster?format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert [qr_link(image) for image in pdf_images(pdf.data)] == [link.group(1)]
    card = admin_client.get(f"/walk-in/points/{point_id}/card?format=pdf")
    assert [qr_link(image) for image in pdf_images(card.data)] == [link.group(1)]
    svg = admin_client.get(f"/walk-in/points/{point_id}/qr.svg")
    assert svg.headers["Content-Type"] == "image/svg+xml" and b"<svg" in svg.data


def test_held_answers_are_reviewed(app: Flask, admin_client: FlaskClient) -> None:
    point_id, _code = make_point(app)
    answer(app, point_id, device="same")
    held = answer(app, point_id, {"overall": 1}, device="same")
    page = admin_client.get("/walk-in/held").get_data(as_text=True)
    assert "Central desk" in page and f'value="{held}"' in page
    accepted = admin_client.post("/walk-in/held/accept", data={
        "csrf_token": csrf_token_from(page), "response": str(held)})
    assert accepted.status_code == 302
    assert [row[1] for row in walk_ins(app, point_id)] == [False, False]
    assert "No walk-in answers are held." in admin_client.get("/walk-in/held").get_data(
        as_text=True)
    assert admin_client.post("/walk-in/held/accept", data={
        "csrf_token": csrf_token_from(page)}).status_code == 400


@pytest.mark.parametrize("path", ["/walk-in/points/{id}", "/walk-in/points/{id}/poster",
                                  "/walk-in/points/{id}/qr.png"])
def test_a_unit_manager_sees_only_their_units_points(app: Flask, client: FlaskClient,
                                                     path: str) -> None:
    other, _code = make_point(app, code="DESK-9", unit="imar")
    mine, _code = make_point(app, code="DESK-1", unit="cevre")
    login(client, "cevre@example.org", make_user(app, "cevre@example.org", "designer",
                                                 units=["cevre"]))
    assert client.get(path.format(id=mine)).status_code == 200
    assert client.get(path.format(id=other)).status_code == 404
    listed = client.get("/walk-in/points").get_data(as_text=True)
    assert "DESK-1" in listed and "DESK-9" not in listed


def test_viewers_may_not_manage_points(app: Flask, client: FlaskClient) -> None:
    point_id, _code = make_point(app)
    login(client, "viewer@example.org", make_user(app, "viewer@example.org", "viewer"))
    assert client.get("/walk-in/points").status_code == 403
    assert client.get("/walk-in/held").status_code == 403
    assert client.get(f"/walk-in/points/{point_id}/poster").status_code == 403
