"""The review pack's "What people said": the period's top themes with their change against the
compared period, a few of their comments, redacted for every reader who may not see personal
data, none from a small unit, and only a unit manager's own units in their pack."""

from __future__ import annotations

import datetime as dt
import html
import io
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select

from app.analytics.themes import all_themes
from app.extensions import db
from app.models import Answer, CommentTheme, Response, Unit
from app.models.types import utcnow
from app.reports.pack import THEME_EXAMPLES, TOP_THEMES, build_pack
from app.reports.render import pack_html, pack_pdf, pack_tables
from tests.support.factories import make_user
from tests.support.themes import LABELLED, build_labelled
from tests.support.web import csrf_token_from, login

FEB_1, FEB_28 = dt.date(2026, 2, 1), dt.date(2026, 2, 28)
JAN_1, JAN_31 = dt.date(2026, 1, 1), dt.date(2026, 1, 31)
EN = {"Accept-Language": "en"}
PLANTED = "Deniz Yılmaz, 0532 123 45 67, deniz.yilmaz@example.org"


@pytest.fixture
def themed(make_app: Any) -> Flask:
    """The labelled comments (January and February 2026) grouped into eight themes, and each
    theme's heaviest February comment with its writer's name, phone and e-mail typed in."""
    from app.scheduler import THEMES, run_job

    app = make_app(MEMNUN_TIMEZONE="UTC", MEMNUN_THEMES_COUNT=8)
    build_labelled(app)
    run_job(THEMES, None, app)
    with app.app_context():
        rows = db.session.execute(
            select(CommentTheme.theme_id, Answer)
            .join(Answer, Answer.id == CommentTheme.answer_id)
            .join(Response, Response.id == Answer.response_id)
            .where(Response.submitted_at >= dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
            .order_by(CommentTheme.weight.desc(), Answer.id)).all()
        planted: set[int] = set()
        for theme_id, answer in rows:
            if theme_id not in planted:
                planted.add(theme_id)
                answer.value_text = f"{answer.value_text} {PLANTED}"  # stored as typed
        db.session.commit()
    return app


def _counts(start: dt.date, end: dt.date, unit_codes: list[str]) -> dict[int, int]:
    """Each theme's comments in [start, end) in the units, counted here by hand."""
    rows = db.session.execute(
        select(CommentTheme.theme_id, func.count())
        .join(Answer, Answer.id == CommentTheme.answer_id)
        .join(Response, Response.id == Answer.response_id)
        .join(Unit, Unit.id == Response.unit_id)
        .where(Response.submitted_at >= dt.datetime.combine(start, dt.time(), dt.UTC),
               Response.submitted_at < dt.datetime.combine(end, dt.time(), dt.UTC),
               Unit.code.in_(unit_codes))
        .group_by(CommentTheme.theme_id))
    return dict(rows.all())


def test_the_pack_says_what_people_said_with_the_change_and_redacted_quotes(
        themed: Flask, backend: str) -> None:
    app = themed
    with app.test_request_context(headers=EN):
        pack = build_pack(FEB_1, FEB_28, None, "all", generated_at=utcnow(),
                          compared=(JAN_1, JAN_31))
        html = pack_html(pack)
        # Zabıta's three comments (January) are from a unit with three responses: never
        # counted. Every labelled comment has a theme.
        now = _counts(FEB_1, dt.date(2026, 3, 1), ["fen", "park"])
        before = _counts(JAN_1, FEB_1, ["fen", "park"])
        names = {t.id: t.title for t in all_themes()}
    said = pack.said
    assert said.comments == sum(now.values()) and said.withheld_units == 0
    assert len(said.themes) == min(TOP_THEMES, len(now))
    expected = sorted(now, key=lambda t: (-now[t], names[t]))[:TOP_THEMES]
    assert [t.title for t in said.themes] == [names[t] for t in expected]
    for theme, theme_id in zip(said.themes, expected, strict=True):
        assert theme.comments == now[theme_id]
        assert theme.share == pytest.approx(now[theme_id] / sum(now.values()))
        assert theme.change is not None
        assert theme.change.share == pytest.approx(before.get(theme_id, 0) / sum(before.values()))
        assert theme.change.difference == pytest.approx(theme.share - theme.change.share)
        assert 1 <= len(theme.examples) <= THEME_EXAMPLES
        assert len(set(theme.examples)) == len(theme.examples)
    # Quotes are the labelled texts, the heaviest first: with the planted personal data
    # masked (the pack is not an admin's).
    texts = {t for _topic, _lang, t in LABELLED}
    for theme in said.themes:
        first, *rest = theme.examples
        assert first.endswith("[name], [phone], [e-mail]") and first.split(" [name]")[0] in texts
        assert all(q in texts for q in rest)
    assert "0532" not in html and "deniz.yilmaz@" not in html and "Deniz Yılmaz" not in html
    assert 'id="said"' in html and "What people said" in html
    assert "Zabıta önündeki" not in html
    table = next(t for t in pack_tables(pack) if t.title == "Themes")
    assert [row[0] for row in table.rows] == [t.title for t in said.themes]
    # An admin's pack quotes the comment as typed.
    with app.test_request_context(headers=EN):
        typed = pack_html(build_pack(FEB_1, FEB_28, None, "all", generated_at=utcnow(),
                                     redact=False))
    assert typed.count(PLANTED) == len(said.themes)
    if backend == "sqlite":  # the PDF does not depend on the database
        pdf = pack_pdf(html)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "What people said" in text and said.themes[0].title.split(",")[0] in text
        assert "0532" not in text
    _over_http_each_reader_gets_their_own_units_and_redaction(app)


def _over_http_each_reader_gets_their_own_units_and_redaction(app: Flask) -> None:
    """(In the same test: the themes' set-up is most of its cost.)"""
    park_password = make_user(app, "park@example.org", "viewer", units=["park"])
    admin_password = make_user(app, "admin@example.org", "admin")

    def pack_of(email: str, password: str) -> str:
        client = app.test_client()
        login(client, email, password)
        token = csrf_token_from(client.get("/reports/", headers=EN).get_data(as_text=True))
        response = client.post("/reports/pack", headers=EN, data={
            "csrf_token": token, "start": "2026-02-01", "last": "2026-02-28", "unit": 0,
            "format": "html"})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    park = pack_of("park@example.org", park_password)
    said = park.split('id="said"')[1]
    quoted = [html.unescape(q.split("</blockquote>")[0].split(" [name]")[0])
              for q in said.split('<blockquote class="comment">')[1:]]
    # Park holds the labelled comments of even positions; fen's are never quoted.
    park_texts = {t for i, (_topic, _l, t) in enumerate(LABELLED) if i % 2 == 0}
    assert quoted and set(quoted) <= park_texts
    assert "0532" not in park and "Zabıta önündeki" not in park
    admin = pack_of("admin@example.org", admin_password)
    assert html.escape(PLANTED) in admin  # the admin reads as typed
