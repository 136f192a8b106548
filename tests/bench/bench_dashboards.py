"""Benchmark: the overview dashboard on 1,000,000 complaints and 1,000,000 responses (5 answers
each) in PostgreSQL, against the plain SQL aggregates it needs, and the process's peak memory.

Run it by hand (pytest does not collect it: its name does not start with ``test_``)::

    .venv/bin/python tests/bench/bench_dashboards.py [--scale 1.0] [--repeat 5] [--reuse]

It creates (and drops first) a dedicated database, ``memnun_bench_dashboards``, on the server of
``MEMNUN_BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432``), builds the
schema from the models, and loads it with ``COPY`` (psycopg) in a child process, so that the
loader's memory does not count as the web process's. ``--scale 0.01`` loads 10,000 of each for
a quick run; ``--reuse`` keeps a database already loaded at the same scale.

Then, in this process (as a web worker would), it times:

- the overview: the analytics functions the overview callback calls (``overview_and_trend`` for
  the last 12 full months with the 12 before them for the changes, the complaint rate, the
  targets), and the whole callback (figures and cards built as well);
- the plain SQL aggregates that the same figures need, written by hand (the floor);

each the median of ``--repeat`` runs after one warm-up run, and prints the ratio and the peak
resident memory of this process (``ru_maxrss``).

Then each single-filter view (one category of 20, one channel of 8, the questionnaire, one
language of 2): the overview's analytics (``overview_and_trend``, which reads
``hourly_dimension_figures``) against the same figures by hand from the same rollup rows, and
from the rows for reference. Before measuring, ``hourly_dimension_figures`` is rewritten in
the rebuild's order (by dimension, value and hour: a filtered view reads one range), or with
``--time-ordered`` in the order the triggers write it (hour by hour), to see what a table grown
by writes costs a filtered view.

Then what the triggers of the filter rollup cost the writers: the same writes (a multi-row
INSERT of complaints, of responses and of their answers, and single-row resolutions) timed
with the triggers of both rollups and with those of ``hourly_figures`` alone, each rolled back.

Targets (issue 7): overview under 1 s, within 2x of the plain SQL, peak memory under 500 MB;
(issue 14) every single-filter view under 1 s and within 2x of the hand-written SQL over the
same rollup rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DATABASE = "memnun_bench_dashboards"
SECRET = "bench-secret-key-not-for-production"
TZ = "Europe/Istanbul"
# The data cover 24 months before this moment: the overview's 12 months and the 12 before.
NOW = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
MONTHS = 24
CHANNELS = ["web", "phone", "email", "walk_in", "social", "mobile_app", "letter", "other"]
CHUNK = 100_000


def server_url() -> str:
    return os.environ.get("MEMNUN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432")


def database_url() -> str:
    return f"{server_url().rstrip('/')}/{DATABASE}"


def make_app() -> Any:
    from app import create_app

    return create_app({
        "SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url(),
        "MEMNUN_TIMEZONE": TZ, "MEMNUN_MAIL_BACKEND": "file", "RATELIMIT_ENABLED": False,
        "MEMNUN_OUTBOX_DIR": "/tmp/memnun-bench-outbox",  # noqa: S108 - never written to
    })


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


# --- loading (child process) ---------------------------------------------------------------------


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{server_url().rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def _iso(seconds: Any) -> Any:
    import numpy as np

    return np.char.add(np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s"), "Z")


def _copy(conn: Any, table: str, columns: list[str], rows: Callable[[int, int], Iterator[str]],
          count: int) -> float:
    """COPY ``count`` rows made by ``rows(start, stop)`` (tab-separated lines), in chunks."""
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        for start in range(0, count, CHUNK):
            stop = min(count, start + CHUNK)
            copy.write("".join(rows(start, stop)).encode())
    conn.commit()
    return time.perf_counter() - started


def load(scale: float) -> None:
    """Build the schema and COPY the data in (runs in a child process)."""
    import numpy as np
    import psycopg

    recreate_database()
    app = make_app()
    from app.extensions import db

    with app.app_context():
        db.create_all()
    rng = np.random.default_rng(10004)
    n_complaints = n_responses = max(1000, int(1_000_000 * scale))
    n_invitations = n_responses * 13 // 10
    started = time.perf_counter()
    with psycopg.connect(database_url()) as conn:
        # The rows are made consistent here; checking every foreign key row by row would
        # double the load time (a superuser setting, for this connection only).
        conn.execute("SET session_replication_role = replica")
        units, leaves = _reference_data(conn)
        span = MONTHS * 30.4 * 86400
        first = int(NOW.timestamp() - span)
        received = first + (rng.random(n_complaints) * (span - 20 * 86400)).astype(np.int64)
        resolved = received + (rng.exponential(5, n_complaints) * 86400).astype(np.int64)
        due = received + 10 * 86400
        unit = rng.choice(leaves, n_complaints)
        category = rng.integers(1, 21, n_complaints)
        channel = rng.integers(0, len(CHANNELS), n_complaints)
        late = resolved > due

        def complaints(a: int, b: int) -> Iterator[str]:
            # Times are formatted per chunk: the whole column as text would take gigabytes.
            rec, res, du = _iso(received[a:b]), _iso(resolved[a:b]), _iso(due[a:b])
            for k, i in enumerate(range(a, b)):
                yield (f"{i + 1}\tdefault\tB-{i + 1}\t{rec[k]}\t{CHANNELS[channel[i]]}\t"
                       f"{category[i]}\t{unit[i]}\tresolved\t{du[k]}\t{res[k]}\t0\t{rec[k]}\t"
                       f"{res[k]}\n")

        timings = {"complaint": _copy(conn, "complaint", [
            "id", "source", "external_id", "received_at", "channel", "category_id", "unit_id",
            "status", "due_at", "resolved_at", "reopen_count", "created_at", "updated_at"],
            complaints, n_complaints)}
        # Invitations: one per complaint, more for some; 10 of every 13 answered.
        owner = np.arange(n_invitations) % n_complaints
        sent = resolved[owner] + 86400
        answered = (np.arange(n_invitations) % 13) >= 3
        language = np.where(rng.random(n_invitations) < 0.85, "tr", "en")
        responded = np.flatnonzero(answered)[:n_responses]
        submitted = sent[responded] + (rng.exponential(20, len(responded)) * 3600).astype(
            np.int64)
        answered_at = np.zeros(n_invitations, dtype=np.int64)
        answered_at[responded] = submitted

        def invitations(a: int, b: int) -> Iterator[str]:
            snt, ans = _iso(sent[a:b]), _iso(answered_at[a:b])
            for k, i in enumerate(range(a, b)):
                state, at = ("responded", ans[k]) if answered[i] else ("expired", "\\N")
                yield (f"{i + 1}\t{owner[i] + 1}\t1\t{state}\t{language[i]}\t{snt[k]}\t"
                       f"{snt[k]}\t{at}\t0\t{snt[k]}\n")

        timings["invitation"] = _copy(conn, "invitation", [
            "id", "complaint_id", "version_id", "state", "language", "due_at", "sent_at",
            "responded_at", "attempts", "created_at"], invitations, n_invitations)
        def responses(a: int, b: int) -> Iterator[str]:
            sub = _iso(submitted[a:b])
            for k, j in enumerate(range(a, b)):
                i = responded[j]
                c = owner[i]
                yield (f"{j + 1}\t{i + 1}\t1\t1\t{c + 1}\t{unit[c]}\t{category[c]}\t"
                       f"{CHANNELS[channel[c]]}\t{language[i]}\t{sub[k]}\n")

        timings["response"] = _copy(conn, "response", [
            "id", "invitation_id", "version_id", "questionnaire_id", "complaint_id", "unit_id",
            "category_id", "channel", "language", "submitted_at"], responses, len(responded))
        timings["answer"] = _copy_answers(conn, rng, late[owner[responded]], len(responded))
        _finish(conn, units)
    build_rollup()
    total = time.perf_counter() - started
    rows = n_complaints + n_invitations + len(responded) * 6
    print(f"loaded {n_complaints:,} complaints, {n_invitations:,} invitations, "
          f"{len(responded):,} responses, {len(responded) * 5:,} answers in {total:.1f} s "
          f"({rows / total:,.0f} rows/s; " + ", ".join(
              f"{name} {seconds:.1f} s" for name, seconds in timings.items()) + ")")
    print(f"loader peak memory: {peak_mb():.0f} MB")


def _reference_data(conn: Any) -> tuple[int, list[int]]:
    """An organisation of 21 units (4 groups of 4 leaves), 20 categories, a questionnaire,
    targets and 24 months of service volumes."""
    with conn.cursor() as cursor:
        cursor.execute("INSERT INTO unit (id, code, name, parent_id) VALUES "
                       "(1, 'org', 'Organisation', NULL)")
        leaves = []
        for group in range(4):
            group_id = 2 + group * 5
            cursor.execute("INSERT INTO unit (id, code, name, parent_id) VALUES (%s, %s, %s, 1)",
                           (group_id, f"g{group}", f"Group {group}"))
            for leaf in range(4):
                leaves.append(group_id + 1 + leaf)
                cursor.execute("INSERT INTO unit (id, code, name, parent_id) "
                               "VALUES (%s, %s, %s, %s)", (group_id + 1 + leaf,
                                                           f"u{group}{leaf}",
                                                           f"Unit {group}.{leaf}", group_id))
        for category in range(1, 21):
            cursor.execute("INSERT INTO category (id, code, name, committed_response_days) "
                           "VALUES (%s, %s, %s, 10)", (category, f"c{category}",
                                                       f"Category {category}"))
        cursor.execute("INSERT INTO questionnaire (id, key, title, created_at) "
                       "VALUES (1, 'post-resolution', 'After resolution', now())")
        cursor.execute("INSERT INTO questionnaire_version (id, questionnaire_id, number, status, "
                       "definition, created_at) VALUES (1, 1, 1, 'published', %s, now())",
                       ('{"key": "post-resolution", "questions": []}',))
        for metric, value in (("csat", 0.75), ("nps", 0.1), ("response_rate", 0.35),
                              ("on_time_resolution", 0.85), ("resolution_confirmed", 0.8)):
            cursor.execute("INSERT INTO target (unit_id, metric, value) VALUES (NULL, %s, %s)",
                           (metric, value))
        month = (NOW - dt.timedelta(days=MONTHS * 31)).date().replace(day=1)
        while month < NOW.date():
            for leaf in leaves:
                cursor.execute("INSERT INTO service_volume (unit_id, period_start, transactions) "
                               "VALUES (%s, %s, %s)", (leaf, month, 20_000 + 1000 * leaf))
            month = (month + dt.timedelta(days=32)).replace(day=1)
    conn.commit()
    return 21, leaves


def _copy_answers(conn: Any, rng: Any, late: Any, n: int) -> float:
    """Five answers per response (overall, resolved, timeliness, courtesy, recommend), driven by
    one mood per respondent so that they correlate as real answers do."""
    import numpy as np

    mood = rng.normal(0.3, 1.0, n) - 1.0 * late
    overall = np.clip(np.rint(3.6 + mood), 1, 5).astype(int)
    timeliness = np.clip(np.rint(3.4 + mood + rng.normal(0, 0.6, n)), 1, 5).astype(int)
    courtesy = np.clip(np.rint(3.9 + 0.6 * mood + rng.normal(0, 0.7, n)), 1, 5).astype(int)
    recommend = np.clip(np.rint(7 + 2 * mood + rng.normal(0, 1, n)), 0, 10).astype(int)
    resolved = rng.random(n) < 0.7 + 0.1 * np.tanh(mood)

    def answers(a: int, b: int) -> Iterator[str]:
        for j in range(a, b):
            base = 5 * j
            response = j + 1
            yes = resolved[j]
            yield (f"{base + 1}\t{response}\toverall\trating\toverall\t{overall[j]}\t\\N\n"
                   f"{base + 2}\t{response}\tresolved\tyes_no\tresolution\t{int(yes)}\t"
                   f"{'yes' if yes else 'no'}\n"
                   f"{base + 3}\t{response}\ttimeliness\trating\ttimeliness\t{timeliness[j]}\t"
                   f"\\N\n"
                   f"{base + 4}\t{response}\tcourtesy\trating\tcourtesy\t{courtesy[j]}\t\\N\n"
                   f"{base + 5}\t{response}\trecommend\tnps\tloyalty\t{recommend[j]}\t\\N\n")

    return _copy(conn, "answer", ["id", "response_id", "question_key", "question_type",
                                  "attribute", "value_number", "value_choice"],
                 lambda a, b: answers(a, b), n)


def _finish(conn: Any, units: int) -> None:
    """Move the id sequences past the copied ids, then VACUUM ANALYZE (statistics for the
    planner, and the visibility map for index-only scans)."""
    with conn.cursor() as cursor:
        for table in ("complaint", "invitation", "response", "answer", "unit", "category",
                      "questionnaire", "questionnaire_version"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 1) FROM {table}))")
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")


def build_rollup() -> None:
    """COPY ran with triggers off (replica role): build the rollups from the rows, as the
    migrations do for an existing database (the tables and their triggers made afresh, so
    that a database loaded by an older version of this benchmark gets the current ones)."""
    import psycopg

    app = make_app()
    from app.analytics.rollup import ROLLUPS, install_triggers, rebuild
    from app.extensions import db

    with app.app_context():
        for rollup in ROLLUPS:
            started = time.perf_counter()
            with db.engine.begin() as connection:
                rollup.table.drop(connection, checkfirst=True)
                rollup.table.create(connection)
                install_triggers(connection)
                connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
                rebuild(connection, rollups=(rollup,))
            built = time.perf_counter() - started
            name = rollup.table.name
            with psycopg.connect(database_url(), autocommit=True) as conn:
                conn.execute(f"VACUUM ANALYZE {name}")
                rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                size = conn.execute(f"SELECT pg_total_relation_size('{name}')").fetchone()[0]
            print(f"rollup {name} rebuilt from the rows in {built:.1f} s: {rows:,} rows, "
                  f"{size / 2**20:.0f} MB with its indexes")


def lay_out(time_ordered: bool) -> None:
    """Rewrite ``hourly_dimension_figures`` in the order a filtered view reads it (its key:
    dimension, value, hour, as the rebuild writes it) or in the order the triggers write it
    (hour by hour, every dimension and value of an hour together), as a table grown by writes
    is laid out."""
    import psycopg

    order = "hour, unit_id, dimension, value" if time_ordered else "dimension, value, hour"
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute("CREATE TEMPORARY TABLE laid_out AS SELECT * FROM hourly_dimension_figures")
        conn.execute("TRUNCATE hourly_dimension_figures")
        conn.execute("INSERT INTO hourly_dimension_figures "  # noqa: S608 - our constants
                     f"SELECT * FROM laid_out ORDER BY {order}")
        conn.execute("VACUUM ANALYZE hourly_dimension_figures")
    print(f"hourly_dimension_figures laid out by {order}"
          + (" (as the triggers lay it out)" if time_ordered else " (as the rebuild does)"))


def loaded_scale() -> float | None:
    """The scale of the data already in the benchmark database, if any."""
    import psycopg

    try:
        with psycopg.connect(database_url()) as conn:
            count = conn.execute("SELECT count(*) FROM complaint").fetchone()[0]
    except psycopg.Error:
        return None
    return count / 1_000_000


def rollup_built() -> bool:
    import psycopg

    with psycopg.connect(database_url()) as conn:  # the current table: figures in its key
        return conn.execute(
            "SELECT count(*) > 0 FROM pg_indexes WHERE indexname = 'pk_hourly_dimension_figures' "
            "AND indexdef LIKE '%INCLUDE%'").fetchone()[0]


# --- measuring (this process) --------------------------------------------------------------------


PLAIN_SQL = {
    "answers": """
        SELECT (r.submitted_at < :start)::int AS phase,
               date_trunc('month', timezone(:tz, r.submitted_at)) AS month,
               count(*) FILTER (WHERE a.question_type = 'rating' AND a.attribute = 'overall') AS n,
               count(*) FILTER (WHERE a.question_type = 'rating' AND a.attribute = 'overall'
                                AND a.value_number >= 4) AS satisfied,
               sum(a.value_number) FILTER (WHERE a.question_type = 'rating'
                                           AND a.attribute = 'overall') AS total,
               sum(a.value_number * a.value_number) FILTER (
                   WHERE a.question_type = 'rating' AND a.attribute = 'overall') AS total_sq,
               count(*) FILTER (WHERE a.question_type = 'nps') AS nps_n,
               count(*) FILTER (WHERE a.question_type = 'nps' AND a.value_number >= 9) AS p,
               count(*) FILTER (WHERE a.question_type = 'nps' AND a.value_number <= 6) AS d,
               count(*) FILTER (WHERE a.question_type = 'effort') AS ces_n,
               count(*) FILTER (WHERE a.question_type = 'yes_no'
                                AND a.attribute = 'resolution') AS resolution_n,
               count(*) FILTER (WHERE a.question_type = 'yes_no' AND a.attribute = 'resolution'
                                AND a.value_number = 1) AS resolution_yes
        FROM answer a JOIN response r ON r.id = a.response_id
        WHERE r.submitted_at >= :previous AND r.submitted_at < :end
          AND a.value_number IS NOT NULL
          AND (a.question_type IN ('nps', 'effort')
               OR (a.question_type = 'rating' AND a.attribute = 'overall')
               OR (a.question_type = 'yes_no' AND a.attribute = 'resolution'))
        GROUP BY 1, 2""",
    "responses": """
        SELECT date_trunc('month', timezone(:tz, submitted_at)), count(*) FROM response
        WHERE submitted_at >= :start AND submitted_at < :end GROUP BY 1""",
    "received": """
        SELECT (received_at < :start)::int, date_trunc('month', timezone(:tz, received_at)),
               count(*) FROM complaint
        WHERE received_at >= :previous AND received_at < :end GROUP BY 1, 2""",
    "resolved": """
        SELECT (resolved_at < :start)::int, date_trunc('month', timezone(:tz, resolved_at)),
               count(*), count(*) FILTER (WHERE resolved_at <= due_at) FROM complaint
        WHERE resolved_at >= :previous AND resolved_at < :end AND due_at IS NOT NULL
        GROUP BY 1, 2""",
    "invitations": """
        SELECT (i.sent_at < :start)::int, date_trunc('month', timezone(:tz, i.sent_at)),
               count(*), count(r.id) FROM invitation i
        LEFT JOIN response r ON r.invitation_id = i.id
        WHERE i.sent_at >= :previous AND i.sent_at < :end GROUP BY 1, 2""",
    "volumes": """
        SELECT unit_id, period_start, sum(transactions) FROM service_volume
        WHERE period_start >= :first_day AND period_start < :last_day GROUP BY 1, 2""",
    "complaints_by_unit": """
        SELECT unit_id, count(*) FROM complaint
        WHERE received_at >= :start AND received_at < :end GROUP BY 1""",
}

#: The same figures by hand from the rollup the overview reads (its own floor): every figure of
#: both periods per month in one pass, the volumes, and complaints per unit. The month is found
#: with Istanbul's fixed offset (UTC+3 all year since 2016), faster than a time zone lookup per
#: row: a floor as low as a person who knows the data would write it.
BY_MONTH = """
        SELECT (hour < :start)::int, date_trunc('month', hour + interval '3 hours'), {sums}
        FROM {table} WHERE {where} hour >= :previous AND hour < :end GROUP BY 1, 2"""
FIGURES = ("responses", "csat_n", "csat_satisfied", "csat_sum", "csat_sum_sq", "nps_n",
           "nps_promoters", "nps_detractors", "ces_n", "ces_sum", "ces_sum_sq", "resolution_n",
           "resolution_yes", "received", "resolved_with_due", "resolved_on_time", "sent",
           "responded")
COMPLAINT_FIGURES = ("received", "resolved_with_due", "resolved_on_time")


def by_month(table: str, figures: tuple[str, ...], where: str = "") -> str:
    return BY_MONTH.format(sums=", ".join(f"sum({f})" for f in figures), table=table,
                           where=where)


ROLLUP_SQL = {
    "figures": by_month("hourly_figures", FIGURES),
    "volumes": PLAIN_SQL["volumes"],
    "complaints_by_unit": """
        SELECT unit_id, sum(received) FROM hourly_figures
        WHERE hour >= :start AND hour < :end GROUP BY 1""",
}


#: One filter of each kind: the Filters field it sets, and its dimension and value in
#: ``hourly_dimension_figures``. The benchmark has one questionnaire, so its filter keeps every
#: response: the largest of the four.
SINGLE_FILTERS: dict[str, tuple[dict[str, Any], str]] = {
    "one category of 20": ({"category_ids": frozenset({7})}, "7"),
    "one channel of 8": ({"channel": "phone"}, "phone"),
    "the questionnaire": ({"questionnaire_id": 1}, "1"),
    "one language of 2 (15 %)": ({"language": "en"}, "en"),
}
#: The figures of the filtered rows, by hand from the same rollup rows; a questionnaire or
#: language filter does not apply to complaints, whose figures come from ``hourly_figures``.
FILTERED_SQL = by_month("hourly_dimension_figures", FIGURES,
                        "dimension = :dimension AND value = :value AND")
FILTERED_SURVEY_SQL = by_month("hourly_dimension_figures",
                               tuple(f for f in FIGURES if f not in COMPLAINT_FIGURES),
                               "dimension = :dimension AND value = :value AND")
UNFILTERED_COMPLAINTS_SQL = by_month("hourly_figures", COMPLAINT_FIGURES)


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(median, best) seconds over ``repeat`` runs, after a warm-up run."""
    function()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), min(runs)


