"""The demo's closed loop and management review: follow-ups for its unhappy respondents, and a
few improvement actions against its targets, so that the follow-up list and the review pack's
follow-up and action sections show something.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from app.demo.simulation import Clock, Survey
from app.extensions import db
from app.models import ActionStatus, FollowUpState, ImprovementAction, Response

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
    (contacted after a week, closed after three) as staff would have."""
    from app.followup.services import open_follow_up_if_needed

    opened = 0
    responses = db.session.scalars(select(Response).where(
        Response.invitation_id.in_(invitation_ids)).order_by(Response.id))
    for response in list(responses):
        follow_up = open_follow_up_if_needed(response)
        if follow_up is None:
            continue
        opened += 1
        at = response.submitted_at
        age = clock.now - at
        follow_up.created_at = follow_up.updated_at = at
        if age > 7 * DAY:
            follow_up.state, follow_up.contacted_at = FollowUpState.CONTACTED, at + 2 * DAY
        if age > 21 * DAY:
            follow_up.state, follow_up.closed_at = FollowUpState.CLOSED, at + 6 * DAY
            follow_up.updated_at = follow_up.closed_at
    db.session.commit()
    return opened

