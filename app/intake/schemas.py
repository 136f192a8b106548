"""Request schemas of the REST API v1.

These Pydantic models are the contract: they validate every request, and the OpenAPI document is
generated from them, so the two cannot drift apart. They check shape and format only; whether a
code exists or a transition makes sense is the services' business (it needs the database).

Strings are kept as sent (Turkish letters and all), except that text a database cannot store
(NUL, lone surrogates) and control characters in identifiers are refused here: PostgreSQL would
otherwise fail on them with a 500.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import zoneinfo
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.models import Channel, ComplaintStatus

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
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "invalid_email", _("is not a valid e-mail address: %(reason)s", reason=str(exc))
        ) from None
    return normalise_email(value)


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


def normalise_email(value: str) -> str:
    """The form in which e-mail addresses are stored and compared.

    Only ASCII letters are lower-cased: ``str.lower`` would turn a Turkish ``İ`` into ``i̇``
    (two characters), and addresses must survive unchanged apart from case.
    """
    return value.strip().translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

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


class UnitIn(ApiModel):
    """``PUT /units/<code>``: the whole unit (fields left out are cleared)."""

    name: Name
    parent: Code | None = Field(default=None, description="Code of the parent unit, or null.")


class CategoryIn(ApiModel):
    """``PUT /categories/<code>``: the whole category (fields left out are cleared)."""

    name: Name
    parent: Code | None = Field(default=None, description="Code of the parent category, or null.")
    committed_response_days: StrictInt | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="Days within which the organisation commits to resolve a complaint of this "
        "category; a child without one inherits its parent's.",
    )


class ComplainantIn(ApiModel):
    """The person behind the complaint; everything here is personal data."""

    name: Annotated[Text, Field(max_length=200)] | None = None
    email: Email | None = None
    phone: Annotated[Text, Field(max_length=40), AfterValidator(_phone)] | None = None
    language: Annotated[StrictStr, Field(max_length=35), AfterValidator(_language)] | None = None
    survey_consent: StrictBool = Field(
        description="Whether the complainant agreed to be asked about the handling."
    )


class ComplaintIn(ApiModel):
    """``POST /complaints``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "external_id": "CM-2026/0042",
        "received_at": "2026-03-01T14:30:00+03:00",
        "channel": "web",
        "category": "cop",
        "unit": "fen.yol",
        "subject": "Çöp alınmadı",
        "description": "Sokağımızdaki konteyner üç gündür boşaltılmadı.",
        "complainant": {"name": "Ayşe Yılmaz", "email": "ayse.yilmaz@example.com",
                        "language": "tr", "survey_consent": True},
    }]})

    external_id: ExternalId = Field(description="The complaint's id in the sending system.")
    received_at: PastDateTime
    channel: Channel
    category: Code = Field(description="Code of an existing category.")
    unit: Code = Field(description="Code of an existing unit.")
    subject: Annotated[Text, Field(max_length=300)] | None = None
    description: Annotated[Text, Field(max_length=20000)] | None = None
    due_at: AwareDateTime | None = Field(
        default=None,
        description="Committed response time; without it, received_at plus the category's "
        "committed response days.",
    )
    complainant: ComplainantIn

    @field_validator("due_at")
    @classmethod
    def _due_after_received(
        cls, value: dt.datetime | None, info: ValidationInfo
    ) -> dt.datetime | None:
        received_at = info.data.get("received_at")
        if value is not None and received_at is not None and value < received_at:
            raise PydanticCustomError(
                "due_before_received", _("must not be before received_at")
            )
        return value


DEFAULT_BATCH_MAX = 500


class ComplaintBatchIn(ApiModel):
    """``POST /complaints/batch``: complaints judged one by one, each as ``POST /complaints``
    would judge it. The document's ``maxItems`` is the server's MEMNUN_API_BATCH_MAX."""

    complaints: list[ComplaintIn] = Field(
        min_length=1,
        description="Each item is a ComplaintIn; an invalid item answers for itself and does "
        "not stop the others.",
    )


class BatchEnvelope(ApiModel):
    """The batch as it is first read: its items are validated one by one afterwards, so that
    one invalid complaint does not refuse the batch (``ComplaintBatchIn`` is its contract)."""

    complaints: list[Any] = Field(min_length=1)


