"""Benchmark: starting a campaign that samples 100,000 people over 50 units, on PostgreSQL,
against a hand-written ``INSERT ... SELECT`` of the same kind of sample in the same run.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_campaign.py [--units 50] [--per-unit 4000]
        [--sample 100000] [--database campaign]

Seeds its own database (``memnun_bench_<database>``) with ``--units`` x ``--per-unit`` people
served in one month (one in ten of them twice), all with consent and an e-mail address, one in
forty-seven opted out, then plans a campaign whose target margin makes each unit's sample about
``--sample / --units`` people. Timed: ``start_campaign`` as the admin page calls it (the
preview's counts, the draw and the planning of every invitation, the commit). The baseline is
the same work written by hand as one SQL statement (each person once, those who may be asked,
a random draw per unit of the same sizes) into a scratch copy of the invitation table; it runs
before and after the campaign, and the ratio to their mean is printed. Exits 1 when the
campaign takes 30 s or more, or plans a different number than its preview said.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.bench import app_for, fresh_database  # noqa: E402

SERVED_FROM = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
SERVED_UNTIL = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
LIMIT_SECONDS = 30.0

SEED = """
INSERT INTO unit (code, name) SELECT 'unit-' || u, 'Unit ' || u FROM generate_series(1, :units) u;
INSERT INTO service (code, name) VALUES ('desk', 'Desk');
INSERT INTO complainant (name, email, language, survey_consent, opted_out_at, created_at)
SELECT 'Person ' || p, 'person' || p || '@example.org', 'tr', true,
       CASE WHEN p % 47 = 0 THEN now() END, now()
FROM generate_series(1, :people) p;
INSERT INTO service_event (source, external_id, occurred_at, unit_id, service_id, channel,
                           complainant_id, created_at)
SELECT 'bench', 'E' || c.id, :served_from + (c.id % 29) * interval '1 day',
       (SELECT min(id) FROM unit) + (c.id - 1) % :units, (SELECT id FROM service), 'walk_in',
       c.id, now()
FROM complainant c;
INSERT INTO service_event (source, external_id, occurred_at, unit_id, service_id, channel,
                           complainant_id, created_at)
SELECT 'bench', 'F' || c.id, :served_from + interval '1 hour', (SELECT min(id) FROM unit)
       + (c.id - 1) % :units, (SELECT id FROM service), 'walk_in', c.id, now()
FROM complainant c WHERE c.id % 10 = 0;
"""

# The same sample, by hand: each person once (their latest event), those who may be asked, a
# random draw of :size people per unit.
BASELINE = """
INSERT INTO invitation_baseline (service_event_id, campaign_id, version_id, state, language,
                                 channel, due_at, attempts, created_at)
SELECT event_id, :campaign, :version, 'planned', 'tr', 'email', now(), 0, now() FROM (
  SELECT event_id, row_number() OVER (PARTITION BY unit_id ORDER BY random()) AS draw
  FROM (
    SELECT DISTINCT ON (c.email) e.id AS event_id, e.unit_id, c.survey_consent, c.opted_out_at
    FROM service_event e JOIN complainant c ON c.id = e.complainant_id
    WHERE e.occurred_at >= :served_from AND e.occurred_at < :served_until
      AND c.erased_at IS NULL
    ORDER BY c.email, e.occurred_at DESC, e.id DESC
  ) latest
  WHERE survey_consent AND opted_out_at IS NULL
) drawn WHERE draw <= :size
"""


def _seed(app, units: int, per_unit: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from app.extensions import db
    from app.models import Questionnaire, QuestionnaireVersion, VersionStatus

    with app.app_context():
        for statement in SEED.strip().split(";\n"):
            if statement.strip():
                db.session.execute(text(statement), {
                    "units": units, "people": units * per_unit, "served_from": SERVED_FROM})
        questionnaire = Questionnaire(key="visit", title="Visit")
        db.session.add_all([questionnaire, QuestionnaireVersion(
            questionnaire=questionnaire, number=1, status=VersionStatus.PUBLISHED,
            published_at=SERVED_UNTIL, definition={
                "key": "visit", "languages": ["tr", "en"], "title": {"tr": "Ziyaret"},
                "questions": [{"key": "overall", "type": "rating", "attribute": "overall",
                               "text": {"tr": "Memnun musunuz?"}}]})])
        db.session.execute(text("CREATE TABLE invitation_baseline "
                                "(LIKE invitation INCLUDING DEFAULTS INCLUDING INDEXES)"))
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def _margin_for(per_unit: int, size: int, rate: float) -> float:
    """The target margin whose plan samples about ``size`` of ``per_unit`` people."""
    from app.distribution.campaigns import unit_plan

    low, high = 0.001, 0.5
    for _ in range(40):
        middle = (low + high) / 2
        if unit_plan(0, "", per_unit, per_unit, middle, rate).sample > size:
            low = middle
        else:
            high = middle
    return high


def _baseline(app, campaign_id: int, version_id: int, size: int) -> float:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        db.session.execute(text("TRUNCATE invitation_baseline"))
        db.session.commit()
        started = time.perf_counter()
        db.session.execute(text(BASELINE), {
            "campaign": campaign_id, "version": version_id, "size": size,
            "served_from": SERVED_FROM, "served_until": SERVED_UNTIL})
        db.session.commit()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--per-unit", type=int, default=4000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--database", default="campaign")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from app.distribution.campaigns import preview, start_campaign
    from app.extensions import db
    from app.models import Campaign, Invitation, Questionnaire, QuestionnaireVersion

    url = fresh_database(args.database)
    app = app_for(url)
    started = time.perf_counter()
    _seed(app, args.units, args.per_unit)
    print(f"seeded {args.units * args.per_unit} people in {time.perf_counter() - started:.1f} s")
    size = args.sample // args.units
    margin = _margin_for(args.per_unit, size, args.rate)
    with app.app_context():
        questionnaire = db.session.scalar(select(Questionnaire))
        campaign = Campaign(key="bench", name="Bench", questionnaire=questionnaire,
                            served_from=SERVED_FROM, served_until=SERVED_UNTIL,
                            margin_of_error=margin, expected_response_rate=args.rate,
                            closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
        db.session.add(campaign)
        db.session.commit()
        campaign_id = campaign.id
        version_id = db.session.scalar(select(QuestionnaireVersion.id))
        planned_sizes = [u.sample for u in preview(campaign).units]
    unit_size = max(planned_sizes)
    first = _baseline(app, campaign_id, version_id, unit_size)
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        started = time.perf_counter()
        planned = start_campaign(campaign, "bench")
        elapsed = time.perf_counter() - started
        stored = db.session.scalar(select(func.count(Invitation.id)))
        people = db.session.scalar(
            select(func.count(func.distinct(Invitation.service_event_id))))
    second = _baseline(app, campaign_id, version_id, unit_size)
    baseline = (first + second) / 2
    load = os.getloadavg()
    print(f"margin {margin:.4f}, response rate {args.rate}: {sum(planned_sizes)} planned by the "
          f"preview over {len(planned_sizes)} units ({min(planned_sizes)}-{unit_size} a unit)")
    print(f"campaign start: {planned} invitations in {elapsed:.2f} s "
          f"({planned / elapsed:,.0f} a second); {stored} stored, {people} distinct events")
    print(f"baseline INSERT ... SELECT: {first:.2f} s and {second:.2f} s; "
          f"ratio campaign / baseline {elapsed / baseline:.2f}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ok = elapsed < LIMIT_SECONDS and planned == sum(planned_sizes) == stored == people
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
