"""What the Dash renderer posts to the dashboards' callbacks."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import login_user
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.support.factories import make_user

#: Where the Dash renderer posts every callback.
CALLBACK = "/dashboards/_dash-update-component"

#: The inputs of every page's figures callback, in order (``dashboards.shell.filter_inputs``):
#: the filters, the live-refresh tick, the period's shortcut, the comparison, source and mode.
FILTER_INPUTS = [("period", "start_date"), ("period", "end_date"), ("unit", "value"),
                 ("category", "value"), ("channel", "value"), ("questionnaire", "value"),
                 ("grain", "value"), ("refresh", "n_intervals"), ("shortcut", "value"),
                 ("compare", "value"), ("source", "value"), ("mode", "value")]
#: Each page's figures callback, by page: its output key as the renderer posts it.
PAGE_OUTPUTS = {
    "drill": "..drill-tree.figure...drill-table-title.children...drill-table.children..."
             "drill-segments.children...drill-status.children..",
    "complaints": "..link-scatter.figure...link-timeliness.figure...link-days.figure..."
                  "link-table.children...link-status.children..",
    "survey": "..survey-status.children...survey-title.children...survey-summary.children"
              "...survey-ipa.figure...survey-drivers.figure...survey-nps.figure..."
              "survey-distributions.children...survey-comments.children..",
    "operations": "..ops-funnel.figure...ops-channel.figure...ops-language.figure..."
                  "ops-bounces.figure...ops-status.children..",
    "overview": "..kpis.children...trend.figure...status.children..",
}
#: The inputs of the callback that writes the filters into the URL.
URL_INPUTS = [*FILTER_INPUTS[:7], ("shortcut", "value"), ("compare", "value"),
              ("source", "value"), ("mode", "value")]


def as_user(app: Flask, email: str, role: str = "viewer", units: list[str] | None = None,
            language: str = "en") -> Any:
    """A request context in which ``email`` is signed in (callbacks run in one)."""
    make_user(app, email, role=role, units=units)
    context = app.test_request_context("/dashboards/", headers={"Accept-Language": language})
    context.push()
    login_user(db.session.scalar(select(User).where(User.email == email)))
    return context


def texts(component: Any) -> list[str]:
    """Every text inside a Dash component tree (or a JSON rendering of one)."""
    if component is None:
        return []
    if isinstance(component, str | int | float):
        return [str(component)]
    if isinstance(component, list | tuple):
        return [t for child in component for t in texts(child)]
    if isinstance(component, dict):
        return texts(component.get("props", {}).get("children"))
    return texts(getattr(component, "children", None))


def callback_body(start: str = "2025-01-01", end: str = "2025-01-31",
                  unit: str | None = None) -> dict[str, Any]:
    """What the Dash renderer posts when the period (or another filter) changes."""
    return {
        "output": "..kpis.children...trend.figure...status.children..",
        "outputs": [
            {"id": "kpis", "property": "children"},
            {"id": "trend", "property": "figure"},
            {"id": "status", "property": "children"},
        ],
        "inputs": [
            {"id": "period", "property": "start_date", "value": start},
            {"id": "period", "property": "end_date", "value": end},
            {"id": "unit", "property": "value", "value": unit},
            {"id": "category", "property": "value", "value": None},
            {"id": "channel", "property": "value", "value": None},
            {"id": "questionnaire", "property": "value", "value": None},
            {"id": "grain", "property": "value", "value": "month"},
            {"id": "refresh", "property": "n_intervals", "value": 0},
            {"id": "shortcut", "property": "value", "value": "custom"},
            {"id": "compare", "property": "value", "value": "previous"},
            {"id": "source", "property": "value", "value": None},
            {"id": "mode", "property": "value", "value": None},
        ],
        "changedPropIds": ["period.start_date"],
        "state": [],
    }
