"""Names from outside in the figures: Plotly renders a subset of HTML in labels, titles and
hover texts, so a unit called ``<a href="https://evil.example/">Oturum sona erdi</a>`` (set
through an intake key) would be a link on the dashboards that looks like ours. Every name
(unit, category, questionnaire, question texts, option labels) reaches a figure escaped, and
still shows as its plain text."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import Category, Questionnaire, QuestionnaireVersion, Unit
from tests.support.dashboards import FILTER_INPUTS, PAGE_OUTPUTS
from tests.support.factories import make_user
from tests.support.web import login

CALLBACK = "/dashboards/_dash-update-component"
EVIL = '<a href="https://evil.example/">Oturum sona erdi</a> <b>acil</b>'
ESCAPED = "&lt;a href=\"https://evil.example/\"&gt;Oturum sona erdi&lt;/a&gt;"
FIGURES = PAGE_OUTPUTS


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app(MEMNUN_TIMEZONE="UTC")


@pytest.fixture
def evil_names(app: Flask, data: Any) -> None:
    """The generated dataset with every name, title, question text and option label evil."""
    with app.app_context():
        for row in [*db.session.scalars(select(Unit)), *db.session.scalars(select(Category))]:
            row.name = f"{EVIL} {row.code}"
        for questionnaire in db.session.scalars(select(Questionnaire)):
            questionnaire.title = EVIL
        for version in db.session.scalars(select(QuestionnaireVersion)):
            definition = dict(version.definition)
            definition["title"] = {"tr": EVIL, "en": EVIL}
            definition["questions"] = [
                {**q, "text": {"tr": f"{EVIL} {q['key']}", "en": f"{EVIL} {q['key']}"}}
                for q in definition["questions"]]
            # Published versions are immutable through the ORM: written as a table row here.
            db.session.execute(update(QuestionnaireVersion.__table__)
                               .where(QuestionnaireVersion.__table__.c.id == version.id)
                               .values(definition=definition))
        db.session.commit()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def _figures(client: FlaskClient, token: str, output: str, questionnaire: str | None
             ) -> list[dict[str, Any]]:
    parts = output.strip(".").split("...")
    values = ["2024-10-01", "2025-03-31", None, None, None, questionnaire, "month", 0, None, None,
              None, None]
    response = client.post(CALLBACK, headers={"X-CSRFToken": token}, json={
        "output": output,
        "outputs": [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts],
        "inputs": [{"id": i, "property": p, "value": v}
                   for (i, p), v in zip(FILTER_INPUTS, values, strict=True)],
        "changedPropIds": ["unit.value"], "state": [],
    })
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()["response"]
    return [props["figure"] for props in answer.values() if "figure" in props]


def test_no_figure_carries_markup_from_a_name(app: Flask, client: FlaskClient,
                                              evil_names: None) -> None:
    login(client, "a@example.org", make_user(app, "a@example.org", role="admin"))
    client.get("/dashboards/")
    cookie = client.get_cookie("_csrf_token", path="/dashboards/")
    assert cookie is not None
    shown = []
    for name, output in FIGURES.items():
        for questionnaire in (None, "q", "ipa"):
            for figure in _figures(client, cookie.value, output, questionnaire):
                texts = _strings(figure)
                unsafe = [t for t in texts if "<a" in t or "<b>" in t or "evil.example/\">" in t]
                assert not unsafe, (name, questionnaire, unsafe[:3])
                shown += [t for t in texts if ESCAPED in t]
    # The names are still there, as text: in the treemap, the scatter, the question titles.
    assert len(shown) >= 3
