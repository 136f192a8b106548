"""The frame around every page: top bar with the pages and the language switch, live refresh,
and the router that draws a page (with its filters) for the URL.

Pages are routed by our own callback on ``dcc.Location`` rather than ``dash.register_page``,
whose registry is global to the process: several apps (tests build one per test) would share
it. The filters live in the URL's query string; changing one rewrites the query (without
reloading), so a view can be shared by copying the address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app.languages import language_name
from dashboards import scope
from dashboards.common import _
from dashboards.security import PREFIX

FILTER_IDS = ("period", "period", "unit", "category", "channel", "questionnaire", "grain")
FILTER_PROPS = ("start_date", "end_date", "value", "value", "value", "value", "value")


def filter_inputs() -> list[Input]:
    """The inputs every page's callback takes: the filters, the live-refresh tick, then the
    period's shortcut, the comparison, the source and the mode (last, so that older callers'
    positions hold)."""
    return [Input(i, p) for i, p in zip(FILTER_IDS, FILTER_PROPS, strict=True)] + [
        Input("refresh", "n_intervals"), Input("shortcut", "value"), Input("compare", "value"),
        Input("source", "value"), Input("mode", "value")]


@dataclass(frozen=True)
class Page:
    path: str  # under /dashboards/, '' for the overview
    name: str
    title: Any  # lazy text
    body: Callable[[], Any]
    grain: bool = False  # shows the trend's grain filter


def _nav_id(page: Page) -> str:
    return f"nav-{page.name}"


def layout(pages: list[Page], refresh_seconds: int) -> html.Div:
    """The frame; the router fills ``page`` for the URL."""
    return html.Div(className="frame", children=[
        dcc.Location(id="url", refresh=False),
        dcc.Interval(id="refresh", interval=max(1, refresh_seconds) * 1000, n_intervals=0),
        html.Header(className="topbar", children=[
            html.A("Memnun", href="/", className="brand"),
            html.Nav(className="pages", **{"aria-label": _("Dashboards")}, children=[
                dcc.Link(str(page.title), href=PREFIX + page.path, id=_nav_id(page))
                for page in pages
            ]),
            _language_switch(),
        ]),
        html.Main(id="page", className="page"),
    ])


def _language_switch() -> html.Form:
    """A plain form to the app's language endpoint (CSRF token included); it comes back here."""
    current = str(get_locale()) if has_request_context() else "tr"
    token = generate_csrf() if has_request_context() else ""
    languages = current_app.config["MEMNUN_LANGUAGES"] if has_request_context() else ["tr"]
    return html.Form(action="/language", method="post", className="language",
                     **{"aria-label": _("Language")}, children=[
        dcc.Input(type="hidden", name="csrf_token", value=token, id="language-csrf"),
        dcc.Input(type="hidden", name="next", value=PREFIX, id="language-next"),
        *[html.Button(language_name(code), type="submit", name="language", value=code,
                      className="current" if current.startswith(code) else "", lang=code,
                      **{"aria-pressed": "true" if current.startswith(code) else "false"})
          for code in languages],
    ])


def page_for(pathname: str | None, pages: list[Page]) -> Page | None:
    path = (pathname or PREFIX)[len(PREFIX):] if (pathname or "").startswith(PREFIX) else ""
    return next((page for page in pages if page.path == path.strip("/")), None)


def register(dash_app: Dash, pages: list[Page]) -> None:
    """The router, the URL's query from the filters, and the links that keep the filters."""

    @dash_app.callback(Output("page", "children"), Input("url", "pathname"),
                       State("url", "search"))
    def route(pathname: str | None, search: str | None) -> Any:
        if not current_user.is_authenticated:
            raise PreventUpdate
        page = page_for(pathname, pages)
        if page is None:
            return html.Div([html.H1(_("Page not found")),
                             dcc.Link(_("Back to the overview"), href=PREFIX)])
        choice = scope.from_query(search)
        return [html.H1(str(page.title)), scope.filter_bar(choice, show_grain=page.grain),
                page.body()]

    @dash_app.callback(Output("shortcut", "value"), Output("period", "start_date"),
                       Output("period", "end_date"), Input("shortcut", "value"),
                       Input("period", "start_date"), Input("period", "end_date"),
                       prevent_initial_call=True)
    def shortcut_and_dates(shortcut: Any, start: Any, end: Any) -> tuple[Any, Any, Any]:
        """A shortcut sets the dates; dates changed by hand make the period custom."""
        return scope.shortcut_and_dates(ctx.triggered_id, shortcut, start, end)

    @dash_app.callback(Output("url", "search"), *filter_inputs()[:-5],
                       Input("shortcut", "value"), Input("compare", "value"),
                       Input("source", "value"), Input("mode", "value"))
    def keep_in_url(start: Any, end: Any, unit: Any, category: Any, channel: Any,
                    questionnaire: Any, grain: Any, shortcut: Any, compare: Any,
                    source: Any = None, mode: Any = None) -> str:
        custom = shortcut == scope.Shortcut.CUSTOM.value
        choice = scope.Choice(
            start=str(start)[:10] if start and custom else None,
            end=str(end)[:10] if end and custom else None,
            unit=unit, category=category, channel=channel, questionnaire=questionnaire,
            grain=grain if grain and grain != scope.DEFAULT_GRAIN.value else None,
            shortcut=None if shortcut == scope.DEFAULT_SHORTCUT.value or custom else shortcut,
            compare=None if compare == scope.Comparison.PREVIOUS.value else compare,
            source=source, mode=mode)
        return scope.to_query(choice)

    @dash_app.callback(*[Output(_nav_id(page), "href") for page in pages],
                       *[Output(_nav_id(page), "className") for page in pages],
                       Output("language-next", "value"),
                       Input("url", "pathname"), Input("url", "search"))
    def links(pathname: str | None, search: str | None) -> list[str]:
        current = page_for(pathname, pages)
        hrefs = [PREFIX + page.path + (search or "") for page in pages]
        classes = ["current" if page is current else "" for page in pages]
        here = (pathname or PREFIX) + (search or "")
        return [*hrefs, *classes, here if here.startswith(PREFIX) else PREFIX]


TITLES = {
    "overview": _l("Overview"),
    "drill": _l("Drill-down"),
    "complaints": _l("Complaints and satisfaction"),
    "survey": _l("Survey results"),
    "operations": _l("Operations"),
}
