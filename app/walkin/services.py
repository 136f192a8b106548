"""Walk-in service points and their answers: what the pages do to the database (no HTTP here).

A service point's poster carries a link code (``app.walkin.codes``); its answers are responses
with ``mode`` walk_in, ``source`` service_user, no invitation, no complaint and no person.

Stuffing is met three ways. A device answers once a day per point: the page's signed cookie
says so (``AnsweredToday``), backed by a keyed hash of the address and browser for that day
(``WalkInDevice``), which, without the cookie, *holds* the answer rather than refusing it
(visitors on one guest Wi-Fi with the same phone look alike). The POST is rate limited (the
view). And an implausible volume (``burst``) or a run of identical answer sets (``pattern``) at
a point holds the answers concerned: kept, out of every figure, until a person accepts them
(``accept``) or rejects them (``reject`` deletes them: they are junk, and the audit log keeps
the ids and why).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    Answer,
    AuditLog,
    Channel,
    Questionnaire,
    Response,
    ResponseMode,
    ResponseSource,
    ServicePoint,
    Unit,
    VersionStatus,
    WalkInDevice,
    WebhookDelivery,
)
from app.models.types import utcnow
from app.respond.services import (
    SurveyVersion,
    answer_rows,
    commit_with_hooks,
    run_hooks_of_stored,
    version_by_id,
)
from app.storable import storable
from app.timefmt import today
from app.walkin.codes import hash_code, is_old_code, link_code, point_id_of
from app.webhooks import RESPONSE_CREATED
from app.wordforms import search_terms

log = logging.getLogger(__name__)

DEFAULT_QUESTIONNAIRE = "walk-in"
BURST = "burst"
PATTERN = "pattern"
DEVICE = "device"
USUAL_RATE_DAYS = 28
OPEN_HOURS_A_DAY = 8
KEEP_DEVICES_DAYS = 2


class ServicePointError(ValueError):
    """Staff input that cannot be stored; the message says why, in the user's language."""


class AnsweredToday(Exception):
    """This device has answered at this point today (the page's own cookie says so)."""


class CodeState(enum.StrEnum):
    OPEN = "open"
    ENDED = "ended"  # an older code of the point, or a point no longer in use
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class StuffingRules:
    """When a point's answers look implausible (``MEMNUN_WALKIN_*`` settings)."""

    burst_minutes: int = 10
    burst_floor: int = 8  # at least this many answers in the window ...
    burst_factor: float = 5.0  # ... and this many times the point's usual rate
    pattern_run: int = 8  # this many identical answer sets in a row ...
    pattern_minutes: int = 30  # ... within this many minutes

    @classmethod
    def configured(cls) -> StuffingRules:
        config = current_app.config
        defaults = cls()
        return cls(**{
            field.name: type(getattr(defaults, field.name))(
                config.get(f"MEMNUN_WALKIN_{field.name.upper()}") or getattr(defaults, field.name))
            for field in dataclasses.fields(cls)
        })


# --- service points -------------------------------------------------------------------------


def points_in(units: frozenset[int] | None) -> list[ServicePoint]:
    """The service points of ``units`` (None: all), those in use first, by unit and name."""
    query = select(ServicePoint).options(joinedload(ServicePoint.unit),
                                         joinedload(ServicePoint.questionnaire))
    if units is not None:
        query = query.where(ServicePoint.unit_id.in_(units))
    return list(db.session.scalars(query.order_by(
        ServicePoint.active.desc(), ServicePoint.unit_id, ServicePoint.name, ServicePoint.id)))


def point_in(point_id: int, units: frozenset[int] | None) -> ServicePoint | None:
    """The point with this id if it belongs to ``units`` (None: any), else None."""
    point = db.session.get(ServicePoint, point_id)
    if point is None or (units is not None and point.unit_id not in units):
        return None
    return point


def walk_in_questionnaires() -> list[Questionnaire]:
    """The questionnaires a point may ask: those with a published version, the walk-in first."""
    published = select(Questionnaire).where(Questionnaire.versions.any(
        status=VersionStatus.PUBLISHED))
    found = list(db.session.scalars(published.order_by(Questionnaire.key)))
    return sorted(found, key=lambda q: q.key != DEFAULT_QUESTIONNAIRE)


