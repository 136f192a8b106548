"""Benchmark: the comments explorer's first page over 200,000 comments in PostgreSQL, against the
hand-written SQL that the same page needs.

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_comments.py [--comments 200000] [--repeat 5] [--reuse]

It creates (dropping it first) ``memnun_bench_comments`` on the server of
``MEMNUN_BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432``) with the schema
of the models (the GIN index of ``answer.search_terms`` included), and loads it in SQL
(``generate_series``): 21 units, 10 categories, and for each comment a complaint, an invitation
and a response with an overall rating, an NPS answer and the comment, spread over 24 months;
the comments are drawn from a few hundred Turkish and English texts, stemmed as the application
stems them.

Then it times, each the median of ``--repeat`` runs after a warm-up:

- ``comment_page`` (the analytics of the explorer's first page: the page, the counts and the
  small units) for the last 12 months of the whole organisation: unfiltered, searched
  ("çöpler"), and by band (detractors);
- the same rows and counts by hand-written SQL (the floor), and prints the ratio;
- the whole page over HTTP (Flask's test client, signed in as an admin): the target is
  under 1 s (issue 18).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.bench import app_for, fresh_database, server_url  # noqa: E402

NAME = "comments"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
TR_SUBJECTS = ["Çöpler", "Çöp kutusu", "Sokak lambası", "Yoldaki çukur", "Parktaki bank",
               "Kaldırım", "Su borusu", "Otobüs durağı", "Zabıta ekibi", "Çağrı merkezi"]
TR_PROBLEMS = ["günlerdir alınmadı", "hala tamir edilmedi", "çok geç geldi", "kırık duruyor",
               "taşıyor ve koku yapıyor", "kimse ilgilenmedi", "iki haftadır bekliyor",
               "hiç cevap vermedi", "düzeltildi teşekkürler", "çok ilgiliydi"]
EN_SUBJECTS = ["The bins", "The street light", "The pothole", "The park bench", "The pavement",
               "The water pipe", "The bus stop", "The call centre"]
EN_PROBLEMS = ["were not collected for days", "is still not repaired", "came far too late",
               "is broken", "nobody cared", "was fixed, thank you", "never answered"]


def texts() -> list[tuple[str, str]]:
    rng = random.Random(18)
    out = set()
    for s in TR_SUBJECTS:
        for p in TR_PROBLEMS:
            out.add((f"{s} {p}.", "tr"))
            out.add((f"{s} {p}, {rng.choice(TR_PROBLEMS)}!", "tr"))
    for s in EN_SUBJECTS:
        for p in EN_PROBLEMS:
            out.add((f"{s} {p}.", "en"))
    return sorted(out)


def load(url: str, n: int) -> None:
    import psycopg

    from app.wordforms import search_terms

    started = time.perf_counter()
    pool = texts()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.cursor() as cur:
            cur.execute("INSERT INTO unit (id, code, name) VALUES (1, 'org', 'Organisation')")
            for u in range(2, 22):
                cur.execute("INSERT INTO unit (id, code, name, parent_id) VALUES (%s, %s, %s, 1)",
                            (u, f"u{u}", f"Unit {u}"))
            for c in range(1, 11):
                cur.execute("INSERT INTO category (id, code, name, committed_response_days) "
                            "VALUES (%s, %s, %s, 10)", (c, f"c{c}", f"Category {c}"))
            cur.execute("INSERT INTO questionnaire (id, key, title, created_at) "
                        "VALUES (1, 'q', 'q', now())")
            cur.execute("INSERT INTO questionnaire_version (id, questionnaire_id, number, status,"
                        " definition, created_at) VALUES (1, 1, 1, 'published', "
                        "'{\"key\": \"q\", \"questions\": []}', now())")
            cur.execute("CREATE TEMP TABLE pool (k int, body text, lang text, terms text)")
            cur.executemany("INSERT INTO pool VALUES (%s, %s, %s, %s)",
                            [(k, body, lang, search_terms(body, lang))
                             for k, (body, lang) in enumerate(pool)])
            span = 24 * 30 * 86400
            cur.execute(f"""
                INSERT INTO complaint (id, source, external_id, received_at, channel, category_id,
                  unit_id, status, resolved_at, reopen_count, created_at, updated_at)
                SELECT g, 'default', 'B-' || g, t - interval '5 days', 'web', 1 + g %% 10,
                       2 + g %% 20, 'resolved', t - interval '2 days', 0, t, t
                FROM (SELECT g, %(now)s::timestamptz
                                - (g::bigint * {span} / %(n)s) * interval '1 second' AS t
                      FROM generate_series(1, %(n)s) g) s""", {"now": NOW, "n": n})
            cur.execute("""
                INSERT INTO invitation (id, complaint_id, version_id, state, language, due_at,
                  sent_at, responded_at, attempts, created_at)
                SELECT id, id, 1, 'responded', 'tr', resolved_at, resolved_at, created_at, 1,
                       resolved_at FROM complaint""")
            cur.execute("""
                INSERT INTO response (id, invitation_id, version_id, questionnaire_id,
                  complaint_id, unit_id, category_id, channel, language, submitted_at)
                SELECT c.id, c.id, 1, 1, c.id, c.unit_id, c.category_id, 'web', p.lang,
                       c.created_at
                FROM complaint c JOIN pool p ON p.k = c.id % (SELECT count(*) FROM pool)""")
            cur.execute("""
                INSERT INTO answer (response_id, question_key, question_type, attribute,
                  value_number)
                SELECT id, 'overall', 'rating', 'overall', 1 + (id * 7) % 5 FROM response
                UNION ALL
                SELECT id, 'recommend', 'nps', 'loyalty', (id * 3) % 11 FROM response""")
            cur.execute("""
                INSERT INTO answer (response_id, question_key, question_type, value_text,
                  search_terms)
                SELECT r.id, 'comment', 'text', p.body, p.terms
                FROM response r JOIN pool p ON p.k = r.id % (SELECT count(*) FROM pool)""")
            for table in ("complaint", "invitation", "response", "answer", "unit", "category",
                          "questionnaire", "questionnaire_version"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"loaded {n:,} comments ({len(pool)} distinct texts) in "
          f"{time.perf_counter() - started:.1f} s")


def timed(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def by_hand(db: Any, start: dt.datetime, end: dt.datetime, extra: str = "",
            params: dict[str, Any] | None = None) -> None:
    """The page's rows, counts and small units in plain SQL."""
    from sqlalchemy import text

    args = {"start": start, "end": end, **(params or {})}
    where = ("a.question_type = 'text' AND a.value_text IS NOT NULL AND a.value_text <> '' "
             "AND r.submitted_at >= :start AND r.submitted_at < :end " + extra)
    db.session.execute(text(
        "SELECT r.unit_id, count(*) FROM response r WHERE r.submitted_at >= :start "
        "AND r.submitted_at < :end GROUP BY r.unit_id"), args).all()
    db.session.execute(text(
        f"SELECT r.unit_id, count(*) FROM answer a JOIN response r ON r.id = a.response_id "  # noqa: S608
        f"WHERE {where} GROUP BY r.unit_id"), args).all()
    db.session.execute(text(
        "SELECT a.id, r.submitted_at, r.unit_id, r.category_id, r.channel, r.language, "  # noqa: S608
        "a.question_key, a.value_text, "
        "(SELECT max(s.value_number) FROM answer s WHERE s.response_id = r.id "
        " AND s.question_type = 'rating' AND s.attribute = 'overall'), "
        "(SELECT max(s.value_number) FROM answer s WHERE s.response_id = r.id "
        " AND s.question_type = 'nps') "
        f"FROM answer a JOIN response r ON r.id = a.response_id WHERE {where} "
        "ORDER BY r.submitted_at DESC, a.id DESC LIMIT 50"), args).all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    options = parser.parse_args()
    url = (f"{server_url().rstrip('/')}/memnun_bench_{NAME}" if options.reuse
           else fresh_database(NAME))
    if not options.reuse:
        load(url, options.comments)
    app = app_for(url, MEMNUN_TIMEZONE="Europe/Istanbul")
    from app.analytics.comments import Band, Selection, comment_page
    from app.analytics.filters import Filters
    from app.extensions import db
    from tests.support.factories import make_user
    from tests.support.web import login

    start, end = NOW - dt.timedelta(days=365), NOW
    cases = {
        "unfiltered": (Selection(Filters(start, end)), "", {}),
        "search 'çöpler'": (
            Selection(Filters(start, end), search="çöpler"),
            "AND to_tsvector('simple', a.search_terms) @@ to_tsquery('simple', 'cop | çöp')",
            {}),
        "detractors": (
            Selection(Filters(start, end), band=Band.DETRACTORS),
            "AND EXISTS (SELECT 1 FROM answer s WHERE s.response_id = r.id AND "
            "s.question_type = 'nps' AND s.value_number BETWEEN 0 AND 6)", {}),
    }
    with app.app_context():
        total = db.session.execute(db.text(
            "SELECT count(*) FROM answer WHERE question_type = 'text'")).scalar()
        print(f"{total:,} comments in the database")
        for name, (selection, extra, params) in cases.items():
            ours = timed(lambda s=selection: comment_page(s), options.repeat)
            floor = timed(lambda e=extra, p=params: by_hand(db, start, end, e, p),
                          options.repeat)
            found = comment_page(selection).total
            print(f"{name:>16}: comment_page {ours * 1000:7.1f} ms, by hand "
                  f"{floor * 1000:7.1f} ms, ratio {ours / floor:4.2f} ({found:,} comments)")
        db.session.remove()
    password = make_user(app, email="bench-admin@example.org", role="admin")
    client = app.test_client()
    login(client, "bench-admin@example.org", password)
    query = {"period": "custom", "start": (NOW - dt.timedelta(days=365)).date().isoformat(),
             "last": (NOW - dt.timedelta(days=1)).date().isoformat()}
    for name, extra in (("page", {}), ("page, 'çöpler'", {"q": "çöpler"})):
        def get(e: dict[str, str] = extra) -> None:
            response = client.get("/reports/comments", query_string={**query, **e})
            assert response.status_code == 200, response.status_code
        print(f"{name:>16}: whole page over HTTP {timed(get, options.repeat) * 1000:7.1f} ms "
              "(target: under 1000 ms)")


if __name__ == "__main__":
    main()
