"""The filters of every page: kept in the URL's query string, shown in the filter bar, and turned
on the server into ``app.analytics.filters.Filters`` within what the signed-in person may see.

The browser only ever says what someone *asked* for (codes in the URL or in a callback request).
Which units they may see comes from ``current_user`` on the server: a unit manager asking for
another unit, even in a hand-made callback request, gets the intersection with their own units,
or their own units when nothing is left.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from dash import dcc, html, no_update
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.analytics.filters import Filters, questionnaire_choices, questionnaire_id_of
from app.analytics.names import (
    CHANNEL_NAMES,
    COMPARISON_LABELS,
    MODE_NAMES,
    SHORTCUT_LABELS,
    SOURCE_NAMES,
)
from app.analytics.periods import (
    DEFAULT_SHORTCUT,
    Comparison,
    Grain,
    Shortcut,
    compared_days,
    shortcut_days,
    to_instant,
)
from app.analytics.tree import Tree, category_tree, unit_tree
from app.auth.scope import may_read_comments as may_read_comments_of
from app.auth.scope import may_see_personal_data as may_see_personal_data_of
from app.auth.scope import units_in_scope
from app.databases import reads_fall_back
from app.storable import storable
from dashboards.common import (
    _,
    local_today,
    parse_period,
    settings,
    updated_at,
)

QUERY_KEYS = {"start": "from", "end": "to", "unit": "unit", "category": "category",
              "channel": "channel", "questionnaire": "questionnaire", "grain": "by",
              "shortcut": "period", "compare": "compare", "source": "source", "mode": "mode"}
DEFAULT_GRAIN = Grain.MONTH
GRAIN_LABELS = {Grain.DAY: _l("Day"), Grain.WEEK: _l("Week"), Grain.MONTH: _l("Month"),
                Grain.QUARTER: _l("Quarter")}
#: A grain's name in a sentence ("too few responses per day").
GRAIN_UNITS = {Grain.DAY: _l("day"), Grain.WEEK: _l("week"), Grain.MONTH: _l("month"),
               Grain.QUARTER: _l("quarter")}


@dataclass(frozen=True)
class Choice:
    """What someone asked for, as in the URL: dates and codes, nothing checked yet."""

    start: str | None = None
    end: str | None = None
    unit: str | None = None
    category: str | None = None
    channel: str | None = None
    questionnaire: str | None = None
    grain: str | None = None
    shortcut: str | None = None  # a ``Shortcut``; dates from the URL only when custom
    compare: str | None = None  # a ``Comparison``
    source: str | None = None  # a ``ResponseSource``: whom the answers speak for
    mode: str | None = None  # a ``ResponseMode``: how they were given


def from_query(search: str | None) -> Choice:
    """The choice in a query string ('?from=2025-01-01&unit=fen'); unknown keys are ignored,
    and so are values no code or key can hold (NUL, control characters: a crafted link)."""
    values = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    firsts = {name: (values.get(key) or [None])[0] for name, key in QUERY_KEYS.items()}
    return Choice(**{name: value if value is None or storable(value) else None
                     for name, value in firsts.items()})


def to_query(choice: Choice) -> str:
    """The query string of a choice, empty values left out ('' when nothing is set), and so
    are values no link can hold (a lone surrogate cannot even be encoded: a crafted callback)."""
    pairs = [(key, value) for name, key in QUERY_KEYS.items()
             if isinstance(value := getattr(choice, name), str) and value and storable(value)]
    return "?" + urlencode(pairs) if pairs else ""


# --- who may see what ----------------------------------------------------------------------------


def allowed_units(units: Tree) -> frozenset[int] | None:
    """The units the signed-in person may see (``app.auth.scope``); None: all of them."""
    return units_in_scope(current_user, units)


def may_read_comments() -> bool:
    """Whether the signed-in person may read the comments (``app.auth.scope``)."""
    return bool(current_user.is_authenticated and may_read_comments_of(current_user))


def may_see_personal_data() -> bool:
    """Whether the signed-in person reads comments unredacted (``app.auth.scope``)."""
    return bool(current_user.is_authenticated and may_see_personal_data_of(current_user))


@dataclass
class View:
    """A checked choice: the analytics filters and what the page needs to draw them."""

    filters: Filters
    first_day: dt.date
    last_day: dt.date
    tz: str
    min_group: int
    units: Tree
    categories: Tree
    scope: frozenset[int] | None
    unit_id: int | None = None  # the chosen unit, when the person may see it
    category_id: int | None = None
    questionnaire_id: int | None = None
    grain: Grain = DEFAULT_GRAIN
    notices: list[str] = field(default_factory=list)
    shortcut: Shortcut = DEFAULT_SHORTCUT
    comparison: Comparison = Comparison.PREVIOUS
    today: dt.date | None = None  # the organisation's today when the view was checked

    @property
    def to_date(self) -> bool:
        """Whether the period runs to today: its last day is not over yet."""
        return self.today is not None and self.last_day >= self.today

    @property
    def focus_unit(self) -> int | None:
        """The unit whose targets and drill-down apply: the chosen one, else a unit manager's
        single top unit, else None (the organisation)."""
        if self.unit_id is not None:
            return self.unit_id
        if self.scope is not None:
            tops = self.units.tops(self.scope)
            return tops[0] if len(tops) == 1 else None
        return None


def resolve(choice: Choice) -> View:
    """Check a choice against the data and the person's scope (see the module)."""
    tz, min_group = settings()
    units, categories = unit_tree(), category_tree()
    notices: list[str] = []
    if reads_fall_back():
        notices.append(_("The reporting copy of the database is behind or not reachable: these "
                         "figures are read from the main database instead."))
    today = local_today(tz)
    shortcut, (first_day, last_day) = chosen_period(choice, today, notices)
    comparison = Comparison(choice.compare) if choice.compare in {
        c.value for c in Comparison} else Comparison.PREVIOUS
    compared = compared_days(first_day, last_day, shortcut, comparison)
    scope = allowed_units(units)
    unit_id, unit_ids = _units(choice.unit, units, scope, notices)
    category_id = categories.by_code(choice.category)
    channel = choice.channel if choice.channel in CHANNEL_NAMES else None
    questionnaire_id = questionnaire_id_of(choice.questionnaire)
    grain = Grain(choice.grain) if choice.grain in {g.value for g in Grain} else DEFAULT_GRAIN
    filters = Filters(
        to_instant(first_day, tz), to_instant(last_day + dt.timedelta(days=1), tz),
        unit_ids=unit_ids,
        category_ids=None if category_id is None else frozenset(categories.below([category_id])),
        channel=channel, questionnaire_id=questionnaire_id,
        source=choice.source if choice.source in SOURCE_NAMES else None,
        mode=choice.mode if choice.mode in MODE_NAMES else None,
        compared=None if compared is None else (
            to_instant(compared[0], tz), to_instant(compared[1] + dt.timedelta(days=1), tz)),
    )
    return View(filters, first_day, last_day, tz, min_group, units, categories, scope,
                unit_id=unit_id, category_id=category_id, questionnaire_id=questionnaire_id,
                grain=grain, notices=notices, shortcut=shortcut, comparison=comparison,
                today=today)


