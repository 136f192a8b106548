"""The demo's closed loop and management review: follow-ups for its unhappy respondents, and a
few improvement actions against its targets, so that the follow-up list and the review pack's
follow-up and action sections show something.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select

from app.demo.simulation import Clock, Survey
from app.extensions import db
from app.models import ActionStatus, Answer, FollowUp, FollowUpState, ImprovementAction, Response

DAY = dt.timedelta(days=1)

#: (unit code or None, metric, title, owner, created days ago, due in days from now, status,
#: closed days ago, outcome). Owners are roles, never people's names.
ACTIONS: tuple[tuple[str | None, str, str, str, int, int | None, ActionStatus, int | None, str],
               ...] = (
    ("zabita", "csat", "Zabıta ekiplerine vatandaşla iletişim eğitimi",
     "Zabıta Müdürü", 120, -20, ActionStatus.IN_PROGRESS, None, ""),
    ("imar", "on_time_resolution", "İmar başvurularına ön inceleme adımı",
     "İmar ve Şehircilik Müdürü", 45, 60, ActionStatus.OPEN, None, ""),
    ("temizlik", "complaints", "Konteyner boşaltma rotalarının yeniden planlanması",
     "Temizlik İşleri Müdürü", 200, -60, ActionStatus.DONE, 50,
     "Yeni rotalarla konteyner şikâyetleri belirgin biçimde azaldı."),
    (None, "response_rate", "Anket davetlerinin SMS ile de gönderilmesi",
     "Çözüm Merkezi Koordinatörü", 60, 30, ActionStatus.IN_PROGRESS, None, ""),
    ("fen-isleri", "on_time_resolution", "Yol onarım taleplerine haftalık öncelik toplantısı",
     "Fen İşleri Müdür Yardımcısı", 150, -90, ActionStatus.DROPPED, 100,
     "Yerine iş emri sistemine öncelik alanı eklendi."),
    (None, "resolution_confirmed", "Başvuru kapatılmadan önce vatandaşın aranması",
     "Çözüm Merkezi Ekip Lideri", 90, -10, ActionStatus.DONE, 12,
     "Kapatılan başvuruların çoğunda vatandaş arandı."),
)


def store_actions(clock: Clock, unit_ids: dict[str, int]) -> int:
    """The demo's improvement actions, dated relative to the demo's "now"."""
    today = clock.now.date()
    for code, metric, title, owner, created, due, status, closed, outcome in ACTIONS:
        created_at = clock.now - created * DAY
        closed_at = None if closed is None else clock.now - closed * DAY
        db.session.add(ImprovementAction(
            unit_id=unit_ids[code] if code else None, metric=metric, title=title,
            description="", owner=owner,
            due_on=None if due is None else today + dt.timedelta(days=due),
            status=status, outcome=outcome, created_at=created_at,
            updated_at=closed_at or created_at, closed_at=closed_at))
    return len(ACTIONS)


def needs_follow_up(survey: Survey) -> bool:
    """Whether the respond flow would put this answered survey on a follow-up list."""
    from app.followup.services import follow_up_reasons

    return bool(follow_up_reasons(SimpleNamespace(**row) for row in survey.answers))


def open_follow_ups(clock: Clock, invitation_ids: list[int]) -> int:
    """Open the follow-ups of the given invitations' responses through the respond flow's own
    ``open_follow_up_if_needed`` (after the demo's data is committed: it commits each one), then
    date each one at its response, as if it had been opened then, and move the older ones on
    (contacted after a week, closed after three) as staff would have.

    Responses from before the last 12 months, whose follow-ups were closed long ago, get theirs
    with the same reasons (``follow_up_reasons``, the service's rule) in one statement: one
    commit each would make the year before cost more than the rest of the demo."""
    from app.followup.services import follow_up_reasons, open_follow_up_if_needed

    chosen = Response.invitation_id.in_(invitation_ids)
    earlier = Response.submitted_at < clock.year_start
    # The year before as plain rows: ORM objects would all be expired (and read again) at each
    # commit of the service below.
    answers: dict[int, list[SimpleNamespace]] = {}
    for row in db.session.execute(
            select(Answer.response_id, Answer.value_number, Answer.question_type,
                   Answer.attribute).join(Response, Response.id == Answer.response_id)
            .where(chosen, earlier)):
        answers.setdefault(row.response_id, []).append(SimpleNamespace(**row._asdict()))
    rows = []
    for response in db.session.execute(
            select(Response.id, Response.complaint_id, Response.unit_id, Response.submitted_at)
            .where(chosen, earlier).order_by(Response.id)):
        reasons = follow_up_reasons(answers.get(response.id, []))  # type: ignore[arg-type]
        if reasons:
            rows.append({"response_id": response.id, "complaint_id": response.complaint_id,
                         "unit_id": response.unit_id,
                         "reason": ",".join(reason.value for reason in reasons),
                         **_moved_on(clock, response.submitted_at)})
    if rows:
        db.session.execute(insert(FollowUp.__table__), rows)
        db.session.commit()

    opened = 0
    recent = db.session.scalars(select(Response).where(chosen, ~earlier).order_by(Response.id))
    for response in list(recent):
        follow_up = open_follow_up_if_needed(response)
        if follow_up is None:
            continue
        opened += 1
        for name, value in _moved_on(clock, response.submitted_at).items():
            setattr(follow_up, name, value)
    db.session.commit()
    return opened + len(rows)


def _moved_on(clock: Clock, at: dt.datetime) -> dict[str, Any]:
    """A follow-up opened at ``at`` as staff would have moved it on by the demo's now:
    contacted after a week, closed after three."""
    fields: dict[str, Any] = {"state": FollowUpState.OPEN, "created_at": at, "updated_at": at,
                              "contacted_at": None, "closed_at": None}
    age = clock.now - at
    if age > 7 * DAY:
        fields.update(state=FollowUpState.CONTACTED, contacted_at=at + 2 * DAY)
    if age > 21 * DAY:
        fields.update(state=FollowUpState.CLOSED, closed_at=at + 6 * DAY,
                      updated_at=at + 6 * DAY)
    return fields
