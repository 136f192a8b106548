"""Admin pages of the distribution part: the outbox of the file mail backend."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import role_required
from app.distribution import bp
from app.distribution.outbox import list_outbox, preview_document, read_outbox_message
from app.followup.services import may_see_contact
from app.models import Role
from app.timefmt import format_instant, zone_label

PAGE_SIZE = 50

# The previewed e-mail may use inline styles but can run nothing and load nothing from elsewhere.
MESSAGE_PAGE_CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@bp.route("/outbox")
@role_required(Role.DESIGNER)
def outbox() -> ResponseReturnValue:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    entries, total = list_outbox(
        current_app.config["MEMNUN_OUTBOX_DIR"], offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render_template(
        "distribution/outbox.html",
        entries=entries,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        file_backend=current_app.config["MEMNUN_MAIL_BACKEND"] == "file",
    )


@bp.route("/outbox/<name>")
@role_required(Role.DESIGNER)
def outbox_message(name: str) -> ResponseReturnValue:
    message = read_outbox_message(current_app.config["MEMNUN_OUTBOX_DIR"], name)
    if message is None:
        abort(404)
    if not may_see_contact(current_user):  # the address is personal data: admins only
        message.headers = [(name, value) for name, value in message.headers if name != "To"]
    response = current_app.make_response(
        render_template(
            "distribution/outbox_message.html",
            message=message,
            preview=preview_document(message.html) if message.html else None,
            )
    )
    response.headers["Content-Security-Policy"] = MESSAGE_PAGE_CSP
    return response


@bp.route("/outbox/dispatch", methods=["POST"])
@role_required(Role.DESIGNER)
def dispatch_now() -> ResponseReturnValue:
    """Run one dispatcher pass now instead of waiting for the scheduler's next tick, and say
    what it did and what is planned next."""
    from app.distribution.dispatcher import dispatch_due
    from app.distribution.operations import next_up

    result = dispatch_due()
    flash(
        _(
            "Dispatch done: %(sent)s sent, %(reminded)s reminded, %(retried)s to retry, "
            "%(failed)s failed.",
            sent=result.sent,
            reminded=result.reminded,
            retried=result.retried,
            failed=result.failed,
        ),
        "info",
    )
    upcoming = next_up()
    if upcoming.first_due_at is None:
        flash(_("Nothing else is planned."), "info")
    else:
        flash(
            _(
                "Still planned: %(count)s; the next is due %(when)s (%(zone)s). See the survey "
                "queue for each one.",
                count=upcoming.planned,
                when=format_instant(upcoming.first_due_at),
                zone=zone_label(upcoming.first_due_at),
            ),
            "info",
        )
    return redirect(url_for("distribution.outbox"))
