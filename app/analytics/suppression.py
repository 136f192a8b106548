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


def suppress_survey_figures(groups: Sequence[Any], min_group: int) -> None:
    """Set each group's ``suppressed`` and its survey figures (``FIGURE_COUNTS``), hiding what
    ``hidden_groups`` says, figure by figure. A group has ``key``, ``responses``, ``answers``
    (``AnswerTotals``), ``suppressed`` and a ``figures`` dict."""
    group_hidden = hidden_groups({g.key: g.responses for g in groups}, min_group)
    for group in groups:
        group.suppressed = group.key in group_hidden or group.responses < min_group
    for name, count in FIGURE_COUNTS.items():
        hidden = hidden_groups({g.key: count(g.answers) for g in groups}, min_group,
                               already_hidden=group_hidden)
        for group in groups:
            if group.key in hidden or group.suppressed:
                group.figures[name] = Score(n=count(group.answers), suppressed=True)
            else:
                group.figures[name] = survey_figure(name, group.answers, min_group)