class EventIn(ApiModel):
    """``POST /complaints/<id>/events``: a status change in the sending system."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"type": "resolved", "at": "2026-03-03T10:00:00+03:00",
         "note": "Konteyner boşaltıldı."},
    ]})

    type: EventKind
    at: PastDateTime
    note: Annotated[Text, Field(max_length=5000)] | None = None


def check_code(value: str) -> str | None:
    """Why ``value`` (a code in a URL) is not a valid code, or None when it is."""
    if len(value) > MAX_CODE_LENGTH or not CODE_RE.fullmatch(value):
        return code_rule()
    return None


# --- query strings ----------------------------------------------------------------------------
# Query parameters are validated by models too, so that the OpenAPI document lists them from
# the same source. Values arrive as text; numbers are converted (lax mode), nothing else is.

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# A "+" in a query string is decoded as a space unless the sender wrote %2B: accept
# "2026-03-01T14:30:00 03:00" as the "+03:00" it was meant to be.
_SPACE_FOR_PLUS_RE = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _plus_restored(value: Any) -> Any:
    if isinstance(value, str):
        return _SPACE_FOR_PLUS_RE.sub(r"\1+\2", value)
    return value


QueryDateTime = Annotated[AwareDateTime, BeforeValidator(_plus_restored)]


def _period_bound(value: Any) -> dt.date | dt.datetime:
    """A date (local midnight in the organisation's time zone) or a time with an offset."""
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("invalid_date", _("is not a valid date")) from None
    value = _aware_time(_plus_restored(value))
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "iso_datetime", _("must be a date (2026-03-01) or an ISO 8601 time with an offset")
        ) from None
    return _utc(parsed)


PeriodBound = Annotated[
    dt.date | dt.datetime,
    PlainValidator(_period_bound),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": "A date (midnight in the organisation's time zone) or an ISO 8601 "
            "time with a UTC offset.",
        }
    ),
]
Cursor = Annotated[
    StrictStr,
    Field(max_length=200, description="The next_cursor of the previous page, as it was given."),
]
PageSize = Annotated[
    int, Field(ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE} items a page.")
]


class ComplaintQuery(ApiModel):
    """``GET /complaints``: oldest change first, so that a client can follow the changes."""

    status: ComplaintStatus | None = Field(default=None, description="Only this status.")
    updated_since: QueryDateTime | None = Field(
        default=None, description="Only complaints changed at or after this time."
    )
    cursor: Cursor | None = None
    limit: PageSize = DEFAULT_PAGE_SIZE


class ResponseQuery(ApiModel):
    """``GET /responses``: oldest first."""

    since: QueryDateTime | None = Field(
        default=None, description="Only responses submitted at or after this time."
    )
    questionnaire: Code | None = Field(default=None, description="Key of a questionnaire.")
    cursor: Cursor | None = None
    limit: PageSize = DEFAULT_PAGE_SIZE


class GroupBy(enum.StrEnum):
    UNIT = "unit"
    CATEGORY = "category"
    CHANNEL = "channel"
    MONTH = "month"


class MetricsQuery(ApiModel):
    """``GET /metrics``: figures for the half-open period [from, to)."""

    from_: PeriodBound | None = Field(
        default=None, alias="from", description="Start, included. Default: 30 days before `to`."
    )
    to: PeriodBound | None = Field(default=None, description="End, excluded. Default: now.")
    unit: Code | None = Field(
        default=None, description="Code of a unit; the units below it are included."
    )
    category: Code | None = Field(
        default=None, description="Code of a category; the categories below it are included."
    )
    channel: Channel | None = Field(default=None, description="Only this channel.")
    questionnaire: Code | None = Field(
        default=None,
        description="Key of a questionnaire. Limits the survey figures and the invitations; "
        "complaint figures are not about questionnaires and ignore it.",
    )
    group_by: GroupBy | None = Field(
        default=None,
        description="unit and category group by the unit or category a complaint is assigned "
        "to (not rolled up); month uses the organisation's time zone. Without it: one group.",
    )


# --- distribution rules -----------------------------------------------------------------------

