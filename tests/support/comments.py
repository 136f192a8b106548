"""A small world of comments for the comments explorer's tests: three units, one of them with
too few responses, complainants with names, and comments that name them."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.support.datasets.survey import SurveyData, utc
from tests.support.factories import make_complaint

PERIOD = {"period": "custom", "start": "2026-01-01", "last": "2026-01-31"}

#: (unit, overall 1-5, recommend 0-10, comment, complainant's name)
COMMENTS = [
    ("fen", 1, 2, "Çöp kutusu günlerdir taşıyor, kimse gelmedi.", "Ayşe Yılmaz"),
    ("fen", 2, 4, "Sokaktaki çukur hâlâ kapatılmadı. Beni 0532 123 45 67 numarasından arayın, "
                  "Ayşe Yılmaz", "Ayşe Yılmaz"),
    ("fen", 5, 10, "Ekip çok hızlı geldi, teşekkürler.", "Mehmet Öztürk"),
    ("fen.yol", 3, 7, "Asfalt yapıldı ama çizgiler çekilmedi.", "Elif Kaya"),
    ("fen.yol", 4, 9, "=HYPERLINK(\"http://evil.example\") asfalt iyi", "Can Demir"),
    ("fen", 1, 0, "TC kimlik numaram 10000000146, iade IBAN TR33 0006 1005 1978 6457 8413 26",
     "Hüseyin Çelik"),
    ("park", 2, 5, "Parktaki çöpler toplanmıyor, bank kırık.", "Zeynep Aksoy"),
    ("park", 4, 8, "Salıncak onarıldı, sağ olun.", "Burak Şahin"),
    ("park", 1, 3, "Çim biçilmedi, her yer ot.", "Deniz Arslan"),
    ("park", 5, 10, "Bahçıvanlar çok ilgili.", "Gül Yıldız"),
    ("park", 3, 6, "Aydınlatma yetersiz, akşam park karanlık.", "Kemal Acar"),
    ("zabita", 1, 1, "Seyyar satıcı çöpleri sokağa bırakıyor.", "Fatma Koç"),
    ("zabita", 2, 2, "Zabıta hiç gelmedi.", "Ali Veli"),
]


def build_comments(app: Flask) -> None:
    """The comments of ``COMMENTS`` (one response each in January 2026), plus one response
    without a comment in fen, park and zabita: fen has 5 responses, park 6, and fen.yol (2) and
    zabita (3) too few to show."""
    with app.app_context():
        data = SurveyData()
        day = 2
        for unit, overall, recommend, text, name in COMMENTS:
            _respond(data, unit, day, {"overall": overall, "recommend": recommend,
                                       "comment": text}, name)
            day += 1
        for unit in ("fen", "park", "zabita"):
            _respond(data, unit, 28, {"overall": 4, "recommend": 8}, "Sessiz Biri")
        data.commit()


def _respond(data: SurveyData, unit: str, day: int, answers: dict[str, Any], name: str) -> None:
    from app.models import Complainant, ComplaintStatus

    data.number += 1
    complainant = Complainant(name=name, language="tr", survey_consent=True)
    data.db.session.add(complainant)
    complaint = make_complaint(
        external_id=f"C-{data.number:04d}", received_at=utc(2025, 12, 20),
        category=data.categories["cop"], unit=data.units[unit], resolved_at=utc(2025, 12, 28),
        status=ComplaintStatus.RESOLVED, complainant=complainant)
    data.response(complaint, utc(2026, 1, day), answers)


def search_the_explorer(page: Any, start: str, last: str, words: str) -> list[str]:
    """In a browser: open the comments explorer from the menu (Turkish), search ``words`` in
    ``start`` to ``last`` (ISO dates) and give the comments shown."""
    page.click("nav >> text=Yorumlar")
    page.wait_for_selector("#comments-form")
    page.select_option("#comments-period", "custom")
    page.fill("#comments-start", start)
    page.fill("#comments-last", last)
    page.fill("#comments-q", words)
    page.click("#comments-form button[type=submit]")
    page.wait_for_selector("#comments-status")
    return shown_comments(page)


def shown_comments(page: Any) -> list[str]:
    """In a browser: the comments the explorer's table shows."""
    return [text.strip() for text in page.locator("#comments td.comment").all_inner_texts()]
