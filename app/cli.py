"""The ``memnun`` command: a Flask CLI group bound to the app factory.

Contract (docs/design.md, "Contracts"): run, serve, scheduler, dispatch, demo, db upgrade,
user create|list|disable|enable|set-role|reset-password|end-sessions, api-key create.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from app.models import ApiScope, Role


def main() -> None:
    """Entry point of the ``memnun`` console script."""
    from app import create_app
    from app.config import ConfigError

    def create_or_explain() -> Flask:
        # A wrong setting is the operator's to fix: say which, without a traceback.
        try:
            return create_app()
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc

    group = FlaskGroup(
        name="memnun",
        create_app=create_or_explain,
        add_default_commands=False,
        add_version_option=False,
        help="Memnun: complaint follow-up surveys and satisfaction dashboards.",
    )
    group.add_command(shell_command)
    group.add_command(routes_command)
    group()


def register_commands(app: Flask) -> None:
    from app.staff.cli import COMMANDS as USER_COMMANDS

    for command in USER_COMMANDS:
        user_group.add_command(command)
    app.cli.add_command(user_group)
    app.cli.add_command(api_key_group)
    app.cli.add_command(run_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(dispatch_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(rollup_group)
    from app.design.cli import templates_group

    app.cli.add_command(templates_group)
    from app.intake.cli import import_group

    app.cli.add_command(import_group)
    from app.reports.cli import alerts_group

    app.cli.add_command(alerts_group)
    from app.privacy.cli import privacy_group

    app.cli.add_command(privacy_group)
    from app.distribution.bounce_cli import bounces_group
    from app.respond.cli import unsubscribe_group

    app.cli.add_command(bounces_group)

    app.cli.add_command(unsubscribe_group)


@click.group("user", help="Manage staff accounts.")
def user_group() -> None:
    pass


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.VIEWER.value)
@click.option("--unit", "units", multiple=True, help="Limit the user to this unit (repeatable).")
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create_user_command(email: str, role: str, units: tuple[str, ...], password: str) -> None:
    from app.auth.services import UserError, create_user

    try:
        user = create_user(email, password, Role(role), list(units))
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role.value} {user.email}.")


@user_group.command("reset-2fa")
@click.option("--email", required=True)
@with_appcontext
def reset_two_factor_command(email: str) -> None:
    """Switch a user's two-factor login off (lost phone and recovery codes); audited."""
    from app.auth.two_factor import TwoFactorError, reset

    try:
        user = reset(email, actor="cli")
    except TwoFactorError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Two-factor login of {user.email} is off and their sessions are ended; they log "
        "in with the password alone and enrol again (at once if MEMNUN_REQUIRE_2FA asks)."
    )


@click.group("api-key", help="Manage integrators' API keys.")
def api_key_group() -> None:
    pass


@api_key_group.command("create")
@click.option("--name", required=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice([s.value for s in ApiScope]),
    default=[ApiScope.INTAKE.value, ApiScope.READ.value],
    show_default=True,
)
@with_appcontext
def create_api_key_command(name: str, scopes: tuple[str, ...]) -> None:
    from app.auth.services import UserError, create_api_key

    try:
        key, plain = create_api_key(name, [ApiScope(s) for s in scopes])
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    scopes_text = ", ".join(key.scopes)
    click.echo(f"API key '{key.name}' ({scopes_text}). Keep it now; it is not shown again:")
    click.echo(plain)


@api_key_group.command("list")
@with_appcontext
def list_api_keys_command() -> None:
    from app.auth.api_keys import list_api_keys

    for key in list_api_keys():
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        state = (f"revoked {key.revoked_at.isoformat(timespec='seconds')}"
                 if key.revoked_at else "active")
        click.echo(f"{key.prefix}  {key.name}  [{', '.join(key.scopes)}]  created "
                   f"{key.created_at.isoformat(timespec='seconds')}  last used {used}  {state}")


@api_key_group.command("revoke")
@click.option("--name", help="The key's name (refused when several active keys share it).")
@click.option("--prefix", help="The key's prefix, as `memnun api-key list` shows it.")
@with_appcontext
def revoke_api_key_command(name: str | None, prefix: str | None) -> None:
    from app.auth.api_keys import ApiKeyError, revoke_api_key

    try:
        key = revoke_api_key("cli", name=name, prefix=prefix)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Revoked API key '{key.name}' ({key.prefix}).")


@click.command("dispatch", help="Send every due invitation once, then exit (for cron and tests).")
@with_appcontext
def dispatch_command() -> None:
    from app.distribution.dispatcher import dispatch_due

    result = dispatch_due()
    click.echo(result.summary())
    from app.webhooks import deliver_due_webhooks

    click.echo(deliver_due_webhooks().summary())


