"""Comment themes: the comments grouped by what they are about, computed from their words.

**Computation** (``recompute_themes``, the scheduler's themes job, never a page view): every
comment's stems (``answer.search_terms``, ``app.wordforms``), folded so that "çöp" and "cop" are
one term, without its language's stop words (``app.analytics.stopwords``), are weighed by
TF-IDF and factorised by NMF (scikit-learn: ``TfidfVectorizer``, ``NMF``) into
``MEMNUN_THEMES_COUNT`` themes. Each comment belongs to the theme it weighs most in (none when
it holds no term the themes know). A theme is named by its top terms, shown as the word people
wrote most often for each stem ("çöp" rather than "cop"), and its representative comments are
its heaviest.

**Names and merges survive**: a new theme continues the old theme whose top terms overlap most
(``match_themes``: Jaccard overlap, at least ``MIN_OVERLAP``) and keeps its row, so its id
(links), the name the satisfaction team gave it and its merges (``merge_themes``: the merged
theme's term sets stay with it and pull the new themes that match them into it) outlive the
computation.

**Detractors against promoters** (``overrepresented``): for each theme, the comments of
detractors (NPS 0-6) and of promoters (9-10) in it and outside it form a 2x2 table; Fisher's
exact test (one-sided: more among detractors) gives a p-value and Holm's step-down method keeps
the family-wise error at 5 % over all themes.

Small groups: the page's counts leave out the units that show no comment
(``app.analytics.comments.small_units``).
"""

from __future__ import annotations

import collections
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import aliased

from app.analytics.comments import (
    SCORED,
    Comment,
    Selection,
    _comment,
    _conditions,
    _select,
    small_units,
)
from app.analytics.filters import response_conditions
from app.analytics.metrics import two_proportion_z_test
from app.analytics.periods import Grain, Periods
from app.analytics.splits import tune_for_aggregates
from app.analytics.stopwords import stop_stems
from app.extensions import db
from app.models import Answer, AuditLog, CommentTheme, Response, Theme
from app.models.types import utcnow
from app.wordforms import fold, stems, words

TOP_TERMS = 6  # terms kept per theme: enough to name it and to match it next time
LABEL_TERMS = 4  # of which the label shows the first
MIN_OVERLAP = 1 / 3  # Jaccard overlap of top terms for a name to pass to a new theme
LABEL_SAMPLE = 300  # heaviest comments per theme read to find each stem's usual word
ALPHA = 0.05


# --- the computation (pure) ---------------------------------------------------------------


def terms_of(search_terms: str | None, language: str) -> list[str]:
    """A comment's terms for the themes: its stems folded ("çöp" and "cop" are one), without
    stop words and one-letter stems."""
    if not search_terms:
        return []
    stop = stop_stems(language)
    return sorted({t for t in (fold(s) for s in search_terms.split())
                   if len(t) > 1 and t not in stop and t.isalpha()})


@dataclass
class Fitted:
    """The themes of a computation: each theme's top terms (best first), and each comment's
    theme index (or None) with its weight."""

    terms: list[list[str]]
    assigned: list[tuple[int | None, float]]


def fit_themes(documents: Sequence[Sequence[str]], n_themes: int,
               seed: int = 0) -> Fitted:
    """TF-IDF over the comments' terms, factorised by NMF into at most ``n_themes`` themes.

    Terms in fewer than two comments name nothing and terms in more than half are not a
    topic; sublinear TF and the NNDSVD start make the factorisation deterministic for a seed.
    """
    import numpy as np
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    n_docs = sum(1 for d in documents if d)
    if n_docs < 2 or n_themes < 1:
        return Fitted([], [(None, 0.0)] * len(documents))
    vectorizer = TfidfVectorizer(analyzer=lambda doc: doc, min_df=2 if n_docs >= 10 else 1,
                                 max_df=0.5 if n_docs >= 10 else 1.0, sublinear_tf=True,
                                 dtype=np.float64)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no term left
        return Fitted([], [(None, 0.0)] * len(documents))
    vocabulary = vectorizer.get_feature_names_out()
    k = max(1, min(n_themes, matrix.shape[1], n_docs))
    model = NMF(n_components=k, init="nndsvd", random_state=seed, max_iter=300)
    weights = model.fit_transform(matrix)
    terms = [[str(vocabulary[i]) for i in row.argsort()[::-1][:TOP_TERMS] if row[i] > 0]
             for row in model.components_]
    best = weights.argmax(axis=1)
    assigned: list[tuple[int | None, float]] = []
    for i, j in enumerate(best):
        weight = float(weights[i, j])
        assigned.append((int(j), weight) if weight > 0 else (None, 0.0))
    return Fitted(terms, assigned)


