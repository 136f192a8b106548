"""The call list and the call screen. Thin: ``app.phone.services`` decides, and the interview's
questions and checks are the survey's own (``app.respond``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.pages import no_store
from app.auth.scope import may_call_people
from app.distribution.calling import into_calling_hours
from app.distribution.forms import WEEKDAY_NAMES
from app.distribution.windows import rule_zone
from app.languages import language_name
from app.models import CallOutcome, Invitation
from app.models.types import utcnow
from app.phone import bp
from app.phone import services as phone
from app.phone.forms import OUTCOME_NAMES, CallForm, OptOutByPhoneForm
from app.respond import services as respond
from app.respond.forms import build_form, field_name, survey_answers
from app.respond.pages import speaking
from app.respond.questions import describe_condition, translated
from app.timefmt import organisation_zone

REFUSALS = {
    "closed": lambda: _("This call is closed: the invitation was answered, ended or expired."),
    "not_due": lambda: _("This call is not due yet: the rule spaces the calls out."),
    "outside_hours": lambda: _("It is outside this rule's calling hours: do not call now."),
    "taken": lambda: _("Someone else recorded this call a moment ago. Nothing was changed."),
    "bad_call_back": lambda: _(
        "Choose a call-back time in the future, inside the calling hours and before the "
        "invitation expires."),
}
DONE = {
    CallOutcome.NO_ANSWER: lambda: _("Recorded: no answer."),
    CallOutcome.BUSY: lambda: _("Recorded: busy."),
    CallOutcome.CALL_BACK: lambda: _("Recorded: call back at the time given."),
    CallOutcome.REFUSED: lambda: _("Recorded: refused. The invitation has ended."),
    CallOutcome.WRONG_NUMBER: lambda: _(
        "Recorded: wrong number. The invitation has ended and the number will not be used "
        "again."),
}


def _caller() -> None:
    if not phone.may_make_calls(current_user):
        abort(403)


def _call(invitation_id: int) -> Invitation:
    _caller()
    invitation = phone.phone_invitation(current_user, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.route("/phone/")
@login_required
def call_list() -> ResponseReturnValue:
    _caller()
    now = utcnow()
    html = render_template(
        "phone/list.html", calls=phone.call_list(current_user, now), now=now,
        zone=organisation_zone(), outcome_names=OUTCOME_NAMES, language_name=language_name,
        personal=may_call_people(current_user))
    return no_store(html)


def _script(invitation: Invitation) -> tuple[Any, list[Any]]:
    """The invitation's version and its questions in the person's language."""
    version = respond.survey_version(invitation)
    if version is None:
        abort(404)
    with speaking(invitation.language or version.languages[0]):
        questions = version.questions(invitation.language or version.languages[0])
    return version, questions


def _screen(invitation: Invitation, status: int = 200, *, call_form: CallForm | None = None,
            interview: Any = None) -> ResponseReturnValue:
    now = utcnow()
    version, questions = _script(invitation)
    interview = interview if interview is not None else build_form(questions, formdata=None)
    language = invitation.language or version.languages[0]
    rule = invitation.rule
    subject = invitation.complaint or invitation.service_event
    html = render_template(
        "phone/call.html", invitation=invitation, rule=rule, now=now,
        zone=organisation_zone(), rule_zone=rule_zone(rule),
        state=phone.call_state(invitation, now),
        refusals={code: text() for code, text in REFUSALS.items()},
        opens_at=into_calling_hours(max(invitation.due_at or now, now), rule) if rule else None,
        reference=getattr(subject, "external_id", None), unit=subject.unit if subject else None,
        person=phone.person_of(invitation) if may_call_people(current_user) else None,
        attempts=phone.attempts_of(invitation), outcome_names=OUTCOME_NAMES,
        call_form=call_form or CallForm(id_prefix="call"), opt_out_form=OptOutByPhoneForm(),
        questions=questions, fields={q.key: interview[field_name(q)] for q in questions},
        problems=[(q, interview[field_name(q)].errors) for q in questions
                  if interview[field_name(q)].errors],
        form_problems=list(interview.form_errors),
        conditions={q.key: describe_condition(q.show_if, questions) for q in questions
                    if q.show_if},
        intro=translated(version.definition.get("intro"), language, version.languages[0]),
        title=translated(version.definition.get("title"), language, version.languages[0]),
        language=language, language_label=language_name(language),
        calling_days=[WEEKDAY_NAMES[day] for day in sorted(rule.calling_days or []) if day in
                      WEEKDAY_NAMES] if rule else [])
    return no_store(html), status


@bp.route("/phone/<int:invitation_id>")
@login_required
def call_screen(invitation_id: int) -> ResponseReturnValue:
    return _screen(_call(invitation_id))


def _call_back_at(form: CallForm, invitation: Invitation) -> dt.datetime | None:
    day, clock = form.call_back_day.data, form.call_back_time.data
    if not day or not clock:
        return None
    try:
        local = dt.datetime.strptime(f"{day} {clock}", "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return local.replace(tzinfo=rule_zone(invitation.rule)).astimezone(dt.UTC)


@bp.route("/phone/<int:invitation_id>/call", methods=["POST"])
@login_required
def record_call(invitation_id: int) -> ResponseReturnValue:
    invitation = _call(invitation_id)
    form = CallForm(id_prefix="call")
    if not form.validate_on_submit():
        return _screen(invitation, 400, call_form=form)
    outcome = CallOutcome(form.outcome.data)
    call_back_at = _call_back_at(form, invitation)
    if outcome == CallOutcome.CALL_BACK and call_back_at is None:
        form.call_back_day.errors = [_("Enter the day and time to call back.")]
        return _screen(invitation, 400, call_form=form)
    try:
        phone.record_call(invitation, outcome, current_user, note=form.note.data,
                          call_back_at=call_back_at if outcome == CallOutcome.CALL_BACK else None)
    except phone.CallRefused as refused:
        if refused.code == "bad_call_back":
            form.call_back_day.errors = [REFUSALS["bad_call_back"]()]
            return _screen(invitation, 409, call_form=form)
        flash(REFUSALS[refused.code](), "error")
        return redirect(url_for(".call_screen", invitation_id=invitation_id))
    flash(DONE[outcome](), "info")
    return redirect(url_for(".call_list"))


@bp.route("/phone/<int:invitation_id>/interview", methods=["POST"])
@login_required
def save_interview(invitation_id: int) -> ResponseReturnValue:
    invitation = _call(invitation_id)
    version, questions = _script(invitation)
    form = build_form(questions)
    answers = survey_answers(form, questions)
    if answers is None:
        return _screen(invitation, 400, interview=form)
    language = invitation.language or version.languages[0]
    try:
        phone.complete_interview(invitation, answers, language, current_user)
    except phone.CallRefused as refused:
        flash(REFUSALS[refused.code](), "error")
        return _screen(invitation, 409, interview=form)
    except (respond.AlreadyAnswered, respond.SurveyClosed):
        flash(REFUSALS["closed"](), "error")
        return redirect(url_for(".call_screen", invitation_id=invitation_id))
    flash(_("The interview is saved as a response. Thank you."), "info")
    return redirect(url_for(".call_list"))


@bp.route("/phone/<int:invitation_id>/opt-out", methods=["POST"])
@login_required
def opt_out(invitation_id: int) -> ResponseReturnValue:
    invitation = _call(invitation_id)
    if not OptOutByPhoneForm().validate_on_submit():
        abort(400)
    phone.opt_out_by_phone(invitation, current_user)
    flash(_("The person is opted out: they get no more surveys, by any channel."), "info")
    return redirect(url_for(".call_list"))
