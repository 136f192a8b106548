"""The organisation's settings: the one way to read them, and the one way to change them.

``organisation_settings()`` answers what the organisation is called, who sends its e-mails,
its language and time zone, and whom the privacy notice names as data controller. A value
nobody set on the settings page comes from the configuration (``MEMNUN_ORGANISATION_NAME``,
``MEMNUN_MAIL_FROM``, ``MEMNUN_DEFAULT_LANGUAGE``, ``MEMNUN_TIMEZONE``), so an install that
never opened the page works as before. The answer is read once per application context (one
request, one CLI command, one scheduler job) and kept in ``flask.g``: every use after the
first costs no query. Each process also keeps what it read for ``PROCESS_CACHE_SECONDS``, so
a survey page costs no extra statement: a change on the settings page shows at once in the
process that made it and within that time in the others (other web workers, the scheduler).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from email.utils import formataddr, parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import load_only

from app.errors import InvalidFields, invalid
from app.extensions import db
from app.models import AuditLog, OrganisationSettings
from app.models.types import utcnow

ROW_ID = 1
log = logging.getLogger(__name__)
_CACHE = "_memnun_organisation_settings"
_PROCESS_CACHE = "memnun_organisation_settings"  # in app.extensions: (read at, settings)
PROCESS_CACHE_SECONDS = 30.0

#: Logo files: PNG, JPEG or WebP (never SVG, which can carry script), at most this many bytes.
LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}

TEXT_FIELDS = (
    "name",
    "short_name",
    "sender_name",
    "sender_address",
    "default_language",
    "timezone",
    "controller_name",
    "controller_contact",
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The settings in force (stored value, else the configuration's)."""

    name: str
    short_name: str
    sender_name: str
    sender_address: str
    default_language: str
    timezone: str
    controller_name: str
    controller_contact: str
    logo_sha256: str | None = None
    logo_type: str | None = None

    @property
    def mail_from(self) -> str:
        """The ``From`` header of every e-mail Memnun sends; an internationalised domain in its
        IDNA form, which is what a header can carry without SMTPUTF8."""
        local, at, domain = self.sender_address.rpartition("@")
        if at and not domain.isascii():
            domain = domain.encode("idna").decode("ascii")
        return formataddr((self.sender_name, f"{local}{at}{domain}"), charset="utf-8")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def has_logo(self) -> bool:
        return self.logo_sha256 is not None


def configured_defaults(config: Any) -> Settings:
    """The settings an install has before anyone saves the settings page."""
    name = config.get("MEMNUN_ORGANISATION_NAME") or "Memnun"
    sender_name, sender_address = parseaddr(config.get("MEMNUN_MAIL_FROM") or "")
    return Settings(
        name=name,
        short_name=name,
        sender_name=sender_name or name,
        sender_address=sender_address or "no-reply@memnun.localhost",
        default_language=config.get("BABEL_DEFAULT_LOCALE") or "tr",
        timezone=config.get("MEMNUN_TIMEZONE") or "Europe/Istanbul",
        controller_name=name,
        controller_contact="",
    )


def _stored() -> OrganisationSettings | None:
    return db.session.scalar(
        select(OrganisationSettings)
        .options(
            load_only(
                *(
                    getattr(OrganisationSettings, f)
                    for f in (*TEXT_FIELDS, "logo_sha256", "logo_type")
                )
            )
        )
        .where(OrganisationSettings.id == ROW_ID)
    )


def _merge(defaults: Settings, row: OrganisationSettings | None) -> Settings:
    if row is None:
        return defaults
    values = {field: getattr(row, field) for field in TEXT_FIELDS}
    chosen = {field: value for field, value in values.items() if value}
    # A name given on the page also names what was left to follow it.
    if row.name:
        for follower in ("short_name", "controller_name"):
            chosen.setdefault(follower, row.name)
        if not row.sender_name and defaults.sender_name == defaults.name:
            chosen["sender_name"] = row.name
    return dataclasses.replace(
        defaults, **chosen, logo_sha256=row.logo_sha256, logo_type=row.logo_type
    )


