"""Small-group suppression of survey figures among groups: one rule for the dashboards, the
metrics API, the review pack and the alerts, so a figure hidden in one is hidden in all.

For every survey figure (CSAT, mean score, NPS, CES, resolution confirmed):

1. Primary: a group with fewer than ``min_group`` responses shows no survey figure at all, and a
   single figure fed by fewer than ``min_group`` answers is not shown either.
2. Complementary: the figures of a request can always be had for the whole (the same request
   without a grouping). When exactly one non-empty group hides a figure, its counts would be
   the whole minus the visible groups, so the smallest other non-empty group hides it as well.
   Two hidden groups give only their sum, which comes from at least ``min_group`` answers.

Complaint and invitation figures (complaints, on-time resolution, response rate) describe the
organisation, not what a respondent said, and are not suppressed. What suppression cannot
prevent: comparing requests over periods or filters that differ by a few responses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from app.analytics.aggregates import AnswerTotals
from app.analytics.figures import Score, survey_figure
from app.analytics.splits import Key

#: The survey figures and the count of answers each is computed from.
FIGURE_COUNTS: dict[str, Callable[[AnswerTotals], int]] = {
    "csat": lambda a: a.csat_n,
    "mean": lambda a: a.csat_n,
    "nps": lambda a: a.nps_n,
    "ces": lambda a: a.ces_n,
    "resolution_confirmed": lambda a: a.resolution_n,
}


def hidden_groups(
    counts: dict[Key, int], min_group: int, already_hidden: Collection[Key] = ()
) -> set[Key]:
    """The groups whose figure must be hidden, given each group's count of answers.

    Hidden: the non-empty groups below ``min_group`` and those in ``already_hidden``; and when
    that leaves exactly one non-empty group hidden, also the smallest other non-empty group
    (ties: the first key in sorted order), so that the whole minus the visible groups tells only
    the sum of two groups.
    """
    hidden = {
        key for key, n in counts.items() if 0 < n < min_group or key in already_hidden
    }
    if sum(1 for key in hidden if counts[key] > 0) == 1:
        visible = [(n, str(key), key) for key, n in counts.items() if n > 0 and key not in hidden]
        if visible:
            hidden.add(min(visible, key=lambda entry: entry[:2])[2])
    return hidden


def hidden_survey_figures(responses: dict[Key, int], answers: dict[Key, AnswerTotals],
                          min_group: int) -> tuple[set[Key], dict[str, set[Key]]]:
    """Which groups hide which survey figure, given each group's responses and answer totals:
    the one rule of every grouped result (groups, periods of a trend, units of the pack).

    First the groups whose survey figures are all hidden: fewer than ``min_group`` responses, or
    hidden with them by ``hidden_groups`` on the response counts. Then, per figure of
    ``FIGURE_COUNTS``, those groups and what ``hidden_groups`` hides on that figure's counts.
    """
    group_hidden = hidden_groups(responses, min_group)
    suppressed = group_hidden | {key for key, n in responses.items() if n < min_group}
    per_figure = {
        name: suppressed | hidden_groups(
            {key: count(answers.get(key) or AnswerTotals()) for key in responses}, min_group,
            already_hidden=group_hidden)
        for name, count in FIGURE_COUNTS.items()
    }
    return suppressed, per_figure


def suppress_survey_figures(groups: Sequence[Any], min_group: int) -> None:
    """Set each group's ``suppressed`` and its survey figures (``FIGURE_COUNTS``), hiding what
    ``hidden_survey_figures`` says. A group has ``key``, ``responses``, ``answers``
    (``AnswerTotals``), ``suppressed`` and a ``figures`` dict."""
    suppressed, hidden = hidden_survey_figures(
        {g.key: g.responses for g in groups}, {g.key: g.answers for g in groups}, min_group)
    for group in groups:
        group.suppressed = group.key in suppressed
        for name, count in FIGURE_COUNTS.items():
            if group.key in hidden[name]:
                group.figures[name] = Score(n=count(group.answers), suppressed=True)
            else:
                group.figures[name] = survey_figure(name, group.answers, min_group)


def hidden_cells(counts: dict[tuple[Key, Key], int], min_group: int,
                 already_hidden: Collection[tuple[Key, Key]] = ()) -> set[tuple[Key, Key]]:
    """The cells of a table (row, column: a unit and a source) whose figure must be hidden,
    given each cell's count of answers: ``hidden_groups`` along every row and every column
    (each row's and each column's total can be had from a request of its own), again until
    nothing more is hidden."""
    hidden = set(already_hidden)
    while True:
        before = set(hidden)
        for axis in (0, 1):
            lines: dict[Key, dict[tuple[Key, Key], int]] = {}
            for cell, n in counts.items():
                lines.setdefault(cell[axis], {})[cell] = n
            for line in lines.values():
                hidden |= hidden_groups(line, min_group, hidden & line.keys())
        if hidden == before:
            return hidden