# ISO 8601 durations in weeks, days, hours and minutes ("PT24H", "P3D", "P1DT12H"). Years and
# months are refused: their length varies. Each number has at most six digits.
DURATION_RE = re.compile(
    r"P(?:(?P<weeks>\d{1,6})W)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?:(?P<hours>\d{1,6})H)?(?:(?P<minutes>\d{1,6})M)?)?"
)
MAX_DURATION_MINUTES = 366 * 24 * 60
SEND_WINDOW_RE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def duration_minutes(value: str) -> int:
    """``"PT24H"`` -> 1440; ValueError for anything but a duration in W, D, H and M."""
    match = DURATION_RE.fullmatch(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise ValueError(value)
    parts = {name: int(number or 0) for name, number in match.groupdict().items()}
    return ((parts["weeks"] * 7 + parts["days"]) * 24 + parts["hours"]) * 60 + parts["minutes"]


def format_duration(minutes: int) -> str:
    """The canonical ISO 8601 form of ``minutes``: 1440 -> "P1D", 90 -> "PT1H30M", 0 -> "PT0M"."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    if clock or not days:
        text += "T" + (clock or "0M")
    return text


def _duration(value: Any) -> int:
    if not isinstance(value, str) or len(value) > 40:
        raise PydanticCustomError(
            "invalid_duration", _("must be an ISO 8601 duration such as PT24H or P3D")
        )
    try:
        minutes = duration_minutes(value)
    except ValueError:
        raise PydanticCustomError(
            "invalid_duration",
            _("must be an ISO 8601 duration in weeks, days, hours and minutes, e.g. PT24H, "
              "P3D or P1DT12H"),
        ) from None
    if minutes > MAX_DURATION_MINUTES:
        raise PydanticCustomError("duration_range", _("must be at most 366 days"))
    return minutes


# Validated into whole minutes (the rule's columns); defaults are written as text, so the fields
# that use it validate their defaults too.
Duration = Annotated[
    int,
    PlainValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^P(\d{1,6}W)?(\d{1,6}D)?(T(\d{1,6}H)?(\d{1,6}M)?)?$",
            "maxLength": 40,
            "description": "ISO 8601 duration in weeks, days, hours and minutes (PT24H, P3D, "
            "P1DT12H). Answered in canonical form: PT24H comes back as P1D.",
        }
    ),
]


def _send_window(value: str) -> str:
    if not SEND_WINDOW_RE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_send_window", _("must be two local times, e.g. 09:00-20:00")
        )
    return value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _timezone(value: str) -> str:
    # Looked up in the list rather than by ZoneInfo(value), which would read a file named by
    # the caller ("../..", a directory) and raise errors of many kinds.
    if value not in _known_zones():
        raise PydanticCustomError(
            "invalid_timezone", _("must be an IANA time zone such as Europe/Istanbul")
        )
    return value


class RuleFilters(ApiModel):
    """Which complaints a rule covers; an empty list covers all. A parent unit or category
    covers the ones below it."""

    categories: list[Code] = Field(default_factory=list, max_length=200)
    units: list[Code] = Field(default_factory=list, max_length=200)
    channels: list[Channel] = Field(default_factory=list, max_length=20)


class DistributionRuleIn(ApiModel):
    """``PUT /distribution-rules/<key>``: the whole rule; fields left out take their defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "questionnaire": "post-resolution",
        "filters": {"categories": ["temizlik"], "units": [], "channels": ["web", "phone"]},
        "delay": "PT24H", "reminder_after": "P3D", "expires_after": "P14D",
        "sample_rate": 0.5, "fatigue_days": 30, "send_window": "09:00-20:00",
        "timezone": "Europe/Istanbul", "active": True, "priority": 10,
    }]})

    questionnaire: Code = Field(description="Key of the questionnaire to send.")
    filters: RuleFilters = Field(default_factory=RuleFilters)
    delay: Duration = Field(default="P1D", validate_default=True,
        description="Time after the resolution to send.")
    reminder_after: Duration = Field(
        default="P3D", validate_default=True,
        description="Time after sending to remind once; PT0M: no reminder."
    )
    expires_after: Duration = Field(
        default="P14D", validate_default=True,
        description="Time after sending after which the link no longer works."
    )
    sample_rate: StrictFloat = Field(
        default=1.0, ge=0, le=1,
        description="Share of matching complaints that get a survey (deterministic per "
        "complaint).",
    )
    fatigue_days: StrictInt = Field(
        default=30, ge=0, le=3650,
        description="Nobody gets more than one survey within this many days, across all rules.",
    )
    send_window: Annotated[StrictStr, AfterValidator(_send_window)] = Field(
        default="09:00-20:00",
        description="Local hours in which mail may go out; equal ends mean any time.",
        json_schema_extra={"pattern": r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"},
    )
    timezone: Annotated[StrictStr, Field(max_length=64), AfterValidator(_timezone)] | None = (
        Field(default=None, description="IANA time zone of the send window. Default: "
              "MEMNUN_TIMEZONE (Europe/Istanbul).")
    )
    active: StrictBool = True
    priority: StrictInt = Field(
        default=0, ge=-1000, le=1000,
        description="When several rules match a complaint, the highest priority wins.",
    )

    @field_validator("expires_after")
    @classmethod
    def _expiry_after_reminder(cls, value: int, info: ValidationInfo) -> int:
        reminder = info.data.get("reminder_after")
        if value <= 0:
            raise PydanticCustomError("duration_range", _("must be longer than zero"))
        if reminder and reminder >= value:
            raise PydanticCustomError(
                "reminder_after_expiry",
                _("must be longer than reminder_after: a reminder after the link expired "
                  "would be useless"),
            )
        return value
