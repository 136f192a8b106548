"""The comments explorer's queries: every free-text answer in a period and scope, with the
response's scores, searched by word forms (``app.wordforms``), filtered by score band, and
withheld where the unit gave fewer than k responses.

Score bands, by the scale of the question the score comes from (``SCALES`` of the
questionnaire documents): the NPS question (0-10) splits into detractors 0-6, passives 7-8 and
promoters 9-10; the overall satisfaction rating (1-5, ``aggregates.CSAT_ANSWER``) into 1-2, 3 and
4-5. A band selects the comments whose *response* gave such a score.

Small groups: a comment comes from a response, and a unit with fewer than ``min_group``
responses in the selection (period, units, category, channel) could point at its writer, so no
comment of such a unit is shown or exported; the page says how many were withheld. Searching
and band filters pick comments, not segments, and do not change what is withheld.

Personal data: the text is returned as typed. ``with_names`` adds the complainant's name, read
only so that the caller can mask it (``app.analytics.redaction``), never to show it: the one
place analytics reads the complainant record.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, or_, select
from sqlalchemy.orm import aliased

from app.analytics import redaction
from app.analytics.filters import Filters, response_conditions
from app.analytics.names import redaction_labels
from app.extensions import db
from app.models import Answer, CommentTheme, Complainant, Complaint, Response
from app.wordforms import query_stems

PER_PAGE = 50
MAX_SEARCH_WORDS = 8  # a search is a few words; more only costs the database


class Band(enum.StrEnum):
    DETRACTORS = "detractors"
    PASSIVES = "passives"
    PROMOTERS = "promoters"
    LOW = "1-2"
    MIDDLE = "3"
    HIGH = "4-5"


#: Each band: the question it reads (NPS 0-10, or the overall rating 1-5) and its scores.
BANDS: dict[Band, tuple[str, float, float]] = {
    Band.DETRACTORS: ("nps", 0, 6), Band.PASSIVES: ("nps", 7, 8), Band.PROMOTERS: ("nps", 9, 10),
    Band.LOW: ("overall", 1, 2), Band.MIDDLE: ("overall", 3, 3), Band.HIGH: ("overall", 4, 5),
}


@dataclass(frozen=True)
class Selection:
    """What the explorer shows: the period and scope (``filters``, units already cut to what
    the person may see), a search and a score band."""

    filters: Filters
    search: str = ""
    band: Band | None = None
    min_group: int = 5
    theme_id: int | None = None  # only the comments of this theme (``app.analytics.themes``)


@dataclass(frozen=True)
class Comment:
    answer_id: int
    submitted_at: dt.datetime
    unit_id: int
    category_id: int
    channel: str
    language: str
    question_key: str
    text: str
    overall: float | None  # the overall satisfaction rating, 1-5
    nps: float | None  # the recommendation score, 0-10
    name: str | None = None  # the complainant's, only to mask it


@dataclass
class CommentPage:
    comments: list[Comment]
    total: int  # comments that match and may be shown
    withheld: int  # comments that match but belong to units with too few responses
    page: int
    per_page: int
    small_units: frozenset[int] = field(default_factory=frozenset)

    @property
    def more(self) -> bool:
        return self.page * self.per_page < self.total


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def search_condition(search: str) -> list[ColumnElement[bool]]:
    """One condition per searched word: the comment holds one of its stems (``app.wordforms``).
    PostgreSQL asks its GIN index (``ix_answer_search_terms``); SQLite scans with LIKE."""
    conditions: list[ColumnElement[bool]] = []
    for forms in query_stems(search)[:MAX_SEARCH_WORDS]:
        forms = {f for f in forms if f.isalpha()}  # letters only: no LIKE or tsquery syntax
        if not forms:
            continue
        if is_postgres():
            vector = func.to_tsvector(literal_column("'simple'"), Answer.search_terms)
            query = func.to_tsquery(literal_column("'simple'"), " | ".join(sorted(forms)))
            conditions.append(vector.op("@@")(query))
        else:
            conditions.append(or_(*[Answer.search_terms.like(f"% {f} %") for f in sorted(forms)]))
    return conditions


def band_condition(band: Band) -> ColumnElement[bool]:
    """The response gave a score in ``band``."""
    kind, low, high = BANDS[band]
    scored = aliased(Answer, name="scored")
    return exists().where(scored.response_id == Response.id, SCORED[kind](scored),
                          scored.value_number >= low, scored.value_number <= high)


def _score(condition_of: Any) -> Any:
    scored = aliased(Answer)
    return (select(func.max(scored.value_number))
            .where(scored.response_id == Response.id, condition_of(scored))
            .correlate(Response).scalar_subquery())


def _overall(a: Any) -> ColumnElement[bool]:
    """The overall satisfaction rating (as ``aggregates.CSAT_ANSWER``), on answer alias ``a``."""
    return and_(a.question_type == "rating", a.attribute == "overall")


def _nps(a: Any) -> ColumnElement[bool]:
    """The recommendation question (as ``aggregates.NPS_ANSWER``), on answer alias ``a``."""
    return a.question_type == "nps"


SCORED = {"overall": _overall, "nps": _nps}


def _is_comment() -> list[ColumnElement[bool]]:
    return [Answer.question_type == "text", Answer.value_text.is_not(None),
            Answer.value_text != ""]


def small_units(selection: Selection) -> frozenset[int]:
    """Units with fewer than ``min_group`` responses in the selection's period and scope."""
    stmt = (select(Response.unit_id, func.count())
            .where(*response_conditions(selection.filters))
            .group_by(Response.unit_id))
    return frozenset(unit for unit, n in db.session.execute(stmt) if n < selection.min_group)