def usual_words(texts: Sequence[tuple[str, str]]) -> dict[str, collections.Counter[str]]:
    """For each folded stem, how often each word of ``texts`` ((text, language) pairs)
    stands for it: "çöpler" and "çöp" for "cop"."""
    found: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for body, language in texts:
        for word in words(body, language):
            for stem in stems(word, language):
                found[fold(stem)][word] += 1
    return found


def label(terms: Sequence[str], usual: dict[str, collections.Counter[str]]) -> str:
    """A theme's name from its top terms: each as the word people wrote most for it (the
    shortest of the most frequent), the stem itself when no text had it."""
    shown: list[str] = []
    for term in terms[:LABEL_TERMS]:
        counter = usual.get(term)
        if counter:
            top = max(counter.values())
            word = min((w for w, n in counter.items() if n == top), key=lambda w: (len(w), w))
        else:
            word = term
        if word not in shown:
            shown.append(word)
    return ", ".join(shown)


def overlap(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard overlap |A ∩ B| / |A ∪ B| of two themes' top terms."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def match_themes(old: Sequence[tuple[Sequence[str], Any]],
                 new: Sequence[Sequence[str]]) -> dict[int, Any]:
    """Which ``new`` theme (by index) continues which old one: ``old`` holds (top terms, key)
    pairs, one for each term set of an old theme (a merged theme has several, all with its
    key). Pairs are taken greedily by their overlap, largest first, each term set and each new
    theme at most once, and only from ``MIN_OVERLAP`` up, so a name never lands on a theme
    about something else; several new themes continue one old theme only through its
    several term sets (it was merged, and stays merged)."""
    pairs = sorted(((overlap(o_terms, n_terms), i, j)
                    for i, (o_terms, _key) in enumerate(old) for j, n_terms in enumerate(new)),
                   key=lambda p: (-p[0], p[1], p[2]))
    used_old: set[int] = set()
    found: dict[int, Any] = {}
    for score, i, j in pairs:
        if score < MIN_OVERLAP:
            break
        if i in used_old or j in found:
            continue
        used_old.add(i)
        found[j] = old[i][1]
    return found


# --- the significance test (pure) ---------------------------------------------------------


def fisher_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided p-value of Fisher's exact test that the first row's share in the first
    column is larger: the table [[a, b], [c, d]] is (theme, not theme) x (detractors,
    promoters) read as rows (detractors: a in the theme, b not; promoters: c in, d not).

    With the margins fixed, the count in the cell *a* follows the hypergeometric law
    P(X = x) = C(a+b, x) C(c+d, a+c-x) / C(n, a+c), n = a+b+c+d, and
    p = Σ_{x ≥ a} P(X = x) (Fisher 1922; as ``scipy.stats.fisher_exact`` with
    ``alternative="greater"``). Computed with log-gamma to stay finite for large counts.
    """
    if min(a, b, c, d) < 0:
        raise ValueError("counts must not be negative")
    row1, row2, col1 = a + b, c + d, a + c
    n = row1 + row2
    if n == 0:
        return 1.0

    def log_comb(m: int, k: int) -> float:
        return math.lgamma(m + 1) - math.lgamma(k + 1) - math.lgamma(m - k + 1)

    high = min(row1, col1)
    low = max(0, col1 - row2)
    logs = [log_comb(row1, x) + log_comb(row2, col1 - x) - log_comb(n, col1)
            for x in range(max(a, low), high + 1)]
    if not logs:
        return 0.0
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(v - top) for v in logs))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979): sorted ascending p_(1) ≤ … ≤ p_(m),
    adj_(i) = max_{j ≤ i} min(1, (m - j + 1) p_(j)); as statsmodels' ``multipletests(...,
    method="holm")``. Controls the family-wise error rate without assuming independence."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Overrepresentation:
    theme_id: int
    detractors: int  # detractors' comments in the theme
    promoters: int  # promoters' comments in the theme
    detractor_share: float  # of all detractors' comments
    promoter_share: float
    p_value: float  # Fisher, one-sided
    adjusted: float  # Holm over all themes
    significant: bool


def overrepresented(counts: dict[int, tuple[int, int]], detractors: int,
                    promoters: int, alpha: float = ALPHA) -> list[Overrepresentation]:
    """For each theme (``counts``: theme -> (detractors' comments in it, promoters' in it)),
    out of ``detractors`` and ``promoters`` comments in all: whether detractors write about it
    more than promoters (``fisher_greater``, Holm-adjusted over the themes at ``alpha``)."""
    ids = sorted(counts)
    raw = [fisher_greater(counts[t][0], detractors - counts[t][0], counts[t][1],
                          promoters - counts[t][1]) for t in ids]
    adjusted = holm(raw)
    return [Overrepresentation(
        theme_id=t, detractors=counts[t][0], promoters=counts[t][1],
        detractor_share=counts[t][0] / detractors if detractors else 0.0,
        promoter_share=counts[t][1] / promoters if promoters else 0.0,
        p_value=p, adjusted=q, significant=q < alpha)
        for t, p, q in zip(ids, raw, adjusted, strict=True)]


# --- the job --------------------------------------------------------------------------------


def _lock() -> bool:
    """On PostgreSQL, one computation at a time (several schedulers may tick together): the
    transaction's advisory lock, or False when another holds it."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtext('memnun_themes'))")).scalar_one())


