"""Comment themes (``app.analytics.themes``): the significance test against scipy and
statsmodels, names carried over, the themes recovering known topics on a labelled set, the
scheduler's job storing them, and the explorer's theme filter and drill-down."""

from __future__ import annotations

import collections
import re
from typing import Any

import pytest
from flask import Flask
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from app.analytics.themes import (
    fisher_greater,
    fit_themes,
    holm,
    label,
    match_themes,
    overrepresented,
    terms_of,
    usual_words,
)
from app.wordforms import search_terms
from tests.support.factories import make_user
from tests.support.themes import LABELLED, THEMES_PERIOD, build_labelled
from tests.support.web import login

TABLES = [(12, 5, 3, 20), (0, 10, 4, 6), (7, 0, 0, 9), (3, 3, 3, 3), (1, 99, 0, 100),
          (40, 160, 10, 190), (0, 0, 0, 0), (5, 0, 5, 0), (250, 1750, 120, 1880)]


@pytest.mark.parametrize("table", TABLES)
def test_fishers_test_gives_scipys_p_value(table: tuple[int, int, int, int]) -> None:
    from scipy.stats import fisher_exact

    a, b, c, d = table
    expected = fisher_exact([[a, b], [c, d]], alternative="greater").pvalue
    assert fisher_greater(a, b, c, d) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_holm_gives_statsmodels_adjusted_p_values() -> None:
    from statsmodels.stats.multitest import multipletests

    raw = [0.001, 0.04, 0.03, 0.2, 0.0001, 0.049, 0.5, 1.0]
    assert holm(raw) == pytest.approx(list(multipletests(raw, method="holm")[1]))
    assert holm([]) == []


def test_overrepresentation_flags_what_detractors_write_about_more() -> None:
    # 200 detractors' and 200 promoters' comments; theme 1 is 30 % of the first, 5 % of the
    # second; theme 2 the same share in both; theme 3 more among promoters.
    found = {o.theme_id: o for o in overrepresented({1: (60, 10), 2: (20, 20), 3: (5, 40)},
                                                    200, 200)}
    assert found[1].significant and not found[2].significant and not found[3].significant
    assert found[1].detractor_share == 0.3 and found[1].promoter_share == 0.05
    assert found[1].adjusted == pytest.approx(min(1.0, 3 * fisher_greater(60, 140, 10, 190)))
    with pytest.raises(ValueError):
        fisher_greater(-1, 2, 3, 4)


def test_a_new_theme_continues_the_old_one_with_the_same_top_terms_and_no_other() -> None:
    old = [(["cop", "konteyner", "kok"], 1), (["yol", "cukur", "asfalt"], 2),
           (["fatur", "sayac"], 3)]
    new = [["yol", "asfalt", "kaldirim"], ["personel", "kaba"], ["cop", "konteyner", "kamyo"]]
    assert match_themes(old, new) == {0: 2, 2: 1}
    # Two new themes like one old one: the closer continues it, once.
    assert match_themes(old[:1], [["cop", "kok"], ["cop", "konteyner", "kok"]]) == {1: 1}
    # A merged theme (two term sets, one key) gathers both again.
    merged = [(["cop", "konteyner"], 7), (["water", "bill", "meter"], 7)]
    assert match_themes(merged, [["water", "meter", "bill"], ["cop", "konteyner", "kok"]]) == {
        0: 7, 1: 7}


def test_a_theme_is_named_by_the_words_people_wrote() -> None:
    texts = [("Çöpler toplanmadı", "tr"), ("Çöp kutusu dolu, çöp her yerde", "tr"),
             ("The bins smell", "en")]
    assert label(["cop", "bin", "xyz"], usual_words(texts)) == "çöp, bins, xyz"


def _documents() -> list[list[str]]:
    return [terms_of(search_terms(text, language), language) for _t, language, text in LABELLED]


def _purity(truth: list[str], found: list[int]) -> float:
    matrix = contingency_matrix(truth, found)
    return float(matrix.max(axis=0).sum() / matrix.sum())


