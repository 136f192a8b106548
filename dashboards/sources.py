"""The overview's section "Service users and complainants": per unit, the CSAT of service users
beside that of complainants, whether they differ, and complaints and compliments per 1,000
services; and a warning when the answers behind the figures mix modes (``app.analytics.sources``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import html
from dash.exceptions import PreventUpdate
from flask_login import current_user

from app.analytics.names import MODE_NAMES
from app.analytics.sources import ModeMix, UnitSources, mode_mix, service_users_and_complainants
from app.analytics.splits import Key
from dashboards import scope
from dashboards.common import _, decimal, interval_text, p_text, percent, table


def layout() -> html.Section:
    return html.Section(className="panel sources-panel", children=[
        html.H2(_("Service users and complainants")),
        html.Div(id="sources", **{"aria-live": "polite"}),
    ])


def update_sources(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                   channel: Any = None, questionnaire: Any = None, grain: Any = None,
                   n_intervals: Any = None, shortcut: Any = None, compare: Any = None,
                   source: Any = None, mode: Any = None) -> list[Any]:
    """The section for the chosen filters, within the user's units."""
    if not current_user.is_authenticated:
        raise PreventUpdate
    view = scope.resolve(scope.Choice(start_date, end_date, unit, category, channel,
                                      questionnaire, grain, shortcut, compare, source, mode))
    rows = service_users_and_complainants(view.filters, view.min_group, view.first_day,
                                          view.last_day + dt.timedelta(days=1), view.tz)
    notes = mode_notes(mode_mix(view.filters))
    if not rows:
        return [*notes, html.P(_("No answers or complaints in this period."), className="muted")]
    names = {key: node.name for key, node in view.units.nodes.items()}
    return [*notes, table(
        [_("Unit"), _("Service users: CSAT"), _("Complainants: CSAT"), _("Difference"),
         _("Complaints per 1,000 services"), _("Compliments per 1,000 services")],
        [_row(row, names) for row in rows], "sources-table",
        caption=_("Services are the monthly volumes entered for each unit; a dash: not "
                  "known."))]


def _csat(score: Any) -> Any:
    if score.suppressed or score.value is None:
        return _("too few answers") if score.n else "–"
    return html.Span([percent(score.value), html.Br(),
                      html.Small(interval_text(score), className="muted")])


def _row(row: UnitSources, names: dict[Key, str]) -> list[Any]:
    difference: Any = "–"
    if row.difference is not None:
        points = decimal(row.difference.difference * 100, 1)
        verdict = (_("significant") if row.difference.significant()
                   else _("not significant"))
        difference = _("%(points)s points (%(verdict)s, %(p)s)", points=points, verdict=verdict,
                       p=p_text(row.difference.p_value))
    return [names.get(row.unit_id, str(row.unit_id)), _csat(row.service_users),
            _csat(row.complainants), difference, _rate(row.complaint_rate, row.complaints),
            _rate(row.compliment_rate, row.compliments)]


def _rate(rate: float | None, count: int) -> str:
    if rate is None:
        return _("– (%(n)s received)", n=count)
    return _("%(rate)s (%(n)s received)", rate=decimal(rate, 2), n=count)


def mode_notes(mix: ModeMix) -> list[Any]:
    """What the section says about the modes behind its figures: mixed in the period, and a mix
    that moved against the compared period."""
    notes: list[Any] = []
    shares = ModeMix.shares(mix.current)
    described = ", ".join(f"{MODE_NAMES[mode]} {percent(share)}"
                          for mode, share in shares.items() if share > 0)
    if mix.mixed:
        notes.append(html.P(_("These figures mix answers given in several ways (%(mix)s): phone "
                              "answers run higher than web ones, so compare modes apart with "
                              "the mode filter.", mix=described),
                            className="notice", id="sources-mixed"))
    if mix.shifted:
        before = ", ".join(f"{MODE_NAMES[mode]} {percent(share)}"
                           for mode, share in ModeMix.shares(mix.previous).items() if share > 0)
        notes.append(html.P(_("The mix of modes changed against the compared period (%(before)s "
                              "then, %(now)s now): part of a change may be the modes'.",
                              before=before, now=described),
                            className="notice", id="sources-shifted"))
    return notes