def _comment_rows(chunk: int = 5000) -> tuple[list[int], list[list[str]], list[str | None]]:
    """Every comment's id, terms and its response's NPS band ("d", "p" or None)."""
    ids: list[int] = []
    documents: list[list[str]] = []
    bands: list[str | None] = []
    nps = _nps_scores()
    stmt = (select(Answer.id, Answer.search_terms, Response.language, _nps_band(nps.c.nps))
            .join(Response, Response.id == Answer.response_id)
            .outerjoin(nps, nps.c.response_id == Response.id)
            .where(Answer.question_type == "text", Answer.search_terms.is_not(None))
            .order_by(Answer.id).execution_options(yield_per=chunk))
    for answer_id, terms, language, band in db.session.execute(stmt):
        ids.append(answer_id)
        documents.append(terms_of(terms, language))
        bands.append(band or None)
    return ids, documents, bands


def _nps_scores() -> Any:
    """Each response's NPS answer (as ``app.analytics.comments`` reads it)."""
    scored = aliased(Answer, name="scored")
    return (select(scored.response_id.label("response_id"),
                   func.max(scored.value_number).label("nps"))
            .where(SCORED["nps"](scored)).group_by(scored.response_id).subquery("nps"))


def _labels(fitted: Fitted, ids: list[int]) -> list[str]:
    """Each theme's label, from the words of its heaviest comments."""
    heaviest: dict[int, list[tuple[float, int]]] = collections.defaultdict(list)
    for answer_id, (theme, weight) in zip(ids, fitted.assigned, strict=True):
        if theme is not None:
            heaviest[theme].append((weight, answer_id))
    wanted: list[int] = []
    for rows in heaviest.values():
        wanted += [a for _w, a in sorted(rows, reverse=True)[:LABEL_SAMPLE]]
    texts: list[tuple[str, str]] = []
    for start in range(0, len(wanted), 1000):
        texts += [(t or "", lang) for t, lang in db.session.execute(
            select(Answer.value_text, Response.language)
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.id.in_(wanted[start:start + 1000])))]
    usual = usual_words(texts)
    return [label(terms, usual) for terms in fitted.terms]


def _term_sets(theme: Theme) -> list[list[str]]:
    return [theme.terms.split(), *(line.split() for line in (theme.merged_terms or "").splitlines()
                                   if line.strip())]


