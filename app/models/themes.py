"""Comment themes: groups of comments computed from their words (``app.analytics.themes``),
recomputed by the scheduler; a theme's row, name and merges outlive a recomputation (the new
theme whose top terms overlap most continues it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Theme(db.Model):
    """One theme of the latest computation."""

    __tablename__ = "theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Its top stems (folded), best first, space-separated: what matches it to the next run's.
    terms: Mapped[str] = mapped_column(Text)
    #: The same terms as words people recognise (each stem's most frequent word), best first,
    #: separated by ", ": the theme's name until the team gives it one.
    label: Mapped[str] = mapped_column(Text)
    #: The name the satisfaction team gave it (None: the label stands).
    name: Mapped[str | None] = mapped_column(String(200))
    #: The term sets of the themes merged into it, one a line: a later computation's themes
    #: that match one of them are merged into it again.
    merged_terms: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(default=0)  # comments in it when computed
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def title(self) -> str:
        return self.name or self.label


class CommentTheme(db.Model):
    """A comment's theme (at most one: the theme it weighs most in), with that weight; the
    representative comments of a theme are its heaviest."""

    __tablename__ = "comment_theme"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"),
                                           primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"),
                                          index=True)
    weight: Mapped[float] = mapped_column(Float)
    #: The response's NPS band when the themes were computed ("d" 0-6, "p" 9-10, None
    #: otherwise): a response's answers never change, and counting by theme and band then
    #: needs no aggregate of every response's NPS answer on a page view.
    band: Mapped[str | None] = mapped_column(String(1))