def _audit(actor: str, action: str, target: str, **detail: Any) -> None:
    db.session.add(AuditLog(actor=actor, action=action, target=target, detail=detail or None))


def create_point(*, unit_id: int, code: str, name: str, questionnaire_id: int,
                 actor: str) -> tuple[ServicePoint, str]:
    """A new service point in use, and its first link code."""
    code, name = code.strip(), name.strip()
    if not code or not name or not storable(code) or not storable(name):
        raise ServicePointError(_("Give the service point a code and a name."))
    if db.session.get(Unit, unit_id) is None or db.session.get(
            Questionnaire, questionnaire_id) is None:
        raise ServicePointError(_("Choose a unit and a questionnaire from the lists."))
    if db.session.scalar(select(ServicePoint.id).where(ServicePoint.code == code)):
        raise ServicePointError(_("Another service point has the code %(code)s.", code=code))
    point = ServicePoint(unit_id=unit_id, code=code, name=name, questionnaire_id=questionnaire_id,
                         generation=1, active=True,
                         token_hash=secrets.token_hex(32))  # a placeholder until the id is known
    db.session.add(point)
    db.session.flush()  # the id is part of the code
    link = link_code(point.id, point.generation)
    point.token_hash = hash_code(link)
    _audit(actor, "service_point.create", f"service_point:{point.id}", code=code, unit=unit_id)
    db.session.commit()
    return point, link


def regenerate(point: ServicePoint, actor: str) -> str:
    """A new link code for ``point``; the old one ends at once (its link says so, with 410)."""
    point.generation += 1
    link = link_code(point.id, point.generation)
    point.token_hash = hash_code(link)
    point.regenerated_at = utcnow()
    point.active = True
    _audit(actor, "service_point.regenerate", f"service_point:{point.id}",
           code=point.code, generation=point.generation)
    db.session.commit()
    return link


def deactivate(point: ServicePoint, actor: str) -> None:
    """Take ``point`` out of use: its link says the code is no longer in use."""
    point.active = False
    _audit(actor, "service_point.deactivate", f"service_point:{point.id}", code=point.code)
    db.session.commit()


def current_code(point: ServicePoint) -> str | None:
    """The point's link code for its poster; None when the secret key has changed since it was
    made (the stored hash no longer matches: regenerate to print a working poster)."""
    link = link_code(point.id, point.generation)
    return link if hmac.compare_digest(hash_code(link), point.token_hash) else None


def point_link(code: str) -> str:
    """The address a poster's QR code opens."""
    return f"{current_app.config['MEMNUN_BASE_URL'].rstrip('/')}/w/{code}"


def find_point(code: str) -> tuple[ServicePoint | None, CodeState]:
    """The point a link code opens, and whether it still does."""
    point_id = point_id_of(code)
    if point_id is None:
        return None, CodeState.UNKNOWN
    point = db.session.get(ServicePoint, point_id)
    if point is None:
        return None, CodeState.UNKNOWN
    if hmac.compare_digest(hash_code(code), point.token_hash):
        return point, CodeState.OPEN if point.active else CodeState.ENDED
    if is_old_code(code, point.id, point.generation):
        return point, CodeState.ENDED
    return None, CodeState.UNKNOWN


def point_version(point: ServicePoint) -> SurveyVersion | None:
    published = point.questionnaire.published_version
    return version_by_id(published.id) if published is not None else None


# --- answers ----------------------------------------------------------------------------------