def chosen_period(choice: Choice, today: dt.date,
                  notices: list[str]) -> tuple[Shortcut, tuple[dt.date, dt.date]]:
    """The shortcut and its dates; custom dates only when asked for (a shortcut's dates move
    with the day, so a link to "this month" shows this month whenever it is opened)."""
    shortcut = Shortcut(choice.shortcut) if choice.shortcut in {
        s.value for s in Shortcut} else None
    if shortcut is None and (choice.start or choice.end):
        shortcut = Shortcut.CUSTOM  # a link from before shortcuts, or typed dates
    if shortcut is Shortcut.CUSTOM:
        period = parse_period(choice.start, choice.end)
        if period is not None:
            return shortcut, period
        notices.append(_("That period cannot be shown; these are the last 12 months."))
        shortcut = None
    shortcut = shortcut or DEFAULT_SHORTCUT
    return shortcut, shortcut_days(shortcut, today)


def shortcut_and_dates(trigger: Any, shortcut: Any, start: Any,
                       end: Any) -> tuple[Any, Any, Any]:
    """The filter bar's period after a change: a shortcut's dates when the shortcut changed,
    "custom" when the dates were changed to other than the shortcut's (``no_update`` for what
    stays)."""
    tz, _min_group = settings()
    today = local_today(tz)
    if shortcut in {s.value for s in Shortcut} and shortcut != Shortcut.CUSTOM.value:
        first, last = shortcut_days(Shortcut(shortcut), today)
        if trigger == "shortcut":
            return no_update, first.isoformat(), last.isoformat()
        if (str(start)[:10], str(end)[:10]) != (first.isoformat(), last.isoformat()):
            return Shortcut.CUSTOM.value, no_update, no_update
    return no_update, no_update, no_update


