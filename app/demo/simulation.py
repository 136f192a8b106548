"""Two years in the life of the demo municipality, simulated in plain Python (no database here).

Complaints arrive with each unit's seasonality, are resolved in a time that grows when a unit is
busy (so some end late), and resolved complaints get a survey invitation that follows the
distribution rule's delay, sending hours, reminder, expiry, consent, opt-out and fatigue window.
Everything is drawn from one ``random.Random``, so a seed gives the same years every time.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from app.demo import catalogue as cat
from app.demo.catalogue import CategoryProfile, UnitProfile

TIMEZONE = ZoneInfo("Europe/Istanbul")
MONTHS = 12  # the year the story is told over (units' trends): the last 12 months to date
#: How far back the demo goes: this month and the 24 before it, so the last 12 months, and each
#: shortcut's "same days last year", have a whole year before them to be compared with.
HISTORY_MONTHS = 25
#: The share of the rule's sample surveyed before the last 12 months. Complaints keep their full
#: number (their counts are compared); surveys are thinned, which leaves rates comparable and
#: keeps `memnun demo` near the time one year took (about a fifth more, not twice).
OLDER_SAMPLE = 0.5
REOPEN_SHARE = 0.03
FAILED_SHARE = 0.015
PLANNED_LEFT = 3  # invitations left for the dispatcher, so that the outbox shows something
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
#: Until this long before the demo's "now" the municipality had an SMS gateway: a person who left
#: a phone number and no e-mail address got the survey by SMS. Since then the satisfaction team
#: calls them (``app.demo.phone``), so the figures have e-mail, SMS and phone answers.
SMS_ENDED = 60 * DAY
SETTLE = 2 * DAY


@dataclass(frozen=True)
class Clock:
    """The demo's time: from the first day of the month ``HISTORY_MONTHS - 1`` back (``start``)
    up to ``now``; the last 12 months (to date) begin at ``year_start``."""

    now: dt.datetime
    start: dt.datetime
    year_start: dt.datetime

    @classmethod
    def ending(cls, now: dt.datetime) -> Clock:
        local = now.astimezone(TIMEZONE)

        def first_of(months_back: int) -> dt.datetime:
            month = local.year * 12 + local.month - 1 - months_back
            return dt.datetime(month // 12, month % 12 + 1, 1,
                               tzinfo=TIMEZONE).astimezone(dt.UTC)

        return cls(now=now.astimezone(dt.UTC), start=first_of(HISTORY_MONTHS - 1),
                   year_start=first_of(MONTHS - 1))

    def month_starts(self) -> list[dt.date]:
        first = self.start.astimezone(TIMEZONE).date()
        return [_add_months(first, i) for i in range(HISTORY_MONTHS)]

    def months_from_middle(self, at: dt.datetime) -> float:
        """Months between ``at`` and the middle of the last 12 months (negative before it);
        before those 12 months, as at their start: the year before is where the trends began."""
        months = ((at - self.year_start) / (self.now - self.year_start) * MONTHS - MONTHS / 2)
        return max(months, -MONTHS / 2)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def seasonal(unit: UnitProfile, month: int) -> float:
    """1 on average, ``1 + season`` in the unit's peak month, ``1 - season`` six months away."""
    return 1 + unit.season * math.cos(2 * math.pi * (month - unit.peak_month) / 12)


@dataclass(eq=False)
class Person:
    """A complainant; ``id`` is set once the row is stored."""

    name: str | None
    email: str | None
    phone: str | None
    language: str
    consent: bool
    created_at: dt.datetime
    opted_out_at: dt.datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Case:
    """A complaint and its history as far as it has happened by the demo's ``now``."""

    received_at: dt.datetime
    channel: str
    unit: UnitProfile
    category: CategoryProfile
    subject: str
    description: str
    due_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    first_resolved_at: dt.datetime | None = None
    reopened_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    status: str = "received"
    external_id: str = ""
    person: Person | None = None
    id: int | None = None

    @property
    def late(self) -> bool:
        return self.resolved_at is not None and self.resolved_at > self.due_at

    def events(self) -> list[tuple[str, dt.datetime]]:
        history = [("received", self.received_at), ("acknowledged", self.acknowledged_at)]
        if self.reopened_at is not None:
            history += [("resolved", self.first_resolved_at), ("reopened", self.reopened_at)]
        history += [("resolved", self.resolved_at), ("closed", self.closed_at)]
        return [(kind, at) for kind, at in history if at is not None]

    @property
    def updated_at(self) -> dt.datetime:
        return max(at for _, at in self.events())