def recompute_themes(n_themes: int = 12, seed: int = 0) -> int | None:
    """Compute the themes of every comment again and store them in place of the last ones
    (the old rows continued by a new theme kept, with their names and merges:
    ``match_themes``); the number of themes, or None when another computation is running.
    One transaction: the pages see the old themes or the new."""
    if not _lock():
        return None
    ids, documents, bands = _comment_rows()
    fitted = fit_themes(documents, n_themes, seed=seed)
    labels = _labels(fitted, ids)
    sizes = collections.Counter(theme for theme, _w in fitted.assigned if theme is not None)
    old = {t.id: t for t in db.session.scalars(select(Theme).order_by(Theme.id))}
    continued = match_themes([(terms, t.id) for t in old.values() for terms in _term_sets(t)],
                             fitted.terms)
    db.session.execute(delete(CommentTheme))
    now = utcnow()
    rows: dict[int, Theme] = {}  # new theme index -> its row
    groups: dict[int, list[int]] = collections.defaultdict(list)
    for j, theme_id in continued.items():
        groups[theme_id].append(j)
    for theme_id, members in groups.items():
        members.sort(key=lambda j: -sizes.get(j, 0))  # the largest gives the terms and label
        row = old[theme_id]
        row.terms = " ".join(fitted.terms[members[0]])
        row.label = labels[members[0]] or row.terms
        row.merged_terms = "\n".join(" ".join(fitted.terms[j]) for j in members[1:]) or None
        row.size = sum(sizes.get(j, 0) for j in members)
        row.computed_at = now
        rows.update(dict.fromkeys(members, row))
    for theme_id, row in old.items():
        if theme_id not in groups:
            db.session.delete(row)
    for j, terms in enumerate(fitted.terms):
        if j not in rows:
            rows[j] = Theme(terms=" ".join(terms), label=labels[j] or " ".join(terms),
                            size=sizes.get(j, 0), computed_at=now)
            db.session.add(rows[j])
    db.session.flush()
    links = [{"answer_id": a, "theme_id": rows[t].id, "weight": w, "band": b}
             for a, (t, w), b in zip(ids, fitted.assigned, bands, strict=True) if t is not None]
    for start in range(0, len(links), 10_000):
        db.session.execute(insert(CommentTheme), links[start:start + 10_000])
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        # Every row was replaced: fresh statistics, or the explorer's joins are planned for
        # the old table until autovacuum comes by (a sample: a fraction of a second).
        db.session.execute(text("ANALYZE comment_theme"))
        db.session.commit()
    return len(groups) + sum(1 for j in range(len(fitted.terms)) if j not in continued)


# --- the satisfaction team's changes -------------------------------------------------------------


class ThemeError(ValueError):
    """A change the team asked for that cannot be made (the message says why)."""


def _audit(actor: str, verb: str, theme: Theme, **detail: Any) -> None:
    db.session.add(AuditLog(actor=actor, action=f"theme.{verb}", target=f"theme:{theme.id}",
                            detail={"terms": theme.terms, **detail}))


def rename_theme(theme: Theme, name: str, actor: str) -> None:
    """Give ``theme`` a name (empty: back to its label), audited; it survives recomputations."""
    name = " ".join(name.split())
    if len(name) > 200:
        raise ThemeError("A theme's name has at most 200 characters.")
    before = theme.name
    theme.name = name or None
    _audit(actor, "rename", theme, before=before, after=theme.name)
    db.session.commit()


def merge_themes(theme: Theme, into: Theme, actor: str) -> None:
    """Merge ``theme`` into ``into``: its comments and term sets go to ``into``, which keeps its
    name; audited. The next computations keep them together (``match_themes``)."""
    if theme.id == into.id:
        raise ThemeError("A theme cannot be merged into itself.")
    into.merged_terms = "\n".join(" ".join(t) for t in [*_term_sets(into)[1:], *_term_sets(theme)])
    into.size += theme.size
    db.session.execute(update(CommentTheme).where(CommentTheme.theme_id == theme.id)
                       .values(theme_id=into.id))
    _audit(actor, "merge", theme, into=into.id, into_terms=into.terms, name=theme.name)
    db.session.delete(theme)
    db.session.commit()


# --- what the pages read ----------------------------------------------------------------------


def _nps_band(a: Any) -> Any:
    return case((a <= 6, "d"), (a >= 9, "p"), else_="")


@dataclass(frozen=True)
class Hidden:
    """The small units (fewer than k responses) of a selection's period and of its compared
    period: their comments are counted in neither."""

    now: frozenset[int]
    before: frozenset[int]


def _in(start: dt.datetime, end: dt.datetime) -> Any:
    return and_(Response.submitted_at >= start, Response.submitted_at < end)


def _both_periods(filters: Any) -> Any:
    """The response lies in the period or in its compared period (which ends by the period's
    start: ``Filters``), one range condition each."""
    first, last = filters.comparison
    return or_(_in(filters.start, filters.end), _in(first, last))


def _is_now(filters: Any) -> Any:
    """1 for a response of the period, 0 for one of the compared period; labelled, so that
    GROUP BY names it (PostgreSQL does not see two expressions with their own parameters as
    the same)."""
    return case((Response.submitted_at >= filters.start, 1), else_=0).label("is_now")