def test_themes_recover_known_topics_in_turkish_and_english() -> None:
    """Four topics in two languages share no words across the languages, so eight themes is
    the right number: purity (each theme's share of its commonest topic, sklearn's
    contingency matrix) must be at least 0.85 (at most 12 of the 80 comments in a theme of
    another topic; eight random groups give about 0.3), and the adjusted Rand index against
    topic-and-language at least 0.7 (0 is chance, 1 a perfect match). Measured: purity 0.99,
    ARI 0.91; with the default twelve themes (topics split further) purity stays 0.99."""
    documents = _documents()
    topics = [topic for topic, _l, _t in LABELLED]
    fitted = fit_themes(documents, 8)
    found = [-1 if theme is None else theme for theme, _w in fitted.assigned]
    purity = _purity(topics, found)
    ari = adjusted_rand_score([f"{t}-{lang}" for t, lang, _x in LABELLED], found)
    print(f"labelled set: purity {purity:.3f}, adjusted Rand index {ari:.3f}")
    assert purity >= 0.85 and ari >= 0.7
    twelve = [-1 if t is None else t for t, _w in fit_themes(documents, 12).assigned]
    assert _purity(topics, twelve) >= 0.85
    # Deterministic: the same comments give the same themes.
    assert fit_themes(documents, 8).terms == fitted.terms
    assert fit_themes([], 8).terms == [] and fit_themes([["a"], []], 3).assigned[1] == (None, 0)


# --- stored, by the scheduler's job, and on the explorer --------------------------------------


def _run_job(app: Flask) -> Any:
    from app.scheduler import JOBS, THEMES, run_job

    assert THEMES in JOBS
    return run_job(THEMES, None, app)


def _themes(app: Flask) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import CommentTheme, Theme

    with app.app_context():
        sizes = dict(db.session.execute(select(CommentTheme.theme_id, func.count())
                                        .group_by(CommentTheme.theme_id)).all())
        return {t.label: (t.id, t.name, sizes.get(t.id, 0), t.size)
                for t in db.session.scalars(select(Theme))}


