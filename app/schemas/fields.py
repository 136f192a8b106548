"""Field types and validators shared by every request schema.

Strings are kept as sent (Turkish letters and all), except that text a database cannot store
(NUL, lone surrogates) and control characters in identifiers are refused here: PostgreSQL would
otherwise fail on them with a 500."""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app.emails import EmailNotValidError, normalise_email

# Times further ahead than this are refused: an event "in the future" is a clock or time zone
# bug at the sender (local time sent with +00:00), and would plan surveys and skew timeliness.
FUTURE_TOLERANCE = dt.timedelta(hours=1)
EARLIEST_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(2999, 12, 31, tzinfo=dt.UTC)

ISO_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
# Matched with fullmatch: "$" would let a trailing newline through.
CODE_RE = re.compile(r"\w[\w.\-]{0,63}")  # a first letter or digit: no "." or ".." codes
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
PHONE_RE = re.compile(r"\+?[0-9 ()./\-]{3,40}")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_CODE_LENGTH = 64


class EventKind(enum.StrEnum):
    """The status changes an integrator may report (``received`` is recorded by intake itself)."""

    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"


def _storable(value: str) -> str:
    """Refuse text that PostgreSQL cannot store (NUL) or that is not valid Unicode."""
    if "\x00" in value:
        raise PydanticCustomError("nul_character", _("must not contain the NUL character"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_unicode", _("must be valid Unicode text")
        ) from None
    return value


def _identifier(value: str) -> str:
    """Identifiers are matched exactly, so invisible differences must not slip in."""
    if CONTROL_RE.search(value):
        raise PydanticCustomError("control_character", _("must not contain control characters"))
    if value != value.strip():
        raise PydanticCustomError(
            "surrounding_space", _("must not start or end with white space")
        )
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", _("must not be empty"))
    return value


def code_rule() -> str:
    """What a unit or category code may look like, in words."""
    return _("must be at most 64 letters, digits, '_', '.' or '-', starting with a letter or "
             "digit")


def _code(value: str) -> str:
    if not CODE_RE.fullmatch(value):
        raise PydanticCustomError("invalid_code", code_rule())
    return value


def _aware_time(value: Any) -> Any:
    """Only ISO 8601 text: Pydantic would otherwise take numbers as Unix times."""
    if not isinstance(value, str) or not ISO_DATETIME_RE.match(value):
        raise PydanticCustomError(
            "iso_datetime",
            _("must be an ISO 8601 date and time with an offset, e.g. 2026-03-01T14:30:00+03:00"),
        )
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "naive_datetime",
            _("must have a UTC offset (e.g. +03:00 or Z); a time without one is ambiguous"),
        )
    try:
        value = value.astimezone(dt.UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", _("is out of range")) from None
    if not EARLIEST_TIME <= value <= LATEST_TIME:
        raise PydanticCustomError("datetime_range", _("is out of range"))
    return value


def _not_future(value: dt.datetime) -> dt.datetime:
    if value > dt.datetime.now(dt.UTC) + FUTURE_TOLERANCE:
        raise PydanticCustomError("future_datetime", _("must not be in the future"))
    return value


def _email(value: str) -> str:
    """The address in the one form it is stored and compared in (app/emails.py)."""
    try:
        return normalise_email(value)
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "invalid_email", _("is not a valid e-mail address: %(reason)s", reason=str(exc))
        ) from None


def _language(value: str) -> str:
    if not LANGUAGE_RE.fullmatch(value):
        raise PydanticCustomError("invalid_language", _("must be a language code such as tr or en"))
    # Questionnaires are translated per language, not per region: "tr-TR" means "tr".
    return re.split(r"[-_]", value, maxsplit=1)[0].lower()


def _phone(value: str) -> str:
    if not PHONE_RE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_phone", _("must be a phone number: digits, spaces, + ( ) . / -")
        )
    return value


Text = Annotated[StrictStr, AfterValidator(_storable)]
Code = Annotated[
    StrictStr,
    AfterValidator(_storable),
    AfterValidator(_code),
    WithJsonSchema({"type": "string", "pattern": r"^\w[\w.\-]{0,63}$", "maxLength": 64}),
]
Name = Annotated[
    StrictStr,
    Field(min_length=1, max_length=200),
    AfterValidator(_storable),
    AfterValidator(_not_blank),
]
AwareDateTime = Annotated[
    dt.datetime,
    BeforeValidator(_aware_time),
    AfterValidator(_utc),
    Field(description="ISO 8601 date and time with a UTC offset, e.g. 2026-03-01T14:30:00+03:00"),
]
# When something happened: not later than now (give or take the senders' clocks).
PastDateTime = Annotated[AwareDateTime, AfterValidator(_not_future)]
Email = Annotated[
    StrictStr,
    Field(max_length=320),
    AfterValidator(_storable),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]
ExternalId = Annotated[
    StrictStr,
    Field(min_length=1, max_length=128),
    AfterValidator(_storable),
    AfterValidator(_identifier),
]


class ApiModel(BaseModel):
    """Unknown fields are refused: a misspelt field silently ignored is worse than a 422."""

    model_config = ConfigDict(extra="forbid")
