"""The comments explorer: scope, roles, search by word forms, score bands, small groups,
redaction and the CSV download (``app.reports.comments_views``, ``app.analytics.comments``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.support.comments import PERIOD, build_comments
from tests.support.factories import make_user
from tests.support.statements import counting
from tests.support.web import csrf_token_from, login


def _client(app: Flask, role: str = "designer", units: list[str] | None = None) -> FlaskClient:
    email = f"{role}-{'-'.join(units or ['all'])}@example.org"
    password = make_user(app, email=email, role=role, units=units)
    client = app.test_client()
    login(client, email, password)
    return client


def _page(client: FlaskClient, **args: Any) -> str:
    response = client.get("/reports/comments", query_string={**PERIOD, **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _ids(app: Flask, html: str) -> set[str]:
    """The comments a page shows, by their first words."""
    import re

    return {m.strip()[:12] for m in re.findall(r'<td class="comment"[^>]*>([^<]*)</td>', html)}


def test_what_a_designer_sees_searches_and_filters(app: Flask) -> None:
    build_comments(app)
    client = _client(app)
    html = _page(client)
    # Small groups: zabita (3 responses) and fen.yol (2) show nothing; fen and park do.
    assert "9 comments" in html and "4 more are not shown" in html
    assert "Parktaki çöpler" in html and "Çöp kutusu" in html
    assert "Zabıta hiç gelmedi" not in html and "Asfalt yapıldı" not in html
    # Personal data masked for a designer (only admins see the complainant's contact data).
    assert "0532 123 45 67" not in html and "10000000146" not in html
    assert "TR33 0006" not in html and "Ayşe Yılmaz" not in html
    assert "[phone]" in html and "[name]" in html and "[IBAN]" in html and "[id number]" in html
    # Word forms: "çöpler" finds "çöp"; two words must both be there, whatever the case.
    found = _page(client, q="çöpler")
    assert _ids(app, found) == {"Çöp kutusu g", "Parktaki çöp"}
    assert "2 comments" in found
    assert _ids(app, _page(client, q="ÇÖPLER kutusu")) == {"Çöp kutusu g"}
    # Score bands: NPS (0-10) and the overall rating (1-5).
    assert _ids(app, _page(client, band="promoters")) == {"Ekip çok hız", "Bahçıvanlar "}
    assert _ids(app, _page(client, band="passives")) == {"Salıncak ona"}
    assert _ids(app, _page(client, band="1-2")) == {
        "Çöp kutusu g", "Sokaktaki çu", "Parktaki çöp", "Çim biçilmed", "TC kimlik nu"}
    assert _ids(app, _page(client, band="detractors", q="çöp")) == {"Çöp kutusu g",
                                                                    "Parktaki çöp"}
    # Search syntax of either database is just text: no error, nothing but letters searched.
    assert "No comment matches." in _page(client, q="' OR 1=1 --")
    assert "9 comments" in _page(client, q="%_%")  # no word: nothing to search for
    assert "No comment matches." in _page(client, q="çöp:* | !x & (y")  # çöp, x and y
    assert _ids(app, _page(client, q="c\u0327o\u0308pler")) == {"Çöp kutusu g", "Parktaki çöp"}
    # Bad input: a clear 400, not a 500.
    assert client.get("/reports/comments", query_string={**PERIOD, "band": "x"}
                      ).status_code == 400
    assert client.get("/reports/comments", query_string={**PERIOD, "q": "a" * 201}
                      ).status_code == 400


def test_a_unit_manager_sees_only_their_units_whatever_the_role(app: Flask) -> None:
    build_comments(app)
    client = _client(app, units=["park"])
    assert _ids(app, _page(client)) == {"Parktaki çöp", "Salıncak ona", "Çim biçilmed",
                                        "Bahçıvanlar ", "Aydınlatma y"}
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Unit

        fen = db.session.scalar(select(Unit.id).where(Unit.code == "fen"))
    assert client.get("/reports/comments",
                      query_string={**PERIOD, "unit": fen}).status_code in (400, 403)
    # A unit manager with the viewer's role (an executive of the park department) reads the
    # same comments, redacted like everyone's but admins'.
    manager = _client(app, role="viewer", units=["park"])
    page = _page(manager)
    assert _ids(app, page) == {"Parktaki çöp", "Salıncak ona", "Çim biçilmed", "Bahçıvanlar ",
                               "Aydınlatma y"}
    assert "/reports/comments" in manager.get("/").get_data(as_text=True)
    assert manager.get("/reports/comments",
                       query_string={**PERIOD, "unit": fen}).status_code in (400, 403)
    executive = _page(_client(app, role="viewer"))  # the whole organisation, redacted
    assert "[phone]" in executive and "0532 123 45 67" not in executive


def test_admins_read_as_typed_and_the_download_follows_the_reader(app: Flask) -> None:
    from app.extensions import db

    build_comments(app)
    admin = _page(_client(app, role="admin"))
    assert "0532 123 45 67" in admin and "10000000146" in admin
    client = _client(app)
    token = csrf_token_from(_page(client))
    data = {**PERIOD, "q": "", "band": "", "unit": "0", "category": "0", "channel": ""}
    assert client.post("/reports/comments/export", data=data).status_code == 400  # no token
    response = client.post("/reports/comments/export", data={**data, "csrf_token": token})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    text = response.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 1 + 9
    assert "0532 123 45 67" not in text and "[phone]" in text and "Zabıta hiç" not in text
    # A comment that a spreadsheet would run as a formula is neutralised (fen.yol's, shown
    # once its responses count with park's).
    with app.app_context():
        from sqlalchemy import update

        from app.models import Response, Unit

        park = db.session.scalar(db.select(Unit.id).where(Unit.code == "park"))
        db.session.execute(update(Response).values(unit_id=park))
        db.session.commit()
    text = client.post("/reports/comments/export", data={**data, "q": "asfalt",
                                                         "csrf_token": token}
                       ).get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_the_page_costs_the_same_statements_for_two_comments_or_nine(app: Flask) -> None:
    from app.extensions import db

    build_comments(app)
    client = _client(app)
    with app.app_context():
        engine = db.engine
    with counting(engine) as few:
        assert "2 comments" in _page(client, q="çöp", band="1-2")
    with counting(engine) as many:
        assert "9 comments" in _page(client)
    assert len(few.statements) == len(many.statements) <= 14, many.statements


def test_the_survey_pages_comments_are_redacted_the_same_way(app: Flask) -> None:
    import datetime as dt

    from app.analytics import survey
    from app.analytics.filters import Filters
    from app.analytics.redaction import DEFAULT_LABELS

    build_comments(app)
    whole = Filters(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    with app.app_context():
        typed = " ".join(c.text for c in survey.comments(whole))
        masked = " ".join(c.text for c in survey.comments(whole, redact_with=DEFAULT_LABELS))
    assert "0532 123 45 67" in typed and "Ayşe Yılmaz" in typed
    assert "0532 123 45 67" not in masked and "Ayşe Yılmaz" not in masked
    assert "[phone]" in masked and "[name]" in masked


def test_the_c_stemmer_gives_the_stems_of_the_snowball_python_code() -> None:
    """Comments are stemmed when a survey is sent (``answer.search_terms``) by PyStemmer, the C
    build of the Snowball algorithms that ``snowballstemmer`` uses when it is installed (the
    pure-Python code took about 5 % of a survey visit's CPU). Its stems must be the ones the
    pure-Python code gives, or a search would miss comments stored before: checked here on
    every word of the four languages' catalogues."""
    import re
    from pathlib import Path

    import snowballstemmer
    from snowballstemmer import dutch_stemmer, english_stemmer, estonian_stemmer, turkish_stemmer

    from app import wordforms

    assert snowballstemmer.stemmer.__module__ == "Stemmer", "PyStemmer is not installed"
    python = {"tr": turkish_stemmer.TurkishStemmer(), "en": english_stemmer.EnglishStemmer(),
              "nl": dutch_stemmer.DutchStemmer(), "et": estonian_stemmer.EstonianStemmer()}
    translations = Path(wordforms.__file__).parent / "translations"
    text = " ".join(" ".join(re.findall(r'^msgstr "(.*)"$', path.read_text("utf-8"), re.M))
                    for path in translations.glob("*/LC_MESSAGES/messages.po"))
    for language, stemmer in python.items():
        words = sorted(set(wordforms.words(text, language)))
        assert len(words) > 1000, language
        c_stemmer = snowballstemmer.stemmer(wordforms.STEMMERS[language])
        differ = [w for w in words if c_stemmer.stemWord(w) != stemmer.stemWord(w)]
        assert differ == [], (language, differ[:20])
    assert wordforms.stems("Çöpler toplanmadı, konteynerler dolu", "tr") >= {"çöp", "cop"}