def organisation_settings() -> Settings:
    """The organisation's settings, read once per application context (see the module)."""
    cached = g.get(_CACHE) if has_app_context() else None
    if cached is not None:
        return cached
    kept = current_app.extensions.get(_PROCESS_CACHE)
    if kept is not None and time.monotonic() - kept[0] < PROCESS_CACHE_SECONDS:
        g.setdefault(_CACHE, kept[1])
        return kept[1]
    defaults = configured_defaults(current_app.config)
    try:
        stored = _stored()
    except (OperationalError, ProgrammingError):
        # The database is down or not migrated yet: a page that only names the organisation
        # (a survey's "busy" page, the login page) still works, with the configured name.
        db.session.rollback()
        log.warning("organisation settings unreadable; using the configuration's")
        return defaults
    settings = _merge(defaults, stored)
    g.setdefault(_CACHE, settings)
    current_app.extensions[_PROCESS_CACHE] = (time.monotonic(), settings)
    return settings


def forget_cached_settings() -> None:
    """After a change: the next ``organisation_settings()`` reads the database again."""
    g.pop(_CACHE, None)
    current_app.extensions.pop(_PROCESS_CACHE, None)


def check_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def save_settings(actor: str, changes: dict[str, str | None]) -> Settings:
    """Store ``changes`` (field -> value; blank means "back to the configuration's value").

    Refuses an unknown time zone or language with ``InvalidFields`` and stores nothing then.
    """
    problems: list[dict[str, str]] = []
    zone = (changes.get("timezone") or "").strip()
    if zone and not check_timezone(zone):
        problems.append(
            {
                "field": "timezone",
                "type": "unknown_timezone",
                "message": _("Not a time zone (for example Europe/Istanbul)."),
            }
        )
    language = (changes.get("default_language") or "").strip()
    if language and language not in current_app.config["MEMNUN_LANGUAGES"]:
        problems.append(
            {
                "field": "default_language",
                "type": "unknown_language",
                "message": _("Not one of the languages Memnun speaks."),
            }
        )
    if problems:
        raise InvalidFields(problems)
    row = db.session.get(OrganisationSettings, ROW_ID) or OrganisationSettings(id=ROW_ID)
    changed = []
    for field in TEXT_FIELDS:
        if field not in changes:
            continue
        value = (changes[field] or "").strip() or None
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed.append(field)
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.add(
        AuditLog(
            actor=actor[:200],
            action="organisation.update",
            target="organisation",
            detail={"fields": changed},
        )
    )
    db.session.commit()
    forget_cached_settings()
    return organisation_settings()


def logo_type(data: bytes) -> str | None:
    """The media type of a logo file, judged by its first bytes (never by its name)."""
    for magic, media_type in LOGO_TYPES.items():
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def save_logo(actor: str, data: bytes | None) -> Settings:
    """Store ``data`` as the logo (None removes it). Refuses anything but a PNG, JPEG or WebP
    file of at most ``LOGO_MAX_BYTES`` with ``InvalidFields``."""
    media_type = None
    if data is not None:
        if len(data) > LOGO_MAX_BYTES:
            raise invalid(
                "logo",
                _("The logo may have at most %(kb)s KB.", kb=LOGO_MAX_BYTES // 1024),
                "too_large",
            )
        media_type = logo_type(data)
        if media_type is None:
            raise invalid("logo", _("The logo must be a PNG, JPEG or WebP image."), "not_image")
    row = db.session.get(OrganisationSettings, ROW_ID) or OrganisationSettings(id=ROW_ID)
    row.logo = data
    row.logo_type = media_type
    row.logo_sha256 = hashlib.sha256(data).hexdigest() if data is not None else None
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.add(
        AuditLog(
            actor=actor[:200],
            action="organisation.logo",
            target="organisation",
            detail={"removed": data is None, "bytes": len(data or b"")},
        )
    )
    db.session.commit()
    forget_cached_settings()
    return organisation_settings()


def logo_file() -> tuple[bytes, str] | None:
    """The logo's bytes and media type, or None."""
    row = db.session.get(OrganisationSettings, ROW_ID)
    if row is None or row.logo is None or row.logo_type is None:
        return None
    return row.logo, row.logo_type