@click.group("rollup", help="The dashboards' hourly figures, by unit and by one filter's "
             "value (kept by database triggers).")
def rollup_group() -> None:
    pass


@rollup_group.command("compact")
@with_appcontext
def rollup_compact_command() -> None:
    """Fold the writers' rows together (the scheduler does this every few minutes)."""
    from app.analytics.rollup import compact
    from app.extensions import db

    with db.engine.begin() as connection:
        click.echo(f"Folded {compact(connection)} rows.")


@rollup_group.command("rebuild")
@with_appcontext
def rollup_rebuild_command() -> None:
    """Recompute the figures from complaints, invitations and responses (after a bulk load)."""
    from app.analytics.rollup import ROLLUPS, rebuild
    from app.extensions import db
    from app.progress import show_progress

    with db.engine.begin() as connection, show_progress("Rebuilding", len(ROLLUPS)) as advance:
        rebuild(connection, advance)
    click.echo("Rebuilt the hourly figures.")


@click.command("scheduler", help="Run the dispatcher on a schedule until stopped.")
@with_appcontext
def scheduler_command() -> None:
    from app.logsafe import configure_logging
    from app.scheduler import run_blocking_scheduler

    configure_logging(current_app.config["MEMNUN_LOG_LEVEL"])
    run_blocking_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("run", help="Serve the web app with its scheduler in one process (embedded setup).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Serve only; run `memnun scheduler` elsewhere.")
@with_appcontext
def run_command(host: str, port: int, no_scheduler: bool) -> None:
    from app.logsafe import configure_logging
    from app.scheduler import start_background_scheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    configure_logging(app.config["MEMNUN_LOG_LEVEL"])
    if not no_scheduler:
        start_background_scheduler(app)
    click.echo(f"Memnun on http://{host}:{port}/ (scheduler {'off' if no_scheduler else 'on'})")
    # Not app.run(): inside a Flask CLI command it only prints a warning and returns.
    from werkzeug.serving import run_simple

    from app.serving import RedactingRequestHandler

    # Werkzeug's own handler logs survey tokens and one-click answers with every request line.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False,
               request_handler=RedactingRequestHandler)


@click.command("serve", help="Serve the web app with gunicorn (production; no scheduler: run "
               "`memnun scheduler` beside it).")
@click.option("--bind", default=None, help="host:port [default: MEMNUN_WEB_BIND]")
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="worker processes [default: MEMNUN_WEB_WORKERS, 2 x cores + 1]")
@click.option("--threads", default=None, type=click.IntRange(min=1),
              help="threads per worker [default: MEMNUN_WEB_THREADS]")
@with_appcontext
def serve_command(bind: str | None, workers: int | None, threads: int | None) -> None:
    from app.logsafe import configure_logging
    from app.serving import (
        ACCESS_LOG_FORMAT,
        gunicorn_logger_class,
        post_worker_init,
        serve_with_gunicorn,
    )

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    configure_logging(config["MEMNUN_LOG_LEVEL"])
    options = {
        "bind": [bind or config["MEMNUN_WEB_BIND"]],
        "workers": workers or max(1, config["MEMNUN_WEB_WORKERS"]),
        "threads": threads or max(1, config["MEMNUN_WEB_THREADS"]),
        "timeout": config["MEMNUN_WEB_TIMEOUT"],
        "graceful_timeout": config["MEMNUN_WEB_GRACEFUL_TIMEOUT"],
        "loglevel": config["MEMNUN_LOG_LEVEL"].lower(),
        "errorlog": "-",
        "accesslog": "-" if config["MEMNUN_WEB_ACCESS_LOG"] else None,
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": gunicorn_logger_class(),
        "post_worker_init": post_worker_init,
        "proc_name": "memnun-web",
        # Two instances on one host would share its default path; nothing here uses it.
        "control_socket_disable": True,
    }
    # The app was built by this process: the workers are forked from it, each with its own
    # database connections (the pool is emptied first, so that no connection is shared).
    from app.databases import replica_of
    from app.extensions import db

    db.engine.dispose()
    replica = replica_of(app)
    if replica is not None:
        replica.engine.dispose()
    click.echo(f"Memnun (gunicorn) on http://{options['bind'][0]}/ with {options['workers']} "
               f"workers x {options['threads']} threads; no scheduler in them")
    serve_with_gunicorn(app, options)


@click.command("demo", help="Fill an empty database with a deterministic demo municipality.")
@click.option("--seed", default=10004, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when complaints already exist.")
@with_appcontext
def demo_command(seed: int, if_empty: bool) -> None:
    from app.demo import DemoError, load_demo
    from app.demo.loader import STEPS
    from app.progress import show_progress

    try:
        with show_progress("Loading the demo", STEPS) as advance:
            summary = load_demo(seed=seed, only_if_empty=if_empty, progress=advance)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary)
