"""Script injection, in a real browser: payloads in every free-text field (complaint texts, text
answers, follow-up notes, the complainant's name), in unit and category names and in a
questionnaire's title and question texts are shown as text in the admin pages, the dashboards
and the review pack, and nothing runs.

The escaping is checked with the Content-Security-Policy switched off in the browser
(``bypass_csp``), so that it is the escaping that holds and not the CSP that hides a hole; the CSP
is then checked on its own: sent on staff pages and the dashboards, strict for scripts, and the
dashboards still work under it.

Skips when Chromium or Playwright is missing, except under CI=true, where that is a failure.
SQLite only: what a browser runs does not depend on the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import launch_chromium, log_in, served_sqlite_app, watched_page
from tests.support.factories import make_user
from tests.support.web import csrf_token_from, login

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
ATTRIBUTE = '"><img src=x onerror=window.__xss=1>'
DIALOG = "'><svg onload=alert(1)>"
LINK = "javascript:window.__xss=1//"
TEMPLATE = "{{7*7}}"
PAYLOADS = [SCRIPT, ATTRIBUTE, DIALOG, LINK, TEMPLATE]
PERIOD = "from=2024-12-01&to=2025-01-31"
ADMIN, PASSWORD = "admin@example.org", "correct horse battery"
# Records scripts that should never run, and every CSP violation (for the CSP test).
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""
JAVASCRIPT_URLS = """
[...document.querySelectorAll('[href],[src],[action],[formaction]')]
  .map(e => ['href', 'src', 'action', 'formaction'].map(a => e.getAttribute(a) || '').join(' '))
  .filter(v => /(^|\\s)\\s*javascript:/i.test(v))
"""


def _mixed(n: int) -> str:
    """Payload text for the n-th field: every payload, starting at a different one."""
    return " ".join(PAYLOADS[n % len(PAYLOADS):] + PAYLOADS[:n % len(PAYLOADS)])


def _questionnaire() -> int:
    """The shipped post-resolution questionnaire with payloads for its title and questions;
    returns its version's id."""
    from app.design.services import create_questionnaire, template_paths
    from app.questionnaires.documents import parse_questionnaire

    path = next(p for p in template_paths() if p.stem == "post-resolution")
    definition = parse_questionnaire(path.read_text(encoding="utf-8"))
    definition["key"] = "xss-test"
    definition["title"] = {language: _mixed(0) for language in definition["languages"]}
    for n, question in enumerate(definition["questions"], start=1):
        question["text"] = {language: _mixed(n) for language in definition["languages"]}
    questionnaire = create_questionnaire(definition, publish_now=True)
    return questionnaire.id


def _fill(app: Any) -> dict[str, int]:
    """Units, categories, a questionnaire, responses with comments, a follow-up with notes,
    complaints and complainants, every text a payload."""
    from sqlalchemy import select

    from app.extensions import db
    from app.followup.services import add_note, open_follow_up_if_needed
    from app.models import Complaint, QuestionnaireVersion, User
    from tests.support.datasets.reports import Data, at

    make_user(app, ADMIN, "admin", PASSWORD)
    with app.app_context():
        data = Data().setup(unit_names={"city": _mixed(0), "fen": _mixed(1), "park": _mixed(2),
                                        "zabita": _mixed(3)})
        for n, category in enumerate(data.categories.values()):
            category.name = _mixed(n + 1)
        questionnaire_id = _questionnaire()
        data.version = db.session.scalar(select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == questionnaire_id))
        lows = []
        for n, unit in enumerate(("fen", "park", "zabita")):
            data.bulk_responses(unit, at(2025, 1, 8), [5, 4, 4, 5, 3, 2])
            lows += [data.response(unit, at(2025, 1, 10 + day), overall=1 + day % 2, nps=3,
                                   resolved=False, comment=_mixed(n + day),
                                   email=f"{unit}{day}@example.org") for day in range(5)]
        db.session.commit()
        for n, complaint in enumerate(db.session.scalars(select(Complaint))):
            complaint.subject, complaint.description = _mixed(n), _mixed(n + 1)
            if complaint.complainant is not None:
                complaint.complainant.name = _mixed(n + 2)
        db.session.commit()
        admin = db.session.scalar(select(User).where(User.email == ADMIN))
        follow_up = open_follow_up_if_needed(lows[0])
        for n in range(len(PAYLOADS)):
            add_note(follow_up, _mixed(n), admin)
        return {"follow_up": follow_up.id}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with served_sqlite_app(tmp_path_factory.mktemp("xss")) as live:
        live.ids = _fill(live.app)
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def _pages(ids: dict[str, int]) -> dict[str, str | None]:
    """Path -> a selector to wait for (dashboards draw after their callbacks)."""
    follow_up = ids["follow_up"]
    base = "/admin/questionnaires/xss-test/versions/1"
    return {
        "/admin/questionnaires/": None, base: None, f"{base}/preview": None,
        f"{base}/edit": None, f"{base}/texts": None, f"{base}/questions/overall": None,
        "/follow-ups/": None, f"/follow-ups/{follow_up}": None,
        "/reports/": None, "/reports/targets": None,
        f"/dashboards/?{PERIOD}": "#kpis .kpi, #kpis div",
        f"/dashboards/drill?{PERIOD}": "#drill-table table, #drill-table div",
        f"/dashboards/complaints?{PERIOD}": "#link-table table, #link-table div",
        f"/dashboards/survey?{PERIOD}&questionnaire=xss-test": "#survey-comments li, "
                                                                "#survey-comments div",
        f"/dashboards/operations?{PERIOD}": "#ops-funnel .main-svg",
    }


