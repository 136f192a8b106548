from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.followup.services import NOTE_MAX_LENGTH
from app.forms import StaffForm
from app.models import FollowUpState

STATE_NAMES = {
    FollowUpState.OPEN: _l("Open"),
    FollowUpState.CONTACTED: _l("Contacted"),
    FollowUpState.CLOSED: _l("Closed"),
}


class StateForm(StaffForm):
    state = SelectField(_l("State"), choices=[(s.value, label) for s, label in STATE_NAMES.items()],
                        validators=[DataRequired()])
    submit = SubmitField(_l("Change the state"))


class NoteForm(StaffForm):
    text = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=NOTE_MAX_LENGTH)])
    submit = SubmitField(_l("Add the note"))
