"""Memnun: complaint follow-up surveys and satisfaction dashboards."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from app import timefmt
from app.config import load_config, require_2fa_setting
from app.databases import configure_pooling, init_replica
from app.extensions import babel, csrf, db, init_rate_limits, login_manager, migrate
from app.languages import language_name
from app.routing import register_converters

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def select_locale() -> str:
    """Staff pick a language with the switch (kept on the user once logged in, in the session
    before); otherwise the browser's preference decides."""
    from flask import current_app

    if not has_request_context():  # CLI and scheduler: no session and no browser to ask
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["MEMNUN_LANGUAGES"]
    if request.path.startswith("/api/"):
        # Integrators' programs rarely send Accept-Language; English is the API's lingua franca.
        return request.accept_languages.best_match(languages) or "en"
    chosen = _users_language() or session.get("language")
    if chosen in languages:
        return chosen
    from app.organisation.settings import organisation_settings

    return (request.accept_languages.best_match(languages)
            or organisation_settings().default_language)


def _users_language() -> str | None:
    """The language a logged-in member of staff chose (kept on the user), if any."""
    from flask_login import current_user

    user = current_user._get_current_object() if current_user else None
    return getattr(user, "language", None) if user is not None and user.is_authenticated else None


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets readers and one writer work together; the busy timeout waits instead of failing
    # with "database is locked" when the scheduler and a respondent write at the same moment.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Application factory. ``config`` overrides what the environment gives (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    instance_path = Path(app.instance_path)
    app.config.update(load_config(instance_path))
    if config:
        app.config.update(config)
    app.config["MEMNUN_REQUIRE_2FA"] = require_2fa_setting(app.config.get("MEMNUN_REQUIRE_2FA"))
    from app.distribution.dkim_signing import check_dkim_settings

    check_dkim_settings(app.config)  # half-set DKIM settings or an unreadable key stop here
    from app.distribution.bounce_imap import check_imap_settings

    check_imap_settings(app.config)  # so do the bounce mailbox's
    register_converters(app)  # before any route: each rule takes its converters when added
    _trust_proxies(app)

    configure_pooling(app)
    db.init_app(app)
    init_replica(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    init_rate_limits(app)
    babel.init_app(app, locale_selector=select_locale,
                   timezone_selector=lambda: timefmt.organisation_zone().key)
    app.jinja_env.globals["get_locale"] = get_locale  # base.html: <html lang=...>
    app.jinja_env.globals["language_name"] = language_name  # the language switch
    timefmt.init_app(app)
    login_manager.init_app(app)

    from app import models  # noqa: F401  (registers every model on the metadata)
    from app.analytics import rollup  # noqa: F401  (create_all installs the rollup's triggers)

    _register_blueprints(app)
    _register_security_headers(app)

    from app.cli import register_commands

    register_commands(app)

    from dashboards import init_dashboards

    init_dashboards(app)
    _two_factor_first(app)
    return app


def _two_factor_first(app: Flask) -> None:
    """Whoever must set up two-factor login first (``MEMNUN_REQUIRE_2FA``) is stopped before any
    check that reads the request runs, a Dash callback's included: right after the dashboards'
    login guard, the first of the ``before_request`` functions (dashboards/security.py)."""
    from app.auth.two_factor_views import enrol_first

    app.before_request_funcs.setdefault(None, []).insert(1, enrol_first)


def _trust_proxies(app: Flask) -> None:
    """Behind ``MEMNUN_TRUSTED_PROXIES`` proxies, the client's address is the one the nearest of
    them wrote into X-Forwarded-For; everything further left in that header is the client's own
    to forge and is never read. The rate limits key on this address.

    Only the address is taken from the proxies: nothing is built from the request's scheme or
    host (links in messages use MEMNUN_BASE_URL), so X-Forwarded-Proto and -Host are ignored.
    """
    hops = int(app.config.get("MEMNUN_TRUSTED_PROXIES") or 0)
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)


def _register_blueprints(app: Flask) -> None:
    from app.actions import bp as actions_bp
    from app.api import bp as api_bp
    from app.api.admin_views import bp as api_admin_bp
    from app.auth import bp as auth_bp
    from app.design import bp as design_bp
    from app.distribution import bp as distribution_bp
    from app.distribution.receipt_views import bp as callbacks_bp
    from app.followup import bp as followup_bp
    from app.intake.views import bp as intake_admin_bp
    from app.lookup import bp as lookup_bp
    from app.main import bp as main_bp
    from app.organisation import bp as organisation_bp
    from app.phone import bp as phone_bp
    from app.reports import bp as reports_bp
    from app.respond import bp as respond_bp
    from app.staff import bp as staff_bp
    from app.walkin import bp as walkin_bp
    from app.walkin.admin_views import bp as walkin_admin_bp
    from app.webhooks.views import bp as webhooks_admin_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_admin_bp)
    app.register_blueprint(intake_admin_bp)
    app.register_blueprint(webhooks_admin_bp)
    app.register_blueprint(design_bp)
    app.register_blueprint(distribution_bp)
    app.register_blueprint(callbacks_bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(followup_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(lookup_bp)
    app.register_blueprint(phone_bp)
    app.register_blueprint(organisation_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(walkin_bp)
    app.register_blueprint(walkin_admin_bp)

    from app.organisation.settings import organisation_settings

    # Every template may name the organisation as its settings say (read once per request).
    app.context_processor(lambda: {"org": organisation_settings()})

    from app.auth.decorators import inside_own_units

    app.before_request(inside_own_units)  # the unit scope of app.auth.scope, for every page


# Staff pages: scripts, styles and everything else only from this server, no inline script, no
# plugins, no framing; images may also be data: URLs (the questionnaire preview shows the
# respondent's page, which uses them). The respondent's pages and the outbox preview set
# policies of their own, which win (setdefault below).
STAFF_CSP = ("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
             "object-src 'none'; base-uri 'self'; form-action 'self'")


def _content_security_policy(app: Flask, path: str) -> str:
    if not path.startswith("/dashboards"):
        return STAFF_CSP
    # Dash starts its renderer with one inline script: allowed by its hash, so scripts stay as
    # strict as elsewhere. Plotly and the data table insert <style> elements whose content is
    # computed in the browser (no hash possible), so styles alone allow 'unsafe-inline', and only
    # under /dashboards/.
    policy = app.extensions.get("memnun_dash_csp")
    if policy is None:
        dash_app = app.extensions.get("memnun_dash")
        hashes = " ".join(dash_app.csp_hashes()) if dash_app is not None else ""
        policy = (f"{STAFF_CSP}; script-src 'self' {hashes}; "
                  "style-src 'self' 'unsafe-inline'")
        app.extensions["memnun_dash_csp"] = policy
    return policy


SERVER_NAME = "Memnun"


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    _content_security_policy(app, request.path))
        # Werkzeug's server writes "Werkzeug/x.y Python/x.y" when the answer has no Server
        # header: a list of versions to look flaws up for. A neutral name replaces it.
        response.headers["Server"] = SERVER_NAME
        return response
