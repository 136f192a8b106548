"""Drill-down: organisation -> unit -> category as a treemap (size: complaints, colour: CSAT);
clicking a box narrows every chart (it sets the unit and category filters, so the URL follows),
clicking the top box goes back up. Below it, the figures of the boxes one level down and the
segments that say more than averages.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.analytics import segments
from app.analytics.breakdown import Group, breakdown
from app.analytics.drilldown import DrillNode, drill_tree
from app.analytics.splits import Dimension
from app.analytics.tree import Tree, level
from app.numbers import points as nps_points
from dashboards import scope
from dashboards.common import (
    NEUTRAL_COLOUR,
    _,
    change_text,
    count_change_text,
    empty_figure,
    graph,
    label,
    number,
    satisfaction_colour,
    shown_or_dash,
    styled,
    table,
)
from dashboards.shell import filter_inputs


def layout() -> html.Div:
    return html.Div(children=[
        html.P(id="drill-status", className="status", role="status"),
        graph("drill-tree", 560),
        satisfaction_legend(),
        html.Section(className="panel", children=[
            html.H2(id="drill-table-title"), html.Div(id="drill-table")]),
        html.Section(className="panel", children=[
            html.H2(_("Segments")), html.Div(id="drill-segments")]),
    ])


def satisfaction_legend() -> html.Div:
    """The colour scale, in words, under every chart coloured by satisfaction."""
    return html.Div(className="scale-legend", children=[
        html.Span(_("CSAT")), html.Span("50%"), html.Span(className="scale-bar"),
        html.Span("100%"),
        html.Span(className="scale-swatch", style={"background": NEUTRAL_COLOUR}),
        html.Span(_("Too few responses")),
    ])


# --- treemap -------------------------------------------------------------------------------------


def _label(node: DrillNode, view: scope.View) -> str:
    if node.category_id is not None:
        category = view.categories.nodes.get(node.category_id)
        return category.name if category else "?"
    if node.unit_id is not None and node.unit_id in view.units:
        return view.units.nodes[node.unit_id].name
    return _("All units")


def _codes(node: DrillNode, view: scope.View) -> list[str]:
    unit = view.units.nodes[node.unit_id].code if node.unit_id in view.units else ""
    category = (view.categories.nodes[node.category_id].code
                if node.category_id in view.categories else "")
    return [unit, category, "root" if node.parent == "" else ""]


def tree_figure(nodes: dict[str, DrillNode], view: scope.View) -> go.Figure:
    title = _("Complaints (size) and satisfaction (colour)")
    shown = [node for node in nodes.values() if node.complaints > 0]
    if not shown:
        return empty_figure(title, _("No complaints in this period."))
    texts = [
        _("%(complaints)s complaints · CSAT %(csat)s", complaints=number(node.complaints),
          csat=shown_or_dash(node.csat) if node.csat.shown else _("too few responses"))
        for node in shown
    ]
    figure = go.Figure(go.Treemap(
        ids=[node.id for node in shown], parents=[node.parent for node in shown],
        labels=[label(_label(node, view)) for node in shown],
        values=[node.complaints for node in shown], branchvalues="total",
        marker={"colors": [satisfaction_colour(node.csat.value if node.csat.shown else None)
                           for node in shown], "line": {"color": "#ffffff", "width": 2}},
        text=texts, customdata=[_codes(node, view) for node in shown],
        textinfo="label+text", hovertemplate="%{label}<br>%{text}<extra></extra>",
        insidetextfont={"color": "#ffffff", "size": 16}, maxdepth=3, pathbar={"visible": False},
    ))
    return styled(figure, title, height=560, margin={"l": 10, "r": 10, "t": 50, "b": 10})


def narrow(click: dict[str, Any] | None, unit: str | None) -> tuple[Any, Any]:
    """The unit and category filters after a click on a box: the box's own, or one level up
    for the top box."""
    points = (click or {}).get("points") or []
    if not points or not isinstance(points[0].get("customdata"), list):
        raise PreventUpdate
    unit_code, category_code, root = (points[0]["customdata"] + ["", "", ""])[:3]
    if root:
        units = scope.unit_tree()
        current = units.by_code(unit)
        if current is None:
            raise PreventUpdate
        parent = units.nodes[current].parent_id
        return (units.nodes[parent].code if parent in units else None), None
    return unit_code or no_update, category_code or None


# --- tables --------------------------------------------------------------------------------------


def _name(group: Group, tree: Tree) -> str:
    node = tree.nodes.get(group.key)
    name = node.name if node else str(group.key)
    return _("%(name)s (itself)", name=name) if group.own else name


def groups_table(groups: list[Group], tree: Tree, table_id: str) -> html.Table:
    header = [_("Name"), _("Complaints"), _("Change"), _("Responses"), _("CSAT"), _("Change"),
              _("NPS"), _("Resolved on time"), _("Really resolved")]
    rows = []
    for g in groups:
        csat = g.figures["csat"]
        rows.append([
            _name(g, tree), number(g.complaints.received),
            count_change_text(g.complaints_change) or "",
            number(g.responses), shown_or_dash(csat) if csat.shown else _("Too few responses"),
            change_text(g.changes.get("csat")) or "",
            shown_or_dash(g.figures["nps"], nps_points), shown_or_dash(g.figures["on_time"]),
            shown_or_dash(g.figures["resolution_confirmed"]),
        ])
    return table(header, rows, table_id)


SEGMENT_NAMES = {
    segments.FIRST_TIME: _l("First-time complainants"), segments.REPEAT: _l("Repeat complainants"),
    segments.UNKNOWN: _l("Complainant not known"), segments.OUTCOME: _l("Outcome"),
    segments.PROCESS: _l("Process"), segments.STAFF: _l("Staff"),
}


def segments_tables(view: scope.View) -> list[Any]:
    history = segments.complainant_history(view.filters, view.min_group)
    aspects = segments.aspects(view.filters, view.min_group)
    too_few = _("Too few responses")
    return [
        table([_("Complainants"), _("Responses"), _("CSAT"), _("NPS"), _("Really resolved")],
              [[str(SEGMENT_NAMES[s.key]), number(s.responses),
                too_few if s.suppressed else shown_or_dash(s.csat),
                "" if s.suppressed else shown_or_dash(s.nps, nps_points),
                "" if s.suppressed else shown_or_dash(s.resolution_confirmed)]
               for s in history], "segments-history"),
        table([_("Aspect"), _("Responses"), _("Answered questions"), _("Positive answers")],
              [[str(SEGMENT_NAMES[a.key]), number(a.responses), number(a.answers),
                shown_or_dash(a.positive) if a.positive.shown else too_few]
               for a in aspects], "segments-aspects",
              caption=_("Positive: 4 or 5 on a 1-5 question, or yes to 'was it solved'.")),
    ]


def _level_table(view: scope.View) -> tuple[str, html.Table]:
    """The units one level below the focus; or, for a unit without units below, categories."""
    focus = view.focus_unit
    unit_level = level(view.units, focus, view.scope)
    if unit_level.nodes:
        groups = breakdown(view.filters, Dimension.UNIT, view.min_group, level=unit_level,
                           tz=view.tz)
        return _("Units"), groups_table(groups, view.units, "drill-units")
    category_level = level(view.categories, view.category_id)
    groups = breakdown(view.filters, Dimension.CATEGORY, view.min_group, level=category_level,
                       tz=view.tz)
    return _("Categories"), groups_table(groups, view.categories, "drill-categories")


def update_drilldown(start_date: Any, end_date: Any, unit: Any = None, category: Any = None,
                     channel: Any = None, questionnaire: Any = None, grain: Any = None,
                     n_intervals: Any = None, shortcut: Any = None,
                     compare: Any = None, source: Any = None, mode: Any = None
                     ) -> tuple[go.Figure, str, Any, Any, str]:
    if not current_user.is_authenticated:
        raise PreventUpdate
    view = scope.resolve(scope.Choice(start_date, end_date, unit, category, channel,
                                      questionnaire, grain, shortcut, compare, source,
                                      mode))
    nodes = drill_tree(view.filters, view.min_group, view.units, view.focus_unit, view.scope)
    title, level_table = _level_table(view)
    status = scope.status_line(view)
    return (tree_figure(nodes, view), title, level_table, segments_tables(view), status)


def register(dash_app: Dash) -> None:
    dash_app.callback(
        Output("drill-tree", "figure"), Output("drill-table-title", "children"),
        Output("drill-table", "children"), Output("drill-segments", "children"),
        Output("drill-status", "children"), *filter_inputs(),
    )(update_drilldown)
    dash_app.callback(
        Output("unit", "value"), Output("category", "value"),
        Input("drill-tree", "clickData"), State("unit", "value"), prevent_initial_call=True,
    )(narrow)
