"""Keys and codes that a request names, turned into ids, or ``InvalidFields`` naming the field.

The API's listings and figures and the distribution rules all take a questionnaire by its key;
one lookup gives them one error for a key that does not exist.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import invalid
from app.extensions import db
from app.models import Questionnaire


def questionnaire_id(key: str, field: str = "questionnaire") -> int:
    """The id of the questionnaire ``key``; ``InvalidFields`` naming ``field`` when none."""
    found = db.session.scalar(select(Questionnaire.id).where(Questionnaire.key == key))
    if found is None:
        raise invalid(field, _("no questionnaire with the key %(key)s", key=key), "unknown_code")
    return found