def device_fingerprint(point_id: int, address: str, user_agent: str, day: dt.date) -> str:
    """A keyed hash of the device for one day at one point: it cannot be turned back into an
    address, nor matched across days or points."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"walk-in-device:{day.isoformat()}:{point_id}:{address}:{user_agent}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _signature(rows: Iterable[Answer]) -> tuple[tuple[Any, ...], ...]:
    return tuple(sorted((a.question_key, a.value_number, a.value_choice, a.value_text or "")
                        for a in rows))


def _recent(point_id: int, since: dt.datetime) -> Any:
    return select(Response.id).where(Response.service_point_id == point_id,
                                     Response.submitted_at > since)


def _is_burst(point_id: int, now: dt.datetime, rules: StuffingRules) -> bool:
    """More answers in the window (this one included) than the floor and than ``factor``
    times the point's usual number per window over the last four weeks (of open hours)."""
    window = dt.timedelta(minutes=rules.burst_minutes)
    in_window = db.session.scalar(select(func.count()).select_from(
        _recent(point_id, now - window).subquery())) + 1
    if in_window < rules.burst_floor:
        return False
    before = db.session.scalar(select(func.count()).where(
        Response.service_point_id == point_id,
        Response.submitted_at > now - dt.timedelta(days=USUAL_RATE_DAYS),
        Response.submitted_at <= now - window))
    # Over the hours a desk is open, not the whole day: a busy point's queue at opening time
    # is not a burst.
    usual = before / (USUAL_RATE_DAYS * dt.timedelta(hours=OPEN_HOURS_A_DAY) / window)
    return in_window >= rules.burst_factor * usual


def _pattern_run(point_id: int, rows: list[Answer], now: dt.datetime,
                 rules: StuffingRules) -> list[int] | None:
    """The ids of the point's last answers that, with this one, make a run of identical answer
    sets as long as ``pattern_run`` within ``pattern_minutes``; None when there is none."""
    since = now - dt.timedelta(minutes=rules.pattern_minutes)
    last = list(db.session.scalars(_recent(point_id, since).order_by(
        Response.submitted_at.desc(), Response.id.desc()).limit(rules.pattern_run - 1)))
    if len(last) < rules.pattern_run - 1:
        return None
    answers: dict[int, list[Answer]] = {response_id: [] for response_id in last}
    for answer in db.session.scalars(select(Answer).where(Answer.response_id.in_(last))):
        answers[answer.response_id].append(answer)
    mine = _signature(rows)
    return last if all(_signature(found) == mine for found in answers.values()) else None


def _hold(ids: Iterable[int], reason: str) -> None:
    """Hold the point's answers that are not held yet (a burst's earlier answers belong to it)."""
    ids = list(ids)
    if ids:
        db.session.execute(update(Response).where(Response.id.in_(ids), Response.held.is_(False))
                           .values(held=True, held_reason=reason)
                           .execution_options(synchronize_session=False))


def submit_walk_in(point: ServicePoint, version: SurveyVersion, answers: dict[str, Any],
                   language: str, *, fingerprint: str, answered_here_today: bool,
                   now: dt.datetime | None = None) -> Response:
    """Store a walk-in answer at ``point``, held when it looks like stuffing (see the module).

    Raises ``AnsweredToday`` when the device's cookie says it answered here today (or a double
    click sent it twice), ValueError for answers that do not fit the version."""
    if answered_here_today:
        raise AnsweredToday
    rows = answer_rows(version.definition, answers)  # ValueError before anything is written
    now = now or utcnow()
    rules = StuffingRules.configured()
    day = today(now)
    seen = db.session.scalar(select(WalkInDevice.id).where(
        WalkInDevice.service_point_id == point.id, WalkInDevice.day == day,
        WalkInDevice.fingerprint == fingerprint))
    run = _pattern_run(point.id, rows, now, rules)
    reason = (BURST if _is_burst(point.id, now, rules) else PATTERN if run is not None
              else DEVICE if seen is not None else None)
    response = Response(
        version_id=version.id, questionnaire_id=version.questionnaire_id, unit_id=point.unit_id,
        service_point_id=point.id, channel=Channel.WALK_IN, source=ResponseSource.SERVICE_USER,
        mode=ResponseMode.WALK_IN, held=reason is not None, held_reason=reason,
        language=language, submitted_at=now)
    for row in rows:
        row.search_terms = search_terms(row.value_text, language)
    response.answers = rows
    db.session.add(response)
    if seen is None:
        db.session.add(WalkInDevice(service_point_id=point.id, day=day, fingerprint=fingerprint))
    db.session.execute(delete(WalkInDevice).where(
        WalkInDevice.day < day - dt.timedelta(days=KEEP_DEVICES_DAYS - 1)))
    if reason == BURST:
        window = now - dt.timedelta(minutes=rules.burst_minutes)
        _hold(db.session.scalars(_recent(point.id, window)), BURST)
    elif reason == PATTERN and run is not None:
        _hold(run, PATTERN)
    try:
        db.session.flush()
    except IntegrityError:  # the same device's second POST at the same moment
        db.session.rollback()
        raise AnsweredToday from None
    if reason is None:
        # The ``response.created`` webhook (and ``response.low_score``: a walk-in answer is
        # anonymous, so no follow-up) as for every new response; a held one fires when accepted.
        commit_with_hooks(response, version)
    else:
        db.session.commit()
    if reason:
        log.info("walk-in response %s at service point %s held: %s", response.id, point.id,
                 reason)
    return response