# --- complaints --------------------------------------------------------------------------------


def simulate_cases(rng: random.Random, clock: Clock, count: int) -> list[Case]:
    """``count`` complaints in the last 12 months, and before them as many more as the same
    seasonality and growth give the older months, in the order they were received."""
    cells, weights = _day_unit_cells(clock)
    year_first = clock.year_start.astimezone(TIMEZONE).date()
    split = next((i for i, (day, _unit) in enumerate(cells) if day >= year_first), len(cells))
    older = weights[split - 1] if split else 0.0
    year_cells = cells[split:]
    year_weights = [weight - older for weight in weights[split:]]
    older_count = round(count * older / year_weights[-1]) if older and year_weights else 0
    categories = {c.code: c for c in cat.CATEGORIES}
    cases = []
    drawn = rng.choices(year_cells, cum_weights=year_weights, k=count)
    if older_count:
        drawn += rng.choices(cells[:split], cum_weights=weights[:split], k=older_count)
    for day, unit in drawn:
        channel = _channel(rng, day)
        received = _time_of_day(rng, clock, day, channel)
        category = categories[_category_code(rng, unit)]
        cases.append(_new_case(rng, received, channel, unit, category))
    cases.sort(key=lambda c: c.received_at)
    _number(cases)
    for case in cases:
        _resolve(rng, clock, case)
    return cases


def _day_unit_cells(clock: Clock) -> tuple[list[tuple[dt.date, UnitProfile]], list[float]]:
    """Every (day, unit) pair with its cumulative weight: seasonality, weekdays, slight growth."""
    first = clock.start.astimezone(TIMEZONE).date()
    local_now = clock.now.astimezone(TIMEZONE)
    days = (local_now.date() - first).days + 1
    cells, cumulative, total = [], [], 0.0
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        weekday = (1.0, 1.0, 1.0, 1.0, 0.95, 0.55, 0.4)[day.weekday()]
        growth = 0.95 + 0.1 * offset / days
        elapsed = 1.0 if day < local_now.date() else _day_fraction(local_now)
        for unit in cat.UNITS:
            if unit.handles_complaints:
                total += unit.weight * seasonal(unit, day.month) * weekday * growth * elapsed
                cells.append((day, unit))
                cumulative.append(total)
    return cells, cumulative


def _day_fraction(local: dt.datetime) -> float:
    return max((local.hour * 60 + local.minute) / 1440, 0.01)


OFFICE_CHANNELS = ("walk_in", "letter")


def _channel(rng: random.Random, day: dt.date) -> str:
    channels = [c for c in cat.CHANNEL_WEIGHTS if day.weekday() < 5 or c not in OFFICE_CHANNELS]
    return rng.choices(channels, weights=[cat.CHANNEL_WEIGHTS[c] for c in channels])[0]


# Local hours at which complaints arrive: offices keep office hours, the call centre runs long
# days, the web never closes but sleeps at night.
HOURS = {
    "office": [0] * 9 + [3, 4, 4, 2, 4, 4, 3, 2] + [0] * 7,
    "phone": [0] * 8 + [2, 5, 6, 5, 3, 5, 5, 4, 3, 2, 2, 1] + [0] * 4,
    "online": [1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 4, 2],
}


def _time_of_day(rng: random.Random, clock: Clock, day: dt.date, channel: str) -> dt.datetime:
    profile = "online"
    if channel in OFFICE_CHANNELS or channel == "phone":
        profile = "office" if channel in OFFICE_CHANNELS else "phone"
    hour = rng.choices(range(24), weights=HOURS[profile])[0]
    local = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)), TIMEZONE)
    received = local.astimezone(dt.UTC)
    if received >= clock.now:  # today, later than now: move it into the part of today gone by
        day_start = dt.datetime.combine(day, dt.time(), TIMEZONE).astimezone(dt.UTC)
        received = day_start + (clock.now - day_start) * rng.random()
    return received


def _category_code(rng: random.Random, unit: UnitProfile) -> str:
    if rng.random() < cat.STAFF_SHARE:
        return cat.STAFF_CATEGORY
    codes = list(unit.categories)
    return rng.choices(codes, weights=[unit.categories[c] for c in codes])[0]


