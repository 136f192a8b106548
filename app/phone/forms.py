"""The call screen's forms: how a call ended, and the opt-out button. The interview's answers
are the survey's own form (``app.respond.forms.build_form``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from app.forms import StaffForm
from app.models import CallOutcome

OUTCOME_NAMES = {
    CallOutcome.NO_ANSWER: _l("No answer"),
    CallOutcome.BUSY: _l("Busy"),
    CallOutcome.CALL_BACK: _l("Call back at a time"),
    CallOutcome.REFUSED: _l("Refused the interview"),
    CallOutcome.WRONG_NUMBER: _l("Wrong number"),
    CallOutcome.COMPLETED: _l("Completed"),
}
#: What the call form offers: a completed interview is saved with its answers.
CALL_OUTCOMES = [outcome for outcome in OUTCOME_NAMES if outcome != CallOutcome.COMPLETED]


class CallForm(StaffForm):
    outcome = RadioField(
        _l("How did the call end?"),
        choices=[(outcome.value, OUTCOME_NAMES[outcome]) for outcome in CALL_OUTCOMES],
        validators=[InputRequired(_l("Choose how the call ended."))],
    )
    call_back_day = StringField(
        _l("Call back on (YYYY-MM-DD)"),
        validators=[Optional(), Regexp(r"^\d{4}-\d{2}-\d{2}$",
                                       message=_l("Enter a date such as 2026-12-31."))],
    )
    call_back_time = StringField(
        _l("at (HH:MM)"),
        validators=[Optional(), Regexp(r"^([01]\d|2[0-3]):[0-5]\d$",
                                       message=_l("Enter a time such as 14:30."))],
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class OptOutByPhoneForm(StaffForm):
    """Only the CSRF token: the button says it."""