def hidden_units(selection: Selection) -> Hidden:
    """The small units of the period and of the compared period, in one grouped query."""
    filters = selection.filters
    is_now = _is_now(filters)
    stmt = (select(is_now, Response.unit_id, func.count())
            .where(_both_periods(filters), *response_conditions(filters, timed=False))
            .group_by(is_now, Response.unit_id))
    now: set[int] = set()
    before: set[int] = set()
    for is_now, unit, n in db.session.execute(stmt):
        if n < selection.min_group:
            (now if is_now else before).add(unit)
    return Hidden(frozenset(now), frozenset(before))


def _without_theme(selection: Selection) -> Selection:
    return Selection(selection.filters, selection.search, selection.band, selection.min_group)


@dataclass(frozen=True)
class Change:
    """A theme's share of the comments in the compared period, and whether it moved: a
    two-sided two-proportion z test (``metrics.two_proportion_z_test``), Holm-adjusted over
    all themes at 0.05."""

    comments: int  # the theme's comments in the compared period
    share: float  # of the compared period's comments
    difference: float  # share now minus share then
    adjusted: float
    significant: bool


@dataclass(frozen=True)
class ThemeCount:
    theme: Theme
    comments: int  # in the selection, outside small units
    share: float  # of the selection's comments
    test: Overrepresentation | None
    change: Change | None = None  # None when either period has no comment


def _changes(now: dict[int, int], total: int, before: dict[int, int],
             total_before: int) -> dict[int, Change]:
    if not total or not total_before:
        return {}
    ids = sorted(now.keys() | before.keys())
    tests = [two_proportion_z_test(now.get(t, 0), total, before.get(t, 0), total_before)
             for t in ids]
    adjusted = holm([t.p_value for t in tests])
    return {t: Change(before.get(t, 0), before.get(t, 0) / total_before, z.difference, q,
                      q < ALPHA)
            for t, z, q in zip(ids, tests, adjusted, strict=True)}


@dataclass(frozen=True)
class Tallied:
    """A selection's comments (search and band applied, its theme filter not) counted by
    period (this one or the compared one), unit, theme and NPS band, and by month when asked
    (``months``): the one grouped query the explorer's themes, its counts and a theme's
    frequencies are all added up from. Small units are left out here, each period by its
    own (``hidden``), so one query serves every split."""

    rows: list[tuple[bool, int, int | None, str, dt.date | None, int]]
    hidden: Hidden
    months: Periods | None = None

    def shown(self) -> list[tuple[bool, int, int | None, str, dt.date | None, int]]:
        return [r for r in self.rows
                if r[1] not in (self.hidden.now if r[0] else self.hidden.before)]

    def comments(self, theme_id: int | None = None) -> tuple[int, int]:
        """(comments of the period that may be shown, comments withheld: small units), of
        one theme or all."""
        shown = withheld = 0
        for is_now, unit, theme, _band, _month, n in self.rows:
            if is_now and (theme_id is None or theme == theme_id):
                if unit in self.hidden.now:
                    withheld += n
                else:
                    shown += n
        return shown, withheld


def tally(selection: Selection, hidden: Hidden | None = None,
          months: Periods | None = None) -> Tallied:
    """The counts of ``Tallied`` in one query over the period and the compared period."""
    if hidden is None:
        hidden = hidden_units(selection)
    filters = selection.filters
    is_now = _is_now(filters)
    columns = [is_now, Response.unit_id, CommentTheme.theme_id, CommentTheme.band]
    if months is not None:
        bucket = months.bucket(Response.submitted_at, db.session.get_bind().dialect.name)
        # The compared period's rows all fall in one bucket: its months are not shown.
        columns.append(case((Response.submitted_at >= filters.start, bucket), else_=0)
                       .label("bucket"))
    # The band stored with each comment's theme when computed: aggregating every response's
    # NPS answer here cost a second at 200,000 comments (tests/bench/bench_themes.py).
    stmt = (select(*columns, func.count())
            .select_from(Answer).join(Response, Response.id == Answer.response_id)
            .outerjoin(CommentTheme, CommentTheme.answer_id == Answer.id)
            .where(*_conditions(_without_theme(selection), timed=False),
                   _both_periods(filters))
            .group_by(*columns))
    tune_for_aggregates()  # 4 MB of work_mem spilled its hash joins to disk (200,000 comments)
    rows = []
    for row in db.session.execute(stmt):
        is_now_value, unit, theme, band = row[:4]
        month = months.decode(row[4]) if months is not None and is_now_value else None
        rows.append((bool(is_now_value), unit, theme, band or "", month, int(row[-1])))
    return Tallied(rows, hidden, months)


