"""The QR code of a service point, and its poster and card as print-ready pages.

The QR code is made here by segno (no request leaves the server); the poster embeds it as a PNG
drawn large enough for print, so a PDF viewer, a printer and a test's decoder read the same
image. The poster says what it is for in each language the point's questionnaire speaks.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from app.languages import language_name
from app.models import ServicePoint
from app.reports.render import PdfUnavailable
from app.walkin.services import point_version

POSTER_SCALE = 16  # pixels per module: sharp at 8 cm on paper
CARD_SCALE = 10


def qr_code(link: str) -> segno.QRCode:
    # Error correction "M": a poster scuffed or partly covered at the desk still reads.
    return segno.make(link, error="m", micro=False)


def qr_png(link: str, scale: int = POSTER_SCALE) -> bytes:
    buffer = io.BytesIO()
    qr_code(link).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_svg(link: str) -> bytes:
    buffer = io.BytesIO()
    qr_code(link).save(buffer, kind="svg", scale=10, border=4, xmldecl=True,
                       title=link)
    return buffer.getvalue()


def _invitations(point: ServicePoint) -> list[dict[str, str]]:
    """What the poster says, once per language the point's survey speaks (ours first)."""
    version = point_version(point)
    spoken = current_app.config["MEMNUN_LANGUAGES"]
    languages = [code for code in (version.languages if version else spoken) if code in spoken]
    lines = []
    for code in languages or spoken:
        with force_locale(code):
            lines.append({
                "code": code,
                "name": language_name(code),
                "title": _("How was your visit? Tell us in half a minute."),
                "how": _("Scan the code with your phone's camera. The survey is anonymous: "
                         "we do not ask your name."),
            })
    return lines


def poster_page(point: ServicePoint, link: str, *, card: bool = False,
                inline_css: str | None = None) -> str:
    """The print-ready poster (A4) or card (A6) of ``point`` opening ``link``. ``inline_css``:
    the stylesheet written into the page (for the PDF, which fetches nothing)."""
    scale = CARD_SCALE if card else POSTER_SCALE
    image = base64.b64encode(qr_png(link, scale)).decode()
    context: dict[str, Any] = {
        "point": point, "link": link, "card": card, "qr": f"data:image/png;base64,{image}",
        "lines": _invitations(point), "inline_css": inline_css,
    }
    return render_template("walkin/poster.html", **context)


def poster_css() -> str:
    path = current_app.static_folder or ""
    with open(f"{path}/css/poster.css", encoding="utf-8") as handle:
        return handle.read()


def poster_pdf(html: str) -> bytes:
    """The poster page as PDF. Only its own QR image (a data: URL) may be read: nothing is
    fetched from anywhere. Raises ``PdfUnavailable`` where WeasyPrint cannot run."""
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:  # OSError: the Pango library cannot be loaded
        raise PdfUnavailable(str(exc)) from exc
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()
