"""Organisation units, complaint categories and channels; the organisation's settings."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime


class Channel(enum.StrEnum):
    """How a complaint reached the organisation (ISO 10002 'accessibility')."""

    WEB = "web"
    PHONE = "phone"
    EMAIL = "email"
    WALK_IN = "walk_in"
    SOCIAL = "social"
    MOBILE_APP = "mobile_app"
    LETTER = "letter"
    OTHER = "other"


class Unit(db.Model):
    """A part of the organisation that handles complaints; units form a tree."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)

    parent: Mapped[Unit | None] = relationship(remote_side="Unit.id", back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class Category(db.Model):
    """A complaint category; categories form a tree and carry the committed response time."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    committed_response_days: Mapped[int | None]

    parent: Mapped[Category | None] = relationship(
        remote_side="Category.id", back_populates="children"
    )
    children: Mapped[list[Category]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


class OrganisationSettings(db.Model):
    """What the organisation is called and how it speaks to people: one row (id 1).

    Every column may be null, meaning "what the configuration says" (``MEMNUN_ORGANISATION_NAME``,
    ``MEMNUN_MAIL_FROM``, ``MEMNUN_TIMEZONE``, ``MEMNUN_DEFAULT_LANGUAGE``), so an install that
    never opened the settings page keeps working as before. Read it only through
    ``app.organisation.settings.organisation_settings``, which merges the two.
    """

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(60))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_address: Mapped[str | None] = mapped_column(String(320))
    default_language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    controller_name: Mapped[str | None] = mapped_column(String(200))
    controller_contact: Mapped[str | None] = mapped_column(String(500))
    # The logo is small (bounded on upload) and lives in the database so that every web host
    # serves the same one; it is loaded only by the logo's own URL.
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(32))
    logo_sha256: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