def theme_counts(selection: Selection, hidden: Hidden | None = None,
                 tallied: Tallied | None = None) -> tuple[list[ThemeCount], int]:
    """The selection's themes (its theme filter aside), most frequent first, with the test of
    detractors against promoters (over the comments that have a theme) and the change of each
    theme's share against the compared period, and the number of comments counted (themed or
    not). From ``tallied`` when given, else its one query."""
    if tallied is None:
        tallied = tally(selection, hidden)
    per_theme: dict[int | None, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    before: dict[int, int] = collections.Counter()
    total_before = 0
    for is_now, _unit, theme_id, b, _month, n in tallied.shown():
        if is_now:
            per_theme[theme_id][b] += n
        else:
            total_before += n
            if theme_id is not None:
                before[theme_id] += n
    total = sum(sum(c.values()) for c in per_theme.values())
    detractors = sum(c["d"] for c in per_theme.values())
    promoters = sum(c["p"] for c in per_theme.values())
    themes = {t.id: t for t in db.session.scalars(select(Theme))}
    counts = {t: (per_theme[t]["d"], per_theme[t]["p"]) for t in themes}
    tests = ({o.theme_id: o for o in overrepresented(counts, detractors, promoters)}
             if detractors and promoters and counts else {})
    now = {t: sum(per_theme[t].values()) for t in themes}
    changes = _changes(now, total, {t: before.get(t, 0) for t in themes}, total_before)
    found = [ThemeCount(theme, now[t], now[t] / total if total else 0.0, tests.get(t),
                        changes.get(t))
             for t, theme in themes.items()]
    found.sort(key=lambda c: (-c.comments, c.theme.title))
    return found, total


def representatives(selection: Selection, theme_id: int, n: int = 3,
                    with_names: bool = False,
                    hidden: frozenset[int] | None = None) -> list[Comment]:
    """The theme's heaviest comments in the selection (outside small units: ``hidden``, read
    when not given)."""
    if hidden is None:
        hidden = small_units(selection)
    stmt = (_select(_without_theme(selection), hidden, with_names)
            .join(CommentTheme, (CommentTheme.answer_id == Answer.id)
                  & (CommentTheme.theme_id == theme_id))
            .order_by(None).order_by(CommentTheme.weight.desc(), Answer.id).limit(n))
    return [_comment(row, with_names) for row in db.session.execute(stmt)]


@dataclass(frozen=True)
class Frequency:
    key: Any  # a unit id, or a period's first day
    theme: int  # the theme's comments
    comments: int  # all comments
    theme_before: int = 0  # the same in the compared period (by unit)
    comments_before: int = 0


@dataclass(frozen=True)
class Frequencies:
    by_unit: list[Frequency]  # units with comments in either period, most of the theme first
    over_time: list[Frequency]  # every period of the grain, oldest first


def month_periods(selection: Selection, grain: Grain | str, tz: str) -> Periods:
    return Periods.covering(selection.filters.start, selection.filters.end, grain, tz)


def frequencies(tallied: Tallied, theme_id: int) -> Frequencies:
    """A theme's comments against all comments per unit (in the period and in the compared
    one) and per month of the period, added up from ``tallied`` (read with ``months``)."""
    units: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
    months: dict[dt.date, list[int]] = collections.defaultdict(lambda: [0, 0])
    for is_now, unit, theme, _band, month, all_ in tallied.shown():
        n = all_ if theme == theme_id else 0
        counts = units[unit]
        if is_now:
            counts[0] += n
            counts[1] += all_
            if month is not None:
                months[month][0] += n
                months[month][1] += all_
        else:
            counts[2] += n
            counts[3] += all_
    by_unit = sorted((Frequency(u, *c) for u, c in units.items()),
                     key=lambda f: (-f.theme, -f.theme_before, f.key))
    starts = tallied.months.starts if tallied.months is not None else sorted(months)
    return Frequencies(by_unit, [Frequency(day, *months[day]) for day in starts])


def all_themes() -> list[Theme]:
    """The themes of the latest computation, largest first."""
    return list(db.session.scalars(select(Theme).order_by(Theme.size.desc(), Theme.id)))


def latest_run() -> dt.datetime | None:
    return db.session.scalar(select(func.max(Theme.computed_at)))
