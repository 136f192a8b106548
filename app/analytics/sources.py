"""Service users and complainants side by side, per unit, and the mix of modes of a period.

ISO 10004 asks for the satisfaction of everyone served, not only of those who complained. Per
unit: the CSAT (Wilson interval) of service users (service events and walk-ins) and that of
complainants (about the handling of their complaint), whether they differ (two-proportion z
test, ``metrics.two_proportion_z_test``), and complaints and compliments per 1,000 services.
The volumes are the typed-in monthly transactions (``review.transactions_by_unit``) of the
months that start in the period. Small cells are hidden along units and sources alike
(``suppression.hidden_cells``). Campaign answers are left out here (a sample of everyone
served, shown by the source filter and split).

Modes: phone answers are known to run higher than web ones, so a figure over several modes, or
a comparison of periods whose modes mix differently, says so (``ModeMix``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.analytics.aggregates import AnswerTotals
from app.analytics.figures import Score, survey_proportion
from app.analytics.filters import Filters
from app.analytics.metrics import ZTest, two_proportion_z_test
from app.analytics.review import rate_per_1000, transactions_by_unit
from app.analytics.splits import Across, ByDimension, Dimension, Key
from app.analytics.suppression import hidden_cells
from app.analytics.tallies import answer_tally, complaint_tally, response_tally
from app.models import ResponseMode, ResponseSource

USERS = ResponseSource.SERVICE_USER.value
COMPLAINANTS = ResponseSource.COMPLAINANT.value
#: A share of a mode that moves by this much between the periods makes their comparison
#: uncertain (the mode effect, not the service, may have moved the figure).
SHIFT = 0.10


@dataclass(frozen=True)
class UnitSources:
    """One unit: the two CSATs (a hidden one ``suppressed``), their difference when both are
    shown, and complaints and compliments per 1,000 services (None: no volume known)."""

    unit_id: int
    service_users: Score
    complainants: Score
    difference: ZTest | None
    complaints: int
    compliments: int
    transactions: int | None
    complaint_rate: float | None
    compliment_rate: float | None


def service_users_and_complainants(filters: Filters, min_group: int, first_day: dt.date,
                                   end_day: dt.date, tz: str) -> list[UnitSources]:
    """Per unit with answers or complaints in ``filters`` (source filter aside), by unit id;
    volumes of the months starting in [first_day, end_day)."""
    filters = filters.but(source=None)
    split = Across((ByDimension(Dimension.UNIT), ByDimension(Dimension.SOURCE)))
    answers = answer_tally(filters, split).current
    responses = response_tally(filters, split).current
    complaints = complaint_tally(filters, ByDimension(Dimension.UNIT)).current
    cells = {cell: totals.csat_n for cell, totals in answers.items()
             if cell[1] in (USERS, COMPLAINANTS)}
    few = {cell for cell in cells if responses.get(cell) is None
           or responses[cell].responses < min_group}
    hidden = hidden_cells(cells, min_group, few)
    units = sorted({unit for unit, _source in cells} | set(complaints))
    volumes = transactions_by_unit(first_day, end_day, tz, units)
    return [_unit(unit, answers, hidden, complaints.get(unit), volumes.get(unit), min_group)
            for unit in units]


def _unit(unit: int, answers: dict[Key, AnswerTotals], hidden: set[tuple[Key, Key]],
          complaints: object, transactions: int | None, min_group: int) -> UnitSources:
    def csat(source: str) -> Score:
        totals = answers.get((unit, source)) or AnswerTotals()
        if (unit, source) in hidden:
            return Score(n=totals.csat_n, suppressed=True)
        return survey_proportion(totals.csat_satisfied, totals.csat_n, min_group)

    users, complainants = csat(USERS), csat(COMPLAINANTS)
    difference = None
    if _shown(users) and _shown(complainants):
        a, b = answers[(unit, USERS)], answers[(unit, COMPLAINANTS)]
        difference = two_proportion_z_test(a.csat_satisfied, a.csat_n,
                                           b.csat_satisfied, b.csat_n)
    received = getattr(complaints, "received", 0)
    praised = getattr(complaints, "compliments", 0)
    return UnitSources(unit, users, complainants, difference, received, praised, transactions,
                       rate_per_1000(received, transactions),
                       rate_per_1000(praised, transactions))


def _shown(score: Score) -> bool:
    return not score.suppressed and score.value is not None


@dataclass(frozen=True)
class ModeMix:
    """Responses by mode in the period and in the compared one."""

    current: dict[str, int] = field(default_factory=dict)
    previous: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def shares(counts: dict[str, int]) -> dict[str, float]:
        total = sum(counts.values())
        return {mode.value: (counts.get(mode.value, 0) / total if total else 0.0)
                for mode in ResponseMode}

    @property
    def mixed(self) -> bool:
        """The period's figures mix answers given in more than one mode."""
        return sum(1 for n in self.current.values() if n > 0) > 1

    @property
    def shifted(self) -> bool:
        """The share of some mode differs by ``SHIFT`` or more between the two periods (both
        with responses): a change between them may be the modes'."""
        if not sum(self.current.values()) or not sum(self.previous.values()):
            return False
        now, before = self.shares(self.current), self.shares(self.previous)
        return any(abs(now[mode] - before[mode]) >= SHIFT for mode in now)


def mode_mix(filters: Filters) -> ModeMix:
    """Responses of ``filters`` by mode, this period and the compared one."""
    split = ByDimension(Dimension.MODE)

    def counts(chosen: Filters) -> dict[str, int]:
        return {str(mode): totals.responses
                for mode, totals in response_tally(chosen, split).current.items()}

    return ModeMix(counts(filters), counts(filters.previous()))
