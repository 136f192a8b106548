"""The baseline of the survey-visit benchmark: the least a survey visit can do in Flask.

A bare Flask app with flask-wtf's CSRF protection and nothing of Memnun: the link moves its token
into a cookie and redirects, the form page shows a CSRF token, and the POST checks it and stores
ten answers in one INSERT (three round trips: BEGIN, INSERT, COMMIT). The benchmark serves it
with the same gunicorn, workers and respondents as Memnun (``tests/support/load.py`` drives
both), so that the ratio of the two says what Memnun's own work costs.

Served as ``gunicorn 'tests.support.bare_survey:create_app()'`` with ``BARE_DATABASE_URL`` set.
"""

from __future__ import annotations

import os

from flask import Flask, redirect, render_template_string, request
from flask.typing import ResponseReturnValue
from flask_wtf import CSRFProtect, FlaskForm
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine, insert
from sqlalchemy.engine import Engine

from app.config import normalise_database_url

ANSWERS_PER_VISIT = 10
COOKIE = "bare_survey"
metadata = MetaData()
bare_answer = Table(
    "bare_answer",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("link", String(64), nullable=False),
    Column("question_key", String(64), nullable=False),
    Column("value_number", Float),
    Column("value_text", String(2000)),
)
PAGE = """<!doctype html><html lang="tr"><head><meta charset="utf-8"><title>Anket</title></head>
<body><form method="post" action="/s/survey" class="survey">
<input type="hidden" name="csrf_token" value="{{ form.csrf_token.current_token }}">
<fieldset><legend>Genel olarak ne kadar memnunsunuz?</legend>
{% for n in range(1, 6) %}<label><input type="radio" name="overall" value="{{ n }}">{{ n }}
</label>{% endfor %}</fieldset>
<label>Eklemek istedikleriniz <textarea name="comment"></textarea></label>
<button type="submit">Gönder</button></form></body></html>"""


def engine_for(url: str) -> Engine:
    return create_engine(normalise_database_url(url))


def create_schema(url: str) -> None:
    engine = engine_for(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()


def stored_visits(url: str) -> tuple[int, int]:
    """Distinct links with answers, and answer rows, in the baseline's table."""
    from sqlalchemy import func, select

    engine = engine_for(url)
    with engine.connect() as connection:
        links, rows = connection.execute(
            select(func.count(bare_answer.c.link.distinct()), func.count())
        ).one()
    engine.dispose()
    return int(links), int(rows)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("BARE_SECRET_KEY", "bare-survey-benchmark")
    app.config["WTF_CSRF_TIME_LIMIT"] = 24 * 3600
    CSRFProtect(app)
    engine = engine_for(os.environ["BARE_DATABASE_URL"])

    @app.get("/s/<token>")
    def link(token: str) -> ResponseReturnValue:
        response = redirect("/s/survey")
        response.set_cookie(COOKIE, token, path="/s", httponly=True, samesite="Lax")
        return response

    @app.route("/s/survey", methods=["GET", "POST"])
    def survey() -> ResponseReturnValue:
        link_token = request.cookies.get(COOKIE, "")
        if not link_token:
            return "no survey", 404
        form = FlaskForm()  # CSRFProtect has checked a POST's token before the view
        if request.method == "GET":
            return render_template_string(PAGE, form=form)
        overall = float(request.form.get("overall") or 0)
        comment = request.form.get("comment") or ""
        rows = [
            {
                "link": link_token[:64],
                "question_key": f"q{n}",
                "value_number": overall,
                "value_text": comment if n == 1 else None,
            }
            for n in range(ANSWERS_PER_VISIT)
        ]
        with engine.begin() as connection:
            connection.execute(insert(bare_answer), rows)
        return redirect("/s/thanks")

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return "ok"

    return app
