"""``memnun user list|disable|enable|set-role|reset-password|end-sessions``: the accounts pages'
services (``app.staff.accounts``) from the command line, with its guard rails (the last admin of
the whole organisation stays). Accounts are named by e-mail address, with the login form's rule
(``app.auth.services.staff_email``)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.models import PasswordLinkPurpose, Role


def _account(email: str):  # type: ignore[no-untyped-def]
    from app.auth.services import UserError
    from app.staff.accounts import find_account

    try:
        return find_account(None, email=email)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc


def _refused(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("list")
@with_appcontext
def list_users_command() -> None:
    """Every account: e-mail, role, units, last login, open sessions, state."""
    from app.staff.accounts import list_accounts

    for account in list_accounts(None):
        user = account.user
        units = ",".join(sorted(unit.code for unit in user.units)) or "*"
        login = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        state = "active" if user.active else "disabled"
        click.echo(
            f"{user.email}\t{user.role.value}\tunits={units}\tlast_login={login}\t"
            f"sessions={account.open_sessions}\t{state}"
        )


@click.command("disable")
@click.option("--email", required=True)
@with_appcontext
def disable_user_command(email: str) -> None:
    """The account can no longer log in; its sessions end."""
    from app.auth.services import UserError
    from app.staff.accounts import disable_user

    user = _account(email)
    try:
        ended = disable_user(None, user)
    except UserError as exc:
        raise _refused(exc) from exc
    click.echo(f"Disabled {user.email}; {ended} session(s) ended.")


@click.command("enable")
@click.option("--email", required=True)
@with_appcontext
def enable_user_command(email: str) -> None:
    from app.staff.accounts import enable_user

    user = _account(email)
    enable_user(None, user)
    click.echo(f"Enabled {user.email}.")


@click.command("set-role")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--unit",
    "units",
    multiple=True,
    help="Limit the user to this unit code (repeatable); none: the whole organisation.",
)
@click.option(
    "--phone-interviewer/--no-phone-interviewer",
    default=None,
    help="Let the user see whom to call on the call list (or no longer); unset: as it is.",
)
@with_appcontext
def set_role_command(
    email: str, role: str, units: tuple[str, ...], phone_interviewer: bool | None
) -> None:
    """Give an account a role and units (what is not given is taken away)."""
    from app.auth.services import UserError
    from app.staff.accounts import change_access, units_by_code

    user = _account(email)
    try:
        change_access(
            None, user, Role(role), units_by_code(list(units)), phone_interviewer=phone_interviewer
        )
    except UserError as exc:
        raise _refused(exc) from exc
    where = ", ".join(units) or "the whole organisation"
    click.echo(f"{user.email}: {role}, {where}.")


@click.command("reset-password")
@click.option("--email", required=True)
@click.option(
    "--print-link",
    is_flag=True,
    help="Print the link instead of e-mailing it (give it to the person yourself).",
)
@with_appcontext
def reset_password_command(email: str, print_link: bool) -> None:
    """The old password stops working, the sessions end, and a single-use link is made."""
    from app.auth.services import UserError
    from app.staff.accounts import LINK_HOURS, password_link_url, reset_password
    from app.staff.mail import LinkNotSent, send_password_link

    user = _account(email)
    try:
        token = reset_password(None, user)
    except UserError as exc:
        raise _refused(exc) from exc
    if print_link:
        click.echo(f"Password link for {user.email} (works once, for {LINK_HOURS} hours):")
        click.echo(password_link_url(token))
        return
    try:
        send_password_link(user, token, PasswordLinkPurpose.RESET)
    except LinkNotSent as exc:
        raise click.ClickException(
            f"the e-mail could not be sent ({exc}); run again with --print-link"
        ) from exc
    click.echo(f"A password link went to {user.email}.")


@click.command("end-sessions")
@click.option("--email", required=True)
@with_appcontext
def end_sessions_command(email: str) -> None:
    from app.staff.accounts import end_sessions

    user = _account(email)
    click.echo(f"Ended {end_sessions(None, user)} session(s) of {user.email}.")


COMMANDS = (
    list_users_command,
    disable_user_command,
    enable_user_command,
    set_role_command,
    reset_password_command,
    end_sessions_command,
)