def status_line(view: View, *extra: str) -> str:
    """Notices first, then what the page shows, what it is compared with and when it was last
    computed ("to date" when the period's last day is today: its figures still move)."""
    start, end = format_date(view.first_day, "medium"), format_date(view.last_day, "medium")
    if view.to_date:
        period = _("%(start)s to %(end)s (to date); %(updated)s.", start=start, end=end,
                   updated=updated_at(view.tz))
    else:
        period = _("%(start)s to %(end)s; %(updated)s.", start=start, end=end,
                   updated=updated_at(view.tz))
    first, last = view.filters.comparison
    zone = ZoneInfo(view.tz)
    compared = _("Changes against %(start)s to %(end)s.",
                 start=format_date(first.astimezone(zone).date(), "medium"),
                 end=format_date((last - dt.timedelta(microseconds=1)).astimezone(zone).date(),
                                 "medium"))
    return " ".join([*view.notices, *extra, period, compared])


def _units(code: str | None, units: Tree, scope: frozenset[int] | None,
           notices: list[str]) -> tuple[int | None, frozenset[int] | None]:
    """(chosen unit id, unit ids to count) for a requested unit code within ``scope``."""
    requested = units.by_code(code)
    if requested is None:
        return None, scope
    below = frozenset(units.below([requested]))
    if scope is None:
        return requested, below
    inside = below & scope
    if not inside:
        notices.append(_("You can see only the figures of your own units."))
        return None, scope
    return (requested if requested in scope else None), inside


# --- the filter bar ------------------------------------------------------------------------------


def _tree_options(tree: Tree, allowed: frozenset[int] | None) -> list[dict[str, Any]]:
    """Options in tree order, indented by depth (``Tree.labelled``), limited to ``allowed``."""
    return [{"label": label, "value": tree.nodes[node_id].code}
            for node_id, label in tree.labelled(allowed)]


def filter_bar(choice: Choice, show_grain: bool = False) -> html.Div:
    """Period, unit, category, channel, source, mode, questionnaire (and, on the overview, the
    trend's grain),
    set from ``choice``; the ids are the callbacks' inputs on every page."""
    tz, _min_group = settings()
    shortcut, period = chosen_period(choice, local_today(tz), [])
    units = unit_tree()
    questionnaires = questionnaire_choices()

    def dropdown(name: str, label: str, options: list[dict[str, Any]], value: Any,
                 clearable: bool = True, hidden: bool = False) -> html.Div:
        return html.Div(className="filter", hidden=hidden, children=[
            html.Label(label, htmlFor=name),
            dcc.Dropdown(id=name, options=options, value=value, clearable=clearable,
                         placeholder=_("All"), className="filter-select"),
        ])

    return html.Div(className="filters", role="search", children=[
        dropdown("shortcut", _("Period"),
                 [{"label": str(label), "value": s.value} for s, label in SHORTCUT_LABELS.items()],
                 shortcut.value, clearable=False),
        html.Div(className="filter filter-period", children=[
            html.Label(_("Dates"), htmlFor="period-start"),
            dcc.DatePickerRange(
                id="period", start_date=period[0].isoformat(), end_date=period[1].isoformat(),
                start_date_id="period-start", end_date_id="period-end",
                display_format="DD.MM.YYYY", first_day_of_week=1, minimum_nights=0,
                clearable=False, start_date_placeholder_text=_("Start date"),
                end_date_placeholder_text=_("End date"),
            ),
        ]),
        dropdown("compare", _("Compare with"),
                 [{"label": str(label), "value": c.value}
                  for c, label in COMPARISON_LABELS.items()],
                 choice.compare or Comparison.PREVIOUS.value, clearable=False),
        dropdown("unit", _("Unit"), _tree_options(units, allowed_units(units)), choice.unit),
        dropdown("category", _("Category"), _tree_options(category_tree(), None),
                 choice.category),
        dropdown("channel", _("Channel"),
                 [{"label": str(label), "value": c.value} for c, label in CHANNEL_NAMES.items()],
                 choice.channel),
        dropdown("source", _("Answers of"),
                 [{"label": str(label), "value": key} for key, label in SOURCE_NAMES.items()],
                 choice.source),
        dropdown("mode", _("Answered by"),
                 [{"label": str(label), "value": key} for key, label in MODE_NAMES.items()],
                 choice.mode),
        dropdown("questionnaire", _("Questionnaire"),
                 [{"label": title, "value": key} for key, title in questionnaires],
                 choice.questionnaire),
        dropdown("grain", _("Trend by"),
                 [{"label": str(label), "value": g.value} for g, label in GRAIN_LABELS.items()],
                 choice.grain or DEFAULT_GRAIN.value, clearable=False, hidden=not show_grain),
    ])
