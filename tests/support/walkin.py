"""Walk-in service points made directly through the services, and reading their answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.design.services import install_template
from app.extensions import db
from app.models import Answer, Response, ServicePoint, Unit
from app.walkin import services
from tests.support.factories import node

REPO = Path(__file__).resolve().parents[2]
WALK_IN_TEMPLATE = REPO / "survey_templates" / "walk-in.yaml"
GOOD = {"overall": 5, "done": "yes"}


def make_point(app: Flask, code: str = "DESK-1", unit: str = "cevre",
               name: str = "Central desk") -> tuple[int, str]:
    """A service point of ``unit`` asking the shipped walk-in questionnaire: (id, link code)."""
    with app.app_context():
        questionnaire = install_template(WALK_IN_TEMPLATE)
        unit_id = node(Unit, unit).id
        db.session.commit()
        point, link = services.create_point(unit_id=unit_id, code=code, name=name,
                                            questionnaire_id=questionnaire.id, actor="test")
        return point.id, link


def answer(app: Flask, point_id: int, answers: dict[str, Any] | None = None, *,
           device: str = "device", at: dt.datetime | None = None,
           answered_here_today: bool = False) -> int:
    """A walk-in answer at the point, as the page would store it; returns its id."""
    with app.app_context():
        point = db.session.get(ServicePoint, point_id)
        assert point is not None
        version = services.point_version(point)
        assert version is not None
        day = (at or dt.datetime.now(dt.UTC)).date()
        fingerprint = services.device_fingerprint(point_id, device, "test-agent", day)
        return services.submit_walk_in(point, version, dict(answers or GOOD), "en",
                                       fingerprint=fingerprint,
                                       answered_here_today=answered_here_today, now=at).id


def walk_ins(app: Flask, point_id: int) -> list[tuple[int, bool, str | None]]:
    """(id, held, held_reason) of the point's answers, oldest first."""
    with app.app_context():
        rows = db.session.execute(select(Response.id, Response.held, Response.held_reason)
                                  .where(Response.service_point_id == point_id)
                                  .order_by(Response.id)).all()
        return [(row.id, row.held, row.held_reason) for row in rows]


def answer_count(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Answer.id)).all())


def qr_link(png: bytes) -> str:
    """The text of the one QR code in a PNG image (zxing-cpp through Pillow)."""
    import io

    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, f"{len(found)} codes found"
    return str(found[0].text)


def pdf_images(pdf: bytes) -> list[bytes]:
    """The images on the pages of a PDF, as PNG."""
    import io

    from pypdf import PdfReader

    images = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for image in page.images:
            buffer = io.BytesIO()
            image.image.save(buffer, format="PNG")
            images.append(buffer.getvalue())
    return images