def _new_case(
    rng: random.Random, received: dt.datetime, channel: str, unit: UnitProfile,
    category: CategoryProfile,
) -> Case:
    subject = rng.choice(category.subjects)
    place = f"{rng.choice(cat.NEIGHBOURHOODS)} Mahallesi, {rng.randint(1, 240)}. Sokak"
    number = rng.randint(1, 80)
    description = f"{subject}. Adres: {place} No: {number}. İlgilenilmesini rica ederim."
    return Case(
        received_at=received, channel=channel, unit=unit, category=category, subject=subject,
        description=description, due_at=received + category.days * DAY,
    )


def _number(cases: list[Case]) -> None:
    """External ids as a municipal complaint system would give them: OB-<year>-<sequence>."""
    sequence: dict[int, int] = {}
    for case in cases:
        year = case.received_at.astimezone(TIMEZONE).year
        sequence[year] = sequence.get(year, 0) + 1
        case.external_id = f"OB-{year}-{sequence[year]:05d}"


def _resolve(rng: random.Random, clock: Clock, case: Case) -> None:
    """Draw the complaint's history and keep what has happened by the demo's ``now``.

    A busy month slows a unit down (``seasonal`` again), which is what makes summer complaints
    to the cleaning department late more often. The same number of draws is made for every
    complaint, so the clock does not shift the random sequence. A resolution counts only once
    ``SETTLE`` has passed, so that its survey fell due within the demo year; later ones are still
    being worked on.
    """
    unit, days = case.unit, case.category.days
    month = case.received_at.astimezone(TIMEZONE).month
    ack_hours = min(rng.lognormvariate(math.log(3), 0.9), 72)
    ratio = unit.speed * seasonal(unit, month) ** 1.5 * rng.lognormvariate(0, 0.55)
    reopens = rng.random() < REOPEN_SHARE
    reopen_days, rework, close_days = rng.uniform(1, 4), rng.uniform(0.2, 0.8), rng.uniform(5, 12)

    cutoff = clock.now - SETTLE
    ack = case.received_at + ack_hours * HOUR
    resolved = max(case.received_at + min(ratio, 4.0) * days * DAY, ack + HOUR)
    if reopens and resolved + reopen_days * DAY <= cutoff:
        case.first_resolved_at = resolved
        case.reopened_at = resolved + reopen_days * DAY
        resolved = case.reopened_at + rework * days * DAY
    case.acknowledged_at = ack if ack <= clock.now else None
    if resolved <= cutoff:
        case.resolved_at = resolved
        closed = resolved + close_days * DAY
        case.closed_at = closed if closed <= clock.now else None
    case.status = (
        "closed" if case.closed_at
        else "resolved" if case.resolved_at
        else "reopened" if case.reopened_at
        else "acknowledged" if case.acknowledged_at
        else "received"
    )


# --- complainants ------------------------------------------------------------------------------


def assign_people(rng: random.Random, clock: Clock, cases: list[Case]) -> list[Person]:
    """Give complaints their complainants: a few anonymous, some who complain again."""
    people: list[Person] = []
    emails: set[str] = set()
    for case in cases:
        draw = rng.random()
        if draw < 0.03:
            continue  # anonymous: nobody to ask
        if draw < 0.17 and people:
            case.person = rng.choice(people)
            continue
        case.person = _new_person(rng, case, emails)
        people.append(case.person)
    for person in people:
        if person.opted_out_at is not None and person.opted_out_at > clock.now:
            person.opted_out_at = None  # would opt out later: not yet
    return people


FOLD = str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU")


def _new_person(rng: random.Random, case: Case, emails: set[str]) -> Person:
    language = "en" if rng.random() < 0.08 else "tr"
    firsts, lasts = (
        (cat.FIRST_NAMES_EN, cat.LAST_NAMES_EN) if language == "en"
        else (cat.FIRST_NAMES_TR, cat.LAST_NAMES_TR)
    )
    first, last = rng.choice(firsts), rng.choice(lasts)
    email = None
    if rng.random() < cat.EMAIL_SHARE[case.channel]:
        email = _email(rng, first, last, emails)
    phone = None
    if case.channel in ("phone", "walk_in", "mobile_app") or rng.random() < 0.3:
        # 000 is no Turkish area code: this can never be someone's number.
        digits = [rng.randrange(1000), rng.randrange(100), rng.randrange(100)]
        phone = "+90 000 {:03d} {:02d} {:02d}".format(*digits)
    consent = rng.random() < (0.8 if language == "en" else 0.86)
    person = Person(
        name=f"{first} {last}", email=email, phone=phone, language=language, consent=consent,
        created_at=case.received_at,
    )
    if consent and email and rng.random() < 0.025:
        person.opted_out_at = case.received_at + rng.uniform(5, 200) * DAY
    return person