def _open(page: Any, url: str, ready: str | None) -> Any:
    """Open ``url``; for a dashboard, wait until its figures are drawn and its callbacks done.
    (Other pages are done at the load event, which waits for every image, failed or not.)"""
    response = page.goto(url)
    if ready:
        page.wait_for_selector(ready, timeout=15000)
        page.wait_for_load_state("networkidle")
    return response


def _check(page: Any, dialogs: list[str]) -> list[str]:
    problems = []
    if page.evaluate("window.__xss") is not None:
        problems.append("window.__xss was set")
    if dialogs:
        problems.append(f"dialogs opened: {dialogs}")
    links = page.evaluate(JAVASCRIPT_URLS)
    if links:
        problems.append(f"javascript: URLs in the page: {links}")
    return problems


def test_payloads_are_shown_as_text_and_never_run(served, browser) -> None:  # type: ignore[no-untyped-def]
    problems: dict[str, list[str]] = {}
    shown_literally = []
    with watched_page(browser, bypass_csp=True, viewport={"width": 1280, "height": 900}) as page:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        log_in(page, served.url, ADMIN, PASSWORD)
        for path, ready in _pages(served.ids).items():
            response = _open(page, served.url + path, ready)
            assert response.status == 200, (path, response.status)
            found = _check(page, dialogs)
            if found:
                problems[path] = found
            text = page.inner_text("body")
            if SCRIPT in text and TEMPLATE in text:
                shown_literally.append(path)
    assert not problems, problems
    # The payloads were there to be run, shown as the text they are (not parsed, not dropped).
    assert {f"/follow-ups/{served.ids['follow_up']}", "/admin/questionnaires/",
            f"/dashboards/survey?{PERIOD}&questionnaire=xss-test",
            f"/dashboards/drill?{PERIOD}"} <= set(shown_literally), shown_literally


def test_the_review_pack_runs_nothing(served, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = served.app.test_client()
    login(client, ADMIN, PASSWORD)
    token = csrf_token_from(client.get("/reports/").get_data(as_text=True))
    pack = client.post("/reports/pack", data={"csrf_token": token, "unit": "0",
                                              "start": "2024-12-01", "last": "2025-01-31",
                                              "format": "html"})
    assert pack.status_code == 200
    html = pack.get_data(as_text=True)
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html  # the unit names, escaped
    path = tmp_path / "pack.html"
    path.write_text(html, encoding="utf-8")
    # Opened as a downloaded file is: from disk, without any CSP from our server.
    with watched_page(browser) as page:
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        assert _check(page, dialogs) == []
        assert SCRIPT in page.inner_text("body")


def test_a_strict_csp_is_sent_and_the_dashboards_work_under_it(served, browser) -> None:  # type: ignore[no-untyped-def]
    client = served.app.test_client()
    login(client, ADMIN, PASSWORD)
    for path in ("/", "/reports/", "/admin/questionnaires/", "/follow-ups/", "/dashboards/",
                 "/auth/login"):
        policy = client.get(path).headers.get("Content-Security-Policy", "")
        directives = {part.split()[0]: part.split()[1:] for part in policy.split(";")
                      if part.strip()}
        assert directives.get("default-src") == ["'self'"], (path, policy)
        assert directives.get("frame-ancestors") == ["'none'"], (path, policy)
        assert directives.get("object-src") == ["'none'"], (path, policy)
        assert {"base-uri", "form-action"} <= set(directives), (path, policy)
        scripts = directives.get("script-src", directives["default-src"])
        assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, (path, policy)
    with watched_page(browser, viewport={"width": 1280, "height": 900}) as page:
        page.add_init_script(WATCH)
        log_in(page, served.url, ADMIN, PASSWORD)
        # Where the policy could get in the way: Dash's inline start-up script and the styles
        # Plotly inserts, the preview's data: images.
        pages = {path: ready for path, ready in _pages(served.ids).items()
                 if ready or path.endswith(("/preview", "/follow-ups/"))}
        for path, ready in pages.items():
            _open(page, served.url + path, ready)
            assert page.evaluate("window.__violations") == [], path
        assert page.locator(".js-plotly-plot").count() > 0  # the charts were drawn
        assert page.problems == []  # type: ignore[attr-defined]