def _conditions(selection: Selection, timed: bool = True) -> list[ColumnElement[bool]]:
    """The selection's conditions on answer and response; ``timed`` false leaves the period
    to the caller (``app.analytics.themes`` reads a period and its compared one at once)."""
    conditions = [*_is_comment(), *response_conditions(selection.filters, timed=timed)]
    if selection.search.strip():
        conditions += search_condition(selection.search)
    if selection.band is not None:
        conditions.append(band_condition(selection.band))
    if selection.theme_id is not None:
        themed = aliased(CommentTheme, name="themed")
        conditions.append(exists().where(themed.answer_id == Answer.id,
                                         themed.theme_id == selection.theme_id))
    return conditions


def _select(selection: Selection, hidden: frozenset[int], with_names: bool) -> Any:
    columns = [Answer.id, Response.submitted_at, Response.unit_id, Response.category_id,
               Response.channel, Response.language, Answer.question_key, Answer.value_text,
               _score(_overall).label("overall"), _score(_nps).label("nps")]
    stmt = select(*columns).join(Response, Response.id == Answer.response_id)
    if with_names:
        stmt = (stmt.add_columns(Complainant.name)
                .join(Complaint, Complaint.id == Response.complaint_id)
                .outerjoin(Complainant, Complainant.id == Complaint.complainant_id))
    stmt = stmt.where(*_conditions(selection))
    if hidden:
        stmt = stmt.where(Response.unit_id.not_in(sorted(hidden)))
    return stmt.order_by(Response.submitted_at.desc(), Answer.id.desc())


def _comment(row: Any, with_names: bool) -> Comment:
    values = list(row)
    name = values.pop() if with_names else None
    channel = values[4]
    values[4] = getattr(channel, "value", channel)
    return Comment(*values, name=name)


def _count(selection: Selection, hidden: frozenset[int]) -> tuple[int, int]:
    """(comments that may be shown, comments withheld) for the selection: counted per unit
    (a few hundred rows at most), split by ``hidden`` here."""
    stmt = (select(Response.unit_id, func.count())
            .select_from(Answer).join(Response, Response.id == Answer.response_id)
            .where(*_conditions(selection)).group_by(Response.unit_id))
    shown = withheld = 0
    for unit_id, n in db.session.execute(stmt):
        if unit_id in hidden:
            withheld += int(n)
        else:
            shown += int(n)
    return shown, withheld


def comment_page(selection: Selection, page: int = 1, per_page: int = PER_PAGE,
                 with_names: bool = False, hidden: frozenset[int] | None = None,
                 counted: tuple[int, int] | None = None) -> CommentPage:
    """One page of the selection's comments, newest first, and how many there are;
    ``hidden`` and ``counted`` (shown, withheld): the small units and the counts when the
    caller has them already (``app.analytics.themes.tally``)."""
    if hidden is None:
        hidden = small_units(selection)
    total, withheld = counted if counted is not None else _count(selection, hidden)
    page = max(1, page)
    stmt = _select(selection, hidden, with_names).offset((page - 1) * per_page).limit(per_page)
    rows = [_comment(row, with_names) for row in db.session.execute(stmt)]
    return CommentPage(rows, total, withheld, page, per_page, hidden)


def shown_text(comment: Comment, redact: bool) -> str:
    """The comment as its reader may see it: as typed, or with personal data masked (its
    complainant's name too, when read ``with_names``)."""
    if not redact:
        return comment.text
    return redaction.redact(comment.text, names=[comment.name] if comment.name else [],
                            language=comment.language, labels=redaction_labels())


def all_comments(selection: Selection, with_names: bool = False,
                 chunk: int = 1000) -> Iterator[Comment]:
    """Every comment of the selection that may be shown, newest first, read ``chunk`` rows at
    a time (for the export)."""
    hidden = small_units(selection)
    result = db.session.execute(_select(selection, hidden, with_names)
                                .execution_options(yield_per=chunk))
    for row in result:
        yield _comment(row, with_names)