# --- held answers -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HeldAnswer:
    response: Response
    point: ServicePoint
    answers: list[Answer]


def held_walk_ins(units: frozenset[int] | None) -> list[HeldAnswer]:
    """The held walk-in answers of ``units`` (None: all), by point, newest first."""
    query = (select(Response, ServicePoint)
             .join(ServicePoint, ServicePoint.id == Response.service_point_id)
             .where(Response.held.is_(True), Response.mode == ResponseMode.WALK_IN))
    if units is not None:
        query = query.where(Response.unit_id.in_(units))
    rows = db.session.execute(query.order_by(ServicePoint.name, ServicePoint.id,
                                             Response.submitted_at.desc())).all()
    answers: dict[int, list[Answer]] = {response.id: [] for response, _point in rows}
    if answers:
        for answer in db.session.scalars(select(Answer).where(
                Answer.response_id.in_(list(answers))).order_by(Answer.id)):
            answers[answer.response_id].append(answer)
    return [HeldAnswer(response, point, answers[response.id]) for response, point in rows]


def _held_ids(ids: Iterable[int], units: frozenset[int] | None) -> list[tuple[int, str | None]]:
    query = select(Response.id, Response.held_reason).where(
        Response.id.in_(list(ids)), Response.held.is_(True),
        Response.mode == ResponseMode.WALK_IN)
    if units is not None:
        query = query.where(Response.unit_id.in_(units))
    return [(row.id, row.held_reason) for row in db.session.execute(query)]


def held_of_point(point_id: int, units: frozenset[int] | None) -> list[int]:
    query = select(Response.id).where(Response.service_point_id == point_id,
                                      Response.held.is_(True))
    if units is not None:
        query = query.where(Response.unit_id.in_(units))
    return list(db.session.scalars(query))


def accept(ids: Iterable[int], units: frozenset[int] | None, actor: str) -> int:
    """Count these held walk-in answers from now on; returns how many were accepted. Each then
    fires its ``response.created`` webhook, as it would have when stored."""
    found = _held_ids(ids, units)
    if found:
        db.session.execute(update(Response).where(Response.id.in_([i for i, _ in found]))
                           .values(held=False).execution_options(synchronize_session=False))
    for response_id, reason in found:
        _audit(actor, "walk_in.accept", f"response:{response_id}", reason=reason)
    db.session.commit()
    for response_id in _not_announced([response_id for response_id, _reason in found]):
        run_hooks_of_stored(response_id)
    return len(found)


def _not_announced(ids: list[int]) -> list[int]:
    """Of these responses, those whose ``response.created`` webhook has not gone out: a burst or
    a pattern also holds the answers before it, which were announced when they were stored."""
    if not ids:
        return []
    since = db.session.scalar(select(func.min(Response.submitted_at))
                              .where(Response.id.in_(ids)))
    announced = {payload.get("data", {}).get("id") for payload in db.session.scalars(
        select(WebhookDelivery.payload).where(
            WebhookDelivery.event_type == RESPONSE_CREATED,
            WebhookDelivery.created_at >= since))}
    return [response_id for response_id in ids if response_id not in announced]


def reject(ids: Iterable[int], units: frozenset[int] | None, actor: str) -> int:
    """Delete these held walk-in answers (judged stuffing); returns how many."""
    held = _held_ids(ids, units)
    found = [response_id for response_id, _reason in held]
    for response_id, reason in held:
        _audit(actor, "walk_in.reject", f"response:{response_id}", reason=reason)
    if found:
        db.session.execute(delete(Answer).where(Answer.response_id.in_(found))
                           .execution_options(synchronize_session=False))
        db.session.execute(delete(Response).where(Response.id.in_(found))
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return len(found)