def _page(client: Any, **args: Any) -> str:
    response = client.get("/reports/comments", query_string={**THEMES_PERIOD, **args})
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_the_job_stores_themes_and_the_explorer_filters_and_tests_them(app: Flask) -> None:
    build_labelled(app)
    app.config["MEMNUN_THEMES_COUNT"] = 8
    assert _run_job(app) == 8
    themes = _themes(app)
    assert len(themes) == 8
    assert sum(n for _id, _name, n, _size in themes.values()) == 83  # every comment has one
    assert all(n == size for _id, _name, n, size in themes.values())
    # Named by words people wrote, not stems: "çöp" (stem "cop"), "garbage" (stem "garbag").
    garbage_tr = next(k for k in themes if k.split(", ")[0] in ("çöp", "çöpler"))
    garbage_en = next(k for k in themes if "garbage" in k.split(", "))
    assert not any(re.search(r"\b(garbag|pothol|cop)\b", k) for k in themes)

    password = make_user(app, email="designer@example.org", role="designer")
    client = app.test_client()
    login(client, "designer@example.org", password)
    page = _page(client)
    assert 'id="theme-counts"' in page
    # Garbage: every comment a detractor's, significantly more among detractors.
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\"><a[^>]*>([^<]*)</a>(.*?)</th>", page,
                      re.S)
    flagged = {name for name, rest in rows if "More among detractors" in rest}
    assert flagged == {garbage_tr, garbage_en}
    # The filter: only the theme's comments; small groups still withheld (zabita's three).
    theme_id = themes[garbage_tr][0]
    chosen = _page(client, theme=theme_id)
    shown = re.findall(r'<td class="comment"[^>]*>([^<]*)</td>', chosen)
    garbage_texts = {t for topic, lang, t in LABELLED if topic == "garbage" and lang == "tr"}
    assert shown and set(shown) <= garbage_texts and len(shown) >= 8
    assert "Zabıta önündeki" not in chosen
    # The drill-down: typical comments (redacted for a designer), by unit and by month.
    examples = re.findall(r'<li class="comment">([^<]*)</li>',
                          chosen.split('id="theme-examples"')[1].split("</ul>")[0])
    assert len(examples) == 3 and set(examples) <= garbage_texts
    by_month = chosen.split('id="theme-by-month"')[1].split("</table>")[0]
    assert "2026-01" in by_month and "2026-02" in by_month
    by_unit = chosen.split('id="theme-by-unit"')[1].split("</table>")[0]
    assert "Park ve Bahçeler" in by_unit and "Zabıta" not in by_unit
    # Its change against the compared period: February against the 28 days before it.
    feb = {"period": "custom", "start": "2026-02-01", "last": "2026-02-28"}
    changed = _page(client, **feb, theme=theme_id)
    assert "from Jan 4, 2026 to Jan 31, 2026" in changed
    row = re.search(r'aria-current="true">(.*?)</tr>', changed, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    now_share, before_share = (int(c.split()[0]) for c in cells[1:3])
    assert re.sub(r"<[^>]+>", "", cells[3]).startswith(f"{now_share - before_share:+d} points")
    by_unit = changed.split('id="theme-by-unit"')[1].split("</table>")[0]
    assert by_unit.count(" %</td>") == 4  # fen and park, now and before
    # A theme that does not exist is a clear 400, not a 500.
    assert client.get("/reports/comments",
                      query_string={**THEMES_PERIOD, "theme": 999999}).status_code == 400
    assert client.get("/reports/comments",
                      query_string={**THEMES_PERIOD, "theme": "x"}).status_code == 400


def test_the_team_renames_and_merges_themes_and_both_survive_a_recomputation(
        app: Flask) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AuditLog, Theme

    build_labelled(app)
    app.config["MEMNUN_THEMES_COUNT"] = 8
    _run_job(app)
    themes = _themes(app)
    road_en = next(v[0] for k, v in themes.items() if "road" in k.split(", "))
    road_tr = next(v[0] for k, v in themes.items() if "yol" in k.split(", ")
                   or "asfalt" in k.split(", "))
    garbage = next(v[0] for k, v in themes.items() if "garbage" in k.split(", "))
    password = make_user(app, email="designer@example.org", role="designer")
    client = app.test_client()
    login(client, "designer@example.org", password)
    page = _page(client, theme=road_en)
    assert 'id="theme-rename"' in page and 'id="theme-merge"' in page
    from tests.support.web import csrf_token_from

    token = csrf_token_from(page)
    url = f"/reports/themes/{road_en}/rename"
    assert client.post(url, data={"name": "Roads"}).status_code == 400  # no CSRF token
    moved = client.post(url, query_string=THEMES_PERIOD,
                        data={"name": "  Roads   and potholes ", "csrf_token": token})
    assert moved.status_code == 302 and f"theme={road_en}" in moved.headers["Location"]
    assert "period=custom" in moved.headers["Location"]
    assert client.post(url, data={"name": "x" * 201, "csrf_token": token}).status_code == 400
    merge = f"/reports/themes/{road_tr}/merge"
    assert client.post(merge, data={"into": road_tr, "csrf_token": token}).status_code == 400
    assert client.post(merge, data={"into": road_en, "csrf_token": token}).status_code == 302
    assert client.post("/reports/themes/999999/rename",
                       data={"name": "x", "csrf_token": token}).status_code == 404
    # Not the team: a viewer, and a designer given units (themes are the organisation's).
    viewer_password = make_user(app, email="viewer@example.org", role="viewer")
    viewer = app.test_client()
    login(viewer, "viewer@example.org", viewer_password)
    viewer_page = _page(viewer, theme=road_en)
    assert 'id="theme-rename"' not in viewer_page
    assert viewer.post(url, data={"name": "Mine", "csrf_token": csrf_token_from(viewer_page)}
                       ).status_code == 403
    unit_password = make_user(app, email="park@example.org", role="designer", units=["park"])
    park = app.test_client()
    login(park, "park@example.org", unit_password)
    park_token = csrf_token_from(_page(park))
    assert park.post(url, data={"name": "Mine", "csrf_token": park_token}).status_code == 403
    with app.app_context():
        assert db.session.get(Theme, road_tr) is None
        road = db.session.get(Theme, road_en)
        assert road.name == "Roads and potholes" and road.size == 20
        assert sorted(a.action for a in db.session.scalars(select(AuditLog)).all()
                      if a.action.startswith("theme.")) == ["theme.merge", "theme.rename"]
    _run_job(app)  # the same comments: the same themes, and the team's changes stand
    after = _themes(app)
    assert len(after) == 7
    named = {v[0]: (v[1], v[2]) for v in after.values()}
    assert named[road_en] == ("Roads and potholes", 20)  # both languages' road comments
    assert garbage in named and named[garbage][0] is None  # the same row, still unnamed
    assert collections.Counter(v[1] for v in after.values())[None] == 6
    page = _page(client, theme=road_en)
    assert "Theme: Roads and potholes" in page
