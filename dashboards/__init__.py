"""Dash dashboards mounted on the Flask server at /dashboards/.

Built inside the app factory with app-bound callbacks (``dash_app.callback``: the global
``dash.callback`` would leak callbacks between apps, e.g. in tests). Everything is served from
this server (``serve_locally``): no CDN, no third-party request. Protection is in
``dashboards.security``; the figures come only from ``app.analytics``; the pages are routed by
``dashboards.shell`` (one Dash app, several pages, filters in the URL).
"""

from __future__ import annotations

from typing import Any

from dash import Dash
from flask import Flask, has_request_context, request
from flask_babel import get_locale

from app.databases import use_replica
from app.organisation.settings import organisation_settings
from dashboards import complaints, drilldown, operations, overview, security, shell, survey
from dashboards.common import _

DEFAULT_REFRESH_SECONDS = 30
# The app's own icon rather than Dash's (served by Flask's static route, like every staff page).
FAVICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


class MemnunDash(Dash):
    """Dash with the page's language and title in the user's language."""

    def interpolate_index(self, **kwargs: Any) -> str:
        if not has_request_context():
            return super().interpolate_index(**kwargs)
        kwargs["title"] = _("Dashboards") + " – " + organisation_settings().short_name
        kwargs["favicon"] = FAVICON
        page = super().interpolate_index(**kwargs)
        return page.replace("<html>", f'<html lang="{get_locale()}">', 1)


def pages() -> list[shell.Page]:
    titles = shell.TITLES
    return [
        shell.Page("", "overview", titles["overview"], overview.layout, grain=True),
        shell.Page("drill", "drill", titles["drill"], drilldown.layout),
        shell.Page("complaints", "complaints", titles["complaints"], complaints.layout),
        shell.Page("survey", "survey", titles["survey"], survey.layout),
        shell.Page("operations", "operations", titles["operations"], operations.layout),
    ]


def init_dashboards(app: Flask) -> None:
    """Build the Dash app on ``app`` under /dashboards/, behind login and CSRF protection."""
    dash_app = MemnunDash(
        __name__,
        server=app,
        url_base_pathname=security.PREFIX,
        serve_locally=True,
        title="Memnun",
        update_title=None,
        # Pages are drawn by the router, so their components are not in the first layout.
        suppress_callback_exceptions=True,
        # The renderer's defaults already are the _csrf_token cookie and the X-CSRFToken header
        # (security.CSRF_COOKIE, CSRF_HEADER).
    )
    refresh = int(app.config.get("MEMNUN_DASHBOARD_REFRESH_SECONDS") or DEFAULT_REFRESH_SECONDS)
    routed = pages()
    dash_app.layout = lambda: shell.layout(routed, refresh)
    shell.register(dash_app, routed)
    overview.register(dash_app)
    drilldown.register(dash_app)
    complaints.register(dash_app)
    survey.register(dash_app)
    operations.register(dash_app)
    security.protect(app)
    # After the login guard (so the person and their session are read from the primary): the
    # figures come from the replica while it answers and keeps up (app.databases).
    app.before_request(_read_replica)
    app.extensions["memnun_dash"] = dash_app


def _read_replica() -> None:
    if security.is_dashboard_path(request.path):
        use_replica()
