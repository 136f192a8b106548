"""Benchmark: the comment themes over 200,000 comments in PostgreSQL (issue 18: under 2
minutes), and the explorer's page with its themes at that size (under 1 s).

Run it by hand (pytest does not collect it)::

    .venv/bin/python tests/bench/bench_themes.py [--comments 200000] [--repeat 3] [--reuse]

It loads ``memnun_bench_themes`` as ``bench_comments`` loads its database (the same schema,
units, scores and spread over 24 months), from a larger pool of texts: 5,000 distinct comments
made of one to three sentences of the labelled test set (``tests.support.themes``: four topics in
Turkish and English) and the comments benchmark's own texts, so that the vocabulary is that of
real comments rather than a handful of words.

Then it times, each the median of ``--repeat`` runs after a warm-up:

- the floor: reading every comment's stems (the query the job starts with) and nothing else;
- ``recompute_themes`` (the scheduler's job: read, TF-IDF, NMF, labels, store), with the ratio
  to the floor; the target is under 120 s;
- the explorer's page over HTTP, with and without a theme chosen (target: under 1 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import bench_comments  # noqa: E402
from tests.support.bench import app_for, fresh_database, server_url  # noqa: E402

NAME = "themes"


def texts(n: int = 5000) -> list[tuple[str, str]]:
    from tests.support.themes import LABELLED

    rng = random.Random(18)
    by_language: dict[str, list[str]] = {}
    for _topic, language, body in LABELLED:
        by_language.setdefault(language, []).append(body)
    for body, language in bench_comments.__dict__["_original_texts"]():
        by_language.setdefault(language, []).append(body)
    out: set[tuple[str, str]] = set()
    while len(out) < n:
        language = "tr" if rng.random() < 0.7 else "en"
        sentences = rng.sample(by_language[language], rng.randint(1, 3))
        out.add((" ".join(sentences), language))
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true")
    options = parser.parse_args()
    url = (f"{server_url().rstrip('/')}/memnun_bench_{NAME}" if options.reuse
           else fresh_database(NAME))
    if not options.reuse:
        bench_comments.__dict__["_original_texts"] = bench_comments.texts
        bench_comments.texts = texts  # the loader draws from this pool
        bench_comments.load(url, options.comments)
    app = app_for(url, MEMNUN_TIMEZONE="Europe/Istanbul")
    from app.analytics.themes import _comment_rows, recompute_themes
    from app.extensions import db
    from tests.support.factories import make_user
    from tests.support.web import login

    with app.app_context():
        floor = bench_comments.timed(lambda: _comment_rows(), options.repeat)
        db.session.rollback()
        ours = bench_comments.timed(lambda: recompute_themes(12), options.repeat)
        themes = db.session.execute(db.text(
            "SELECT t.id, t.label, count(c.answer_id) FROM theme t "
            "LEFT JOIN comment_theme c ON c.theme_id = t.id GROUP BY t.id, t.label "
            "ORDER BY 3 DESC")).all()
        total = sum(n for _i, _l, n in themes)
        print(f"{total:,} comments in {len(themes)} themes")
        for _id, label, n in themes:
            print(f"  {n:7,}  {label}")
        print(f"reading the stems (floor) {floor:6.1f} s; recompute_themes {ours:6.1f} s, "
              f"ratio {ours / floor:5.1f} (target: under 120 s)")
        first = themes[0][0]
        db.session.remove()
    email = f"bench-admin-{uuid.uuid4().hex[:8]}@example.org"  # --reuse keeps the last one
    password = make_user(app, email=email, role="admin")
    client = app.test_client()
    login(client, email, password)
    now = bench_comments.NOW
    query = {"period": "custom", "start": (now - dt.timedelta(days=365)).date().isoformat(),
             "last": (now - dt.timedelta(days=1)).date().isoformat()}
    for name, extra in (("page", {}), ("page, a theme", {"theme": str(first)})):
        def get(e: dict[str, str] = extra) -> None:
            response = client.get("/reports/comments", query_string={**query, **e})
            assert response.status_code == 200, response.status_code
        print(f"{name:>16}: whole page over HTTP "
              f"{bench_comments.timed(get, options.repeat) * 1000:7.1f} ms (target: under 1000 ms)")


if __name__ == "__main__":
    main()