def _email(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    first, last = first.translate(FOLD).lower(), last.translate(FOLD).lower()
    year = rng.randint(1950, 2005) % 100
    local = rng.choice((f"{first}.{last}", f"{first}{last}{year:02d}", f"{first[0]}{last}"))
    domain = rng.choice(cat.EMAIL_DOMAINS)
    email, n = f"{local}@{domain}", 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{domain}"
    taken.add(email)
    return email


# --- survey invitations ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSettings:
    """The distribution rule's settings that shape the simulated invitations."""

    delay: dt.timedelta
    reminder: dt.timedelta | None
    expiry: dt.timedelta
    sample_rate: float
    fatigue: dt.timedelta
    window: tuple[dt.time, dt.time]
    timezone: ZoneInfo

    @classmethod
    def of(cls, rule: Any) -> RuleSettings:
        """The settings of a ``DistributionRule`` (read, not queried: no database here)."""
        minutes = dt.timedelta(minutes=1)
        return cls(
            delay=rule.delay_minutes * minutes,
            reminder=rule.reminder_after_minutes * minutes if rule.reminder_after_minutes
            else None,
            expiry=rule.expires_after_minutes * minutes,
            sample_rate=rule.sample_rate,
            fatigue=dt.timedelta(days=rule.fatigue_days or 0),
            window=(dt.time.fromisoformat(rule.send_window_start),
                    dt.time.fromisoformat(rule.send_window_end)),
            timezone=ZoneInfo(rule.timezone),
        )


@dataclass(eq=False)
class Survey:
    """An invitation and, once answered, the answer rows for its response."""

    case: Case
    resolved_at: dt.datetime  # the resolution this invitation follows up
    due_at: dt.datetime
    language: str
    state: str = "planned"
    reason: str | None = None
    channel: str = "email"  # how the invitation went out: email or sms
    sent_at: dt.datetime | None = None
    reminder_due_at: dt.datetime | None = None
    reminded_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    responded_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    answers: list[dict[str, object]] = field(default_factory=list)
    id: int | None = None


def plan_surveys(
    rng: random.Random, clock: Clock, cases: list[Case], rule: RuleSettings
) -> list[Survey]:
    """One invitation per resolution, walked through in the order they fell due.

    A complaint that was reopened has two: the first one cancelled by the reopening.
    """
    planned: list[tuple[Survey, dt.datetime | None]] = []
    for case in cases:
        language = case.person.language if case.person else "tr"
        if case.reopened_at is not None:
            first = case.first_resolved_at
            due = in_window(first + rule.delay, rule)
            planned.append((Survey(case, first, due, language), case.reopened_at))
        if case.resolved_at is not None:
            due = in_window(case.resolved_at + rule.delay, rule)
            planned.append((Survey(case, case.resolved_at, due, language), None))
    planned.sort(key=lambda pair: pair[0].due_at)
    last_sent: dict[int, dt.datetime] = {}
    sms_until = clock.now - SMS_ENDED
    for survey, cancelled_at in planned:
        draws = [rng.random() for _ in range(7)]
        sample = rule.sample_rate * (OLDER_SAMPLE if survey.due_at < clock.year_start else 1)
        survey.channel = _channel_of(survey, sms_until)
        reason = _suppression(survey, rule, last_sent, draws[0], sample)
        if reason:
            survey.state, survey.reason = "suppressed", reason
            continue
        _deliver(survey, clock, rule, draws[1:], cancelled_at)
        if survey.sent_at is not None:
            last_sent[id(survey.case.person)] = survey.sent_at
    surveys = [survey for survey, _ in planned]
    _leave_for_dispatcher(surveys, clock)
    return surveys


def in_window(at: dt.datetime, rule: RuleSettings) -> dt.datetime:
    """The first moment at or after ``at`` inside the rule's sending hours."""
    local = at.astimezone(rule.timezone)
    start, end = rule.window
    if local.time() < start:
        local = dt.datetime.combine(local.date(), start, rule.timezone)
    elif local.time() >= end:
        local = dt.datetime.combine(local.date() + DAY, start, rule.timezone)
    return local.astimezone(dt.UTC)


def _channel_of(survey: Survey, sms_until: dt.datetime) -> str:
    """E-mail when the person left an address; else SMS to their phone while the gateway was
    there (``SMS_ENDED``)."""
    person = survey.case.person
    if person is not None and not person.email and person.phone and survey.due_at < sms_until:
        return "sms"
    return "email"


def _suppression(survey: Survey, rule: RuleSettings, last_sent: dict[int, dt.datetime],
                 draw: float, sample_rate: float) -> str | None:
    person = survey.case.person
    if person is None or not (person.email or survey.channel == "sms"):
        return "no_contact"
    if not person.consent:
        return "no_consent"
    if person.opted_out_at is not None and person.opted_out_at <= survey.due_at:
        return "opted_out"
    previous = last_sent.get(id(person))
    if previous is not None and survey.due_at - previous < rule.fatigue:
        return "fatigue"
    if draw >= sample_rate:
        return "not_sampled"
    return None


def _deliver(survey: Survey, clock: Clock, rule: RuleSettings, draws: list[float],
             cancelled_at: dt.datetime | None) -> None:
    """Send, remind, answer or expire, as far as the demo's ``now`` and a reopening allow."""
    fail, respond, branch, wait, spread, _ = draws
    if cancelled_at is not None and cancelled_at <= survey.due_at:
        survey.state = "cancelled"  # reopened before the survey went out
        return
    if fail < FAILED_SHARE:
        survey.state, survey.attempts = "failed", 1
        survey.last_error = ("sms gateway: 400 number not reachable" if survey.channel == "sms"
                             else "550 5.1.1 Mailbox unavailable")
        return
    survey.sent_at = survey.due_at + (1 + 9 * spread) * MINUTE
    survey.attempts = 1
    survey.expires_at = survey.sent_at + rule.expiry
    if rule.reminder:
        survey.reminder_due_at = survey.sent_at + rule.reminder
    respond_at = None
    if respond < _response_chance(survey):
        respond_at = _response_time(survey, branch, wait)
    stop = min(x for x in (clock.now, cancelled_at, respond_at, survey.expires_at) if x)
    if survey.reminder_due_at and survey.reminder_due_at < stop:
        survey.reminded_at = survey.reminder_due_at + (1 + 9 * spread) * MINUTE
    if cancelled_at is not None and cancelled_at == stop:
        survey.state = "cancelled"
    elif respond_at is not None and respond_at == stop:
        survey.state, survey.responded_at = "responded", respond_at
    elif survey.expires_at <= clock.now:
        survey.state = "expired"
    elif survey.reminded_at:
        survey.state = "reminded"
    else:
        # Still waiting for an answer. No reminder is left due: the demo never has the
        # dispatcher mail anyone but the few invitations left planned on purpose.
        survey.state, survey.reminder_due_at = "sent", None


def _response_chance(survey: Survey) -> float:
    chance = 0.38
    chance += {"web": 0.06, "email": 0.06, "mobile_app": 0.04, "phone": -0.08,
               "walk_in": -0.08, "letter": -0.1}.get(survey.case.channel, 0.0)
    chance -= 0.06 if survey.language == "en" else 0.0
    chance -= 0.05 if survey.channel == "sms" else 0.0  # a link in an SMS is answered less
    return chance


def _response_time(survey: Survey, branch: float, wait: float) -> dt.datetime:
    """Most answer within hours; a third after the reminder; a few any time before expiry."""
    sent, expires = survey.sent_at, survey.expires_at
    assert sent is not None and expires is not None
    hours = -math.log(1 - wait)  # exponential, mean 1
    if branch < 0.6 or survey.reminder_due_at is None:
        at = sent + 5 * hours * HOUR
    elif branch < 0.92:
        at = survey.reminder_due_at + 10 * hours * HOUR
    else:
        at = sent + (expires - sent) * wait
    return min(at, expires - 10 * MINUTE)


DELIVERED = ("sent", "reminded", "responded", "expired")


def _leave_for_dispatcher(surveys: list[Survey], clock: Clock) -> None:
    """Turn the newest delivered invitations back into planned ones, due now.

    Every other demo invitation is finished (sent, answered, expired...) so the dispatcher never
    sends it again; these few go out on the first dispatch and show up in the outbox.
    """
    left = 0
    for survey in reversed(surveys):
        if left == PLANNED_LEFT:
            break
        person = survey.case.person
        if (survey.state in DELIVERED and survey.channel == "email" and person is not None
                and person.opted_out_at is None):
            survey.state, survey.due_at = "planned", clock.now
            survey.sent_at = survey.reminded_at = survey.responded_at = None
            survey.reminder_due_at = survey.expires_at = None
            survey.attempts = 0
            left += 1
