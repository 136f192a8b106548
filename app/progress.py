"""Progress of long command-line work (the demo, a CSV import, the rollup rebuild, the retention
purge): a bar on a terminal, plain lines elsewhere (CI logs, cron mail), where a bar's carriage
returns would make one unreadable line.

Services take an optional ``Advance`` callable and know nothing of terminals: they call
``advance(n, step)`` as work gets done; ``show_progress`` gives the CLI one to pass.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Protocol

import click

LINE_EVERY_SECONDS = 5.0  # plain lines: at most one per interval, besides each new step


class Advance(Protocol):
    def __call__(self, done: int = 1, step: str = "") -> None: ...


def nothing(done: int = 1, step: str = "") -> None:
    """The ``Advance`` of callers that show no progress (web requests, the scheduler, tests)."""


@contextmanager
def show_progress(label: str, total: int | None, file: IO[str] | None = None) -> Iterator[Advance]:
    """An ``Advance`` that shows ``label`` and how much of ``total`` (None: unknown) is done."""
    out = file or sys.stdout  # stderr is for problems (the import's "file:line: message")
    if out.isatty() and total:  # a bar needs a length; an unknown one gets lines
        with click.progressbar(
            length=total or 0,
            label=label,
            file=out,
            item_show_func=lambda step: step,
            show_pos=True,
            show_percent=True,
        ) as bar:

            def advance_bar(done: int = 1, step: str = "") -> None:
                bar.update(done, step or None)

            yield advance_bar
        return
    state = {"done": 0, "step": "", "shown_at": 0.0}

    def advance_lines(done: int = 1, step: str = "") -> None:
        state["done"] += done
        now = time.monotonic()
        if step == state["step"] and now - float(state["shown_at"]) < LINE_EVERY_SECONDS:
            return
        state["step"], state["shown_at"] = step, now
        click.echo(_line(label, int(state["done"]), total, step), file=out)

    yield advance_lines
    click.echo(f"{label}: done ({state['done']})", file=out)  # a total may have been a guess


def _line(label: str, done: int, total: int | None, step: str) -> str:
    amount = f"{done}/{total} ({done * 100 // total}%)" if total else f"{done}"
    return f"{label}: {amount}" + (f" {step}" if step else "")
