"""A respondent over real HTTP, and the figures of a load run.

``submit_survey`` does what a person's browser does: opens the e-mail link (which moves the token
into a cookie and redirects to ``/s/survey``), reads the form and its CSRF token, and posts the
answers. The survey is stored when the POST is answered with a 302 to ``/s/thanks``.
"""

from __future__ import annotations

import html
import re
import statistics
import threading
import time
from dataclasses import dataclass, field

import requests

from app.distribution.tokens import token_for
from tests.support.processes import SECRET_KEY

FORM_RE = re.compile(r'<form method="post" action="([^"]+)" class="[^"]*\bsurvey\b[^"]*"[^>]*>'
                     r"(.*?)</form>", re.S)
INPUT_RE = re.compile(r"<input[^>]*>")
NAME_RE = re.compile(r'name="([^"]+)"')
VALUE_RE = re.compile(r'value="([^"]*)"')
ANSWERS = {"overall": "4", "comment": "Hızlı döndünüz, teşekkürler."}


@dataclass
class Outcome:
    """One respondent's attempt: ``stored`` when the final POST got its 302 to the thanks page."""

    invitation_id: int
    stored: bool
    status: str  # "302", another status code, or the network error's name
    seconds: float  # the whole visit: link, form, POST
    post_seconds: float  # the POST alone (what stores the response)
    started: float = 0.0  # time.monotonic() when the visit began


def survey_form(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields (CSRF token) of the survey form in ``page``."""
    match = FORM_RE.search(page)
    if match is None:
        raise ValueError("no survey form in the page")
    hidden = {}
    for tag in INPUT_RE.findall(match.group(2)):
        if 'type="hidden"' in tag:
            name, value = NAME_RE.search(tag), VALUE_RE.search(tag)
            if name and value:
                hidden[name.group(1)] = html.unescape(value.group(1))
    return html.unescape(match.group(1)), hidden


def submit_survey(base_url: str, invitation_id: int, timeout: float = 30) -> Outcome:
    """One respondent answers the survey of ``invitation_id`` from the link in their e-mail."""
    started = time.monotonic()
    post_started = started
    browser = requests.Session()
    try:
        page = browser.get(f"{base_url}/s/{token_for(invitation_id, SECRET_KEY)}", timeout=timeout)
        if page.status_code != 200:
            return Outcome(invitation_id, False, str(page.status_code),
                           time.monotonic() - started, 0.0, started)
        action, hidden = survey_form(page.text)
        post_started = time.monotonic()
        answer = browser.post(base_url + action, data={**hidden, **ANSWERS}, timeout=timeout,
                              allow_redirects=False)
        stored = answer.status_code == 302 and answer.headers.get("Location") == "/s/thanks"
        status = str(answer.status_code)
    except (requests.RequestException, ValueError) as exc:
        stored, status = False, type(exc).__name__
    finally:
        browser.close()
    now = time.monotonic()
    return Outcome(invitation_id, stored, status, now - started,
                   now - post_started if post_started > started else 0.0, started)


@dataclass
class LoadRun:
    """Respondents sent by several threads, one invitation each, at most ``rate`` a second."""

    base_url: str
    invitation_ids: list[int]
    threads: int = 8
    rate: float | None = None  # submissions started per second, all threads together
    seconds: float | None = None  # stop starting new ones after this long
    pause_after_failure: float = 0.0  # a person whose page failed waits before the next try
    outcomes: list[Outcome] = field(default_factory=list)
    elapsed: float = 0.0

    def run(self) -> LoadRun:
        queue = list(reversed(self.invitation_ids))
        lock = threading.Lock()
        started = time.monotonic()
        interval = 1 / self.rate if self.rate else 0.0
        next_start = [started]

        def take() -> int | None:
            with lock:
                now = time.monotonic()
                if not queue or (self.seconds is not None and now - started > self.seconds):
                    return None
                wait = next_start[0] - now
                next_start[0] = max(next_start[0], now) + interval
                invitation_id = queue.pop()
            if wait > 0:
                time.sleep(wait)
            return invitation_id

        def work() -> None:
            while (invitation_id := take()) is not None:
                outcome = submit_survey(self.base_url, invitation_id)
                with lock:
                    self.outcomes.append(outcome)
                if not outcome.stored and self.pause_after_failure:
                    time.sleep(self.pause_after_failure)

        workers = [threading.Thread(target=work, daemon=True) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.elapsed = time.monotonic() - started
        return self

    @property
    def stored(self) -> list[int]:
        return [o.invitation_id for o in self.outcomes if o.stored]

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.stored]

    def summary(self, label: str) -> str:
        visits = sorted(o.seconds for o in self.outcomes if o.stored)
        posts = sorted(o.post_seconds for o in self.outcomes if o.stored)
        if not visits:
            return f"{label}: nothing stored; failures {len(self.failures)}"
        return (f"{label}: {len(visits)} surveys stored in {self.elapsed:.1f} s = "
                f"{len(visits) / self.elapsed:.1f}/s; failures {len(self.failures)}; "
                f"POST p50 {percentile(posts, 50) * 1000:.0f} ms, "
                f"p95 {percentile(posts, 95) * 1000:.0f} ms, "
                f"p99 {percentile(posts, 99) * 1000:.0f} ms; whole visit (3 requests) "
                f"p50 {percentile(visits, 50) * 1000:.0f} ms, "
                f"p95 {percentile(visits, 95) * 1000:.0f} ms")


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` (nearest rank on the sorted list)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(min(int(pct), 99), 1) - 1]
