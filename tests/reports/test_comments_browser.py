"""The comments explorer in Chromium, in Turkish: a designer chooses the period, searches by
another form of a word, narrows to detractors, pages back to everything; axe-core on the way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.browser import (
    IMPACTS,
    RUN_AXE,
    axe_source,
    launch_chromium,
    log_in,
    served_sqlite_app,
    watched_page,
)
from tests.support.comments import build_comments, search_the_explorer, shown_comments
from tests.support.factories import make_user
from tests.support.server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("processes")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served_sqlite_app(tmp_path_factory.mktemp("comments")) as live:
        build_comments(live.app)
        yield live


def test_a_designer_explores_the_comments_in_turkish(site: LiveServer) -> None:
    password = make_user(site.app, "tasarim@example.org", "designer")
    with launch_chromium() as browser, watched_page(
            browser, locale="tr-TR", viewport={"width": 1280, "height": 900}) as page:
        page.set_default_timeout(15_000)
        page.context.add_init_script(script=axe_source())
        log_in(page, site.url, "tasarim@example.org", password)
        shown = search_the_explorer(page, "2026-01-01", "2026-01-31", "çöpler")
        assert len(shown) == 2, shown
        assert any(text.startswith("Çöp kutusu") for text in shown)  # "çöp" by "çöpler"
        assert "2 yorum" in page.inner_text("#comments-status")
        violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in IMPACTS]
        assert violations == [], violations
        page.select_option("#comments-band", "promoters")
        page.fill("#comments-q", "")
        page.click("#comments-form button[type=submit]")
        page.wait_for_selector("#comments-status")
        assert sorted(shown_comments(page)) == ["Bahçıvanlar çok ilgili.",
                                        "Ekip çok hızlı geldi, teşekkürler."]
        page.select_option("#comments-band", "")
        page.click("#comments-form button[type=submit]")
        page.wait_for_selector("#comments-status")
        shown = shown_comments(page)
        assert len(shown) == 9
        assert not any("0532" in text for text in shown)  # masked for a designer
        with page.expect_download() as download:
            page.click("#comments-export [type=submit]")
        assert download.value.suggested_filename.endswith(".csv")
        assert page.problems == []  # type: ignore[attr-defined]