def measure(repeat: int) -> None:
    from flask_login import login_user
    from sqlalchemy import select, text

    from app.analytics.filters import Filters
    from app.analytics.hourly import without_rollup
    from app.analytics.linkage import complaint_rates
    from app.analytics.overview import overview_and_trend
    from app.analytics.periods import to_instant
    from app.analytics.splits import tune_for_aggregates
    from app.analytics.targets import targets_for
    from app.analytics.tree import unit_tree
    from app.extensions import db
    from app.models import Role, User
    from dashboards.common import default_period
    from dashboards.overview import update_alerts, update_overview

    app = make_app()
    today = NOW.astimezone(dt.timezone(dt.timedelta(hours=3))).date()
    first_day, last_day = default_period(today)
    start, end = to_instant(first_day, TZ), to_instant(last_day + dt.timedelta(days=1), TZ)
    previous = start - (end - start)
    filters = Filters(start, end)

    def analytics() -> Any:
        figures = overview_and_trend(filters, "month", 5, TZ)
        complaint_rates(filters, None, TZ)
        targets_for(None, unit_tree())
        return figures

    values = {"start": start, "end": end, "previous": previous, "tz": TZ,
              "first_day": first_day, "last_day": last_day}
    parts: dict[str, list[float]] = {name: [] for name in PLAIN_SQL}

    def plain(queries: dict[str, str] = PLAIN_SQL, into: dict[str, list[float]] = parts) -> None:
        tune_for_aggregates()  # the same session settings as the analytics use
        for name, sql in queries.items():
            started = time.perf_counter()
            db.session.execute(text(sql), values).all()
            into[name].append(time.perf_counter() - started)
        db.session.commit()  # a new transaction for each run, as each request has

    rollup_parts: dict[str, list[float]] = {name: [] for name in ROLLUP_SQL}

    def plain_rollup() -> None:
        plain(ROLLUP_SQL, rollup_parts)

    def analytics_without_rollup() -> Any:
        with without_rollup():
            return analytics()

    print(f"load average before measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores (other work on the machine slows every figure)")
    with app.app_context():
        with db.engine.connect() as connection:
            counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                      for table in ("complaint", "invitation", "response", "answer")}
        print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
        figures, _trend = analytics()
        print(f"overview of {first_day} to {last_day}: {figures.responses:,} responses, "
              f"CSAT {figures.csat.value:.3f}, NPS {figures.nps.value:+.3f}, "
              f"{figures.complaints:,} complaints, on time {figures.on_time.value:.3f}")
        with without_rollup():
            raw_figures, _trend = analytics()
        same = raw_figures == figures
        print(f"figures from the rollup equal those from the rows: {same}")
        overview_time, overview_best = timed(analytics, repeat)
        rollup_time, rollup_best = timed(plain_rollup, repeat)
        plain_time, plain_best = timed(plain, repeat)
        raw_time, _best = timed(analytics_without_rollup, max(1, repeat // 2))
        unit = filters.but(unit_ids=frozenset({3, 4, 5, 6}))
        unit_time, _best = timed(lambda: overview_and_trend(unit, "month", 5, TZ), repeat)
        admin = db.session.scalar(select(User).where(User.email == "bench@example.org"))
        if admin is None:
            from app.auth.services import create_user

            admin = create_user("bench@example.org", "bench password 12", Role.ADMIN, [])
        with app.test_request_context("/dashboards/", headers={"Accept-Language": "en"}):
            login_user(admin)
            callback_time, _best = timed(lambda: update_overview(
                first_day.isoformat(), last_day.isoformat()), repeat)
            alerts_time, _best = timed(lambda: update_alerts(
                first_day.isoformat(), last_day.isoformat()), max(1, repeat // 2))
    print(f"overview analytics: {overview_time:.3f} s median, {overview_best:.3f} s best "
          f"(target < 1 s)")
    print(f"plain SQL aggregates over the rows: {plain_time:.3f} s median, {plain_best:.3f} s "
          "best (" + ", ".join(f"{name} {statistics.median(runs):.3f}"
                               for name, runs in parts.items()) + ")")
    print(f"plain SQL over the rollup: {rollup_time:.3f} s median, {rollup_best:.3f} s best ("
          + ", ".join(f"{name} {statistics.median(runs):.3f}"
                      for name, runs in rollup_parts.items()) + ")")
    print(f"ratio overview / plain SQL over the rows: {overview_time / plain_time:.2f} "
          "(target <= 2)")
    print(f"ratio overview / plain SQL over the rollup: {overview_time / rollup_time:.2f} "
          "(the overhead of the analytics on top of their own queries)")
    print(f"overview analytics without the rollup (from the rows): {raw_time:.3f} s median, "
          f"ratio to plain SQL over the rows {raw_time / plain_time:.2f}")
    print(f"overview of one group of units (from the rollup): {unit_time:.3f} s median")
    print(f"whole overview callback (cards and figures too): {callback_time:.3f} s median")
    print(f"alerts area (app.reports.alerts, its own callback): {alerts_time:.3f} s median")
    print(f"peak memory of this process: {peak_mb():.0f} MB (target < 500 MB)")
    with app.app_context():
        measure_filters(filters, values, repeat)
        measure_writes(max(3, repeat))


def measure_filters(filters: Any, values: dict[str, Any], repeat: int) -> None:
    """Each single-filter overview from the rollups, against the same figures by hand from the
    same rollup rows (the ratio) and from the source rows."""
    from sqlalchemy import text

    from app.analytics.hourly import without_rollup
    from app.analytics.overview import overview_and_trend
    from app.analytics.splits import tune_for_aggregates
    from app.extensions import db

    print("single-filter overviews (twelve months by month with the twelve before; "
          "target < 1 s and <= 2x the hand-written SQL over the same rollup rows):")
    for name, (changes, value) in SINGLE_FILTERS.items():
        field = next(iter(changes))
        dimension = "category" if field == "category_ids" else field.removesuffix("_id")
        chosen = filters.but(**changes)
        if dimension in ("category", "channel"):
            queries = [FILTERED_SQL]
        else:
            queries = [FILTERED_SURVEY_SQL, UNFILTERED_COMPLAINTS_SQL]

        def by_hand(queries: list[str] = queries, dimension: str = dimension,
                    value: str = value) -> None:
            tune_for_aggregates()
            for sql in queries:
                db.session.execute(text(sql), {**values, "dimension": dimension,
                                               "value": value}).all()
            db.session.commit()

        def analytics(chosen: Any = chosen) -> Any:
            figures = overview_and_trend(chosen, "month", 5, TZ)
            db.session.commit()
            return figures

        def from_rows(chosen: Any = chosen) -> Any:
            with without_rollup():
                return analytics(chosen)

        same = analytics() == from_rows()
        analytics_time, _best = timed(analytics, repeat)
        hand_time, _best = timed(by_hand, repeat)
        rows_time, _best = timed(from_rows, max(1, repeat // 2))
        print(f"  {name}: {analytics_time:.3f} s median; by hand over the rollup "
              f"{hand_time:.3f} s, ratio {analytics_time / hand_time:.2f}; from the rows "
              f"{rows_time:.3f} s; figures equal to the rows': {same}")


#: Writes of the kinds intake and surveys make, each one statement: a batch of 500 complaints,
#: 500 resolutions (row-level triggers, one each), 200 responses and their 1,000 answers.
WRITES = {
    "INSERT 500 complaints": """
        INSERT INTO complaint (source, external_id, received_at, channel, category_id, unit_id,
                               status, due_at, resolved_at, reopen_count, created_at,
                               updated_at)
        SELECT 'bench', 'W-' || n, t, (ARRAY['web', 'phone'])[1 + mod(n, 2)], 1 + mod(n, 20),
               3 + mod(n, 4), 'resolved', t + interval '10 days', t + interval '2 days', 0, t, t
        FROM generate_series(1, 500) AS n,
             LATERAL (SELECT timestamptz '2025-06-01 00:00+00' + n * interval '7 minutes') AS x(t)
        """,
    "UPDATE 500 resolutions": """
        UPDATE complaint SET resolved_at = resolved_at + interval '1 hour'
        WHERE id BETWEEN 1 AND 500""",
    "INSERT 200 responses": """
        INSERT INTO response (invitation_id, version_id, questionnaire_id, complaint_id,
                              unit_id, category_id, channel, language, submitted_at)
        SELECT i.id, 1, 1, c.id, c.unit_id, c.category_id, c.channel, i.language,
               i.sent_at + interval '1 hour'
        FROM invitation i JOIN complaint c ON c.id = i.complaint_id
        WHERE i.id IN (SELECT id FROM invitation WHERE state = 'expired' ORDER BY id LIMIT 200)
        """,
    "INSERT 1,000 answers": """
        INSERT INTO answer (response_id, question_key, question_type, attribute, value_number)
        SELECT r.id, q.key, q.type, q.attribute, 4
        FROM response r CROSS JOIN (VALUES ('overall', 'rating', 'overall'),
            ('resolved', 'yes_no', 'resolution'), ('timeliness', 'rating', 'timeliness'),
            ('courtesy', 'rating', 'courtesy'), ('recommend', 'nps', 'loyalty'))
            AS q(key, type, attribute)
        WHERE r.submitted_at IS NOT NULL
          AND r.id > (SELECT max(id) FROM response) - 200""",
}


#: One at a time, as the single-complaint endpoint and the survey POST write: one complaint;
#: one response, then its five answers (each a statement of its own).
ONE_COMPLAINT = WRITES["INSERT 500 complaints"].replace(
    "generate_series(1, 500)", "generate_series(CAST(:n AS integer), CAST(:n AS integer))")
ONE_RESPONSE = """
        INSERT INTO response (invitation_id, version_id, questionnaire_id, complaint_id,
                              unit_id, category_id, channel, language, submitted_at)
        SELECT i.id, 1, 1, c.id, c.unit_id, c.category_id, c.channel, i.language,
               i.sent_at + interval '1 hour'
        FROM invitation i JOIN complaint c ON c.id = i.complaint_id WHERE i.id = :invitation
        RETURNING id"""
ITS_ANSWERS = """
        INSERT INTO answer (response_id, question_key, question_type, attribute, value_number)
        SELECT CAST(:response AS integer), q.key, q.type, q.attribute, 4
        FROM (VALUES ('overall', 'rating', 'overall'), ('resolved', 'yes_no', 'resolution'),
                     ('timeliness', 'rating', 'timeliness'), ('courtesy', 'rating', 'courtesy'),
                     ('recommend', 'nps', 'loyalty')) AS q(key, type, attribute)"""
SINGLES = 20


def measure_writes(rounds: int) -> None:
    """Each write of ``WRITES``, and ``SINGLES`` single complaints and survey submissions (the
    median of each), with the triggers of both rollups and of ``hourly_figures`` alone,
    alternating, each round in a transaction that is rolled back."""
    from sqlalchemy import text

    from app.analytics.rollup import HOURLY, ROLLUPS, install_triggers
    from app.extensions import db

    with db.engine.connect() as connection:  # unanswered, and not among the batch's 200
        spare = connection.execute(text(
            "SELECT id FROM invitation WHERE state = 'expired' ORDER BY id DESC LIMIT :n"),
            {"n": SINGLES}).scalars().all()
    runs: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for label, rollups in (("both rollups", ROLLUPS), ("hourly_figures only", (HOURLY,))):
            with db.engine.connect() as connection:
                transaction = connection.begin()
                install_triggers(connection, rollups)
                for name, sql in WRITES.items():
                    started = time.perf_counter()
                    connection.exec_driver_sql(sql)
                    runs.setdefault((name, label), []).append(time.perf_counter() - started)
                singles: dict[str, list[float]] = {"one complaint": [],
                                                   "one survey submission": []}
                for n, invitation in enumerate(spare):
                    started = time.perf_counter()
                    connection.execute(text(ONE_COMPLAINT), {"n": 1000 + n})
                    singles["one complaint"].append(time.perf_counter() - started)
                    started = time.perf_counter()
                    response = connection.execute(text(ONE_RESPONSE),
                                                  {"invitation": invitation}).scalar_one()
                    connection.execute(text(ITS_ANSWERS), {"response": response})
                    singles["one survey submission"].append(time.perf_counter() - started)
                for name, times in singles.items():
                    runs.setdefault((name, label), []).append(statistics.median(times))
                transaction.rollback()
    print(f"what the triggers cost the writers (median of {rounds} rounds, rolled back):")
    for name in [*WRITES, "one complaint", "one survey submission"]:
        both = statistics.median(runs[(name, "both rollups")])
        hourly = statistics.median(runs[(name, "hourly_figures only")])
        print(f"  {name}: {both * 1000:.1f} ms with both rollups, {hourly * 1000:.1f} ms with "
              f"hourly_figures only ({both / hourly:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of 1,000,000 complaints and responses (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a database already loaded at this scale")
    parser.add_argument("--time-ordered", action="store_true",
                        help="lay hourly_dimension_figures out by hour first, as the triggers "
                             "do (a rebuild lays it out by dimension and value)")
    parser.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rollup-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only:
        load(args.scale)
        return
    if args.rollup_only:
        build_rollup()
        return
    existing = loaded_scale() if args.reuse else None
    wanted = max(1000, int(1_000_000 * args.scale)) / 1_000_000
    if existing is None or abs(existing - wanted) > 1e-9:
        subprocess.run([sys.executable, __file__, "--load-only", "--scale", str(args.scale)],
                       check=True)
    elif not rollup_built():
        subprocess.run([sys.executable, __file__, "--rollup-only"], check=True)
    lay_out(args.time_ordered)
    measure(args.repeat)


if __name__ == "__main__":
    main()
