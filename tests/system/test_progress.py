"""Progress of long CLI work: plain lines when the output is not a terminal (CI logs), a bar when
it is; the demo, the CSV import, the rollup rebuild and the retention purge report theirs."""

from __future__ import annotations

import io

from app.demo import load_demo
from app.demo.loader import STEPS
from app.progress import show_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_that_reaches_the_end() -> None:
    out = Terminal()
    with show_progress("Loading", 4, file=out) as advance:
        for step in ("units", "complaints", "responses", "actions"):
            advance(1, step)
    text = out.getvalue()
    assert "Loading" in text and "[" in text and "4/4" in text and "100%" in text
    assert "\r" in text or "\x1b" in text  # drawn in place, not line after line


def test_a_log_gets_plain_lines_one_per_step_and_a_last_one() -> None:
    out = io.StringIO()
    with show_progress("Loading", 3, file=out) as advance:
        advance(1, "units")
        advance(1, "complaints")
        advance(1, "complaints")  # the same step again within seconds: no new line
    lines = out.getvalue().splitlines()
    assert lines == [
        "Loading: 1/3 (33%) units",
        "Loading: 2/3 (66%) complaints",
        "Loading: done (3)",
    ]
    assert "\r" not in out.getvalue()


def test_an_unknown_total_counts_up_even_on_a_terminal() -> None:
    out = Terminal()
    with show_progress("Purging", None, file=out) as advance:
        advance(500, "")
    assert out.getvalue().splitlines()[-1] == "Purging: done (500)"


def test_the_demo_reports_each_step(app) -> None:
    out = io.StringIO()
    with app.app_context(), show_progress("Loading the demo", STEPS, file=out) as advance:
        load_demo(seed=7, scale=0.02, progress=advance)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Loading the demo: 1/8 (12%) questionnaires"
    assert lines[-2:] == [
        "Loading the demo: 8/8 (100%) follow-ups",
        "Loading the demo: done (8)",
    ]
    assert len(lines) == STEPS + 1


def test_the_commands_report_progress_in_plain_lines(app, tmp_path) -> None:
    runner = app.test_cli_runner()
    rebuild = runner.invoke(args=["rollup", "rebuild"])
    assert rebuild.exit_code == 0, rebuild.output
    # One step per rollup table, each rebuilt by one INSERT ... SELECT.
    assert rebuild.output.splitlines()[:3] == [
        "Rebuilding: 1/2 (50%) hourly_figures",
        "Rebuilding: 2/2 (100%) hourly_dimension_figures",
        "Rebuilding: done (2)",
    ]

    csv_file = tmp_path / "events.csv"
    csv_file.write_text("external_id,type,at\nNOPE-1,acknowledged,2026-01-02T10:00:00+03:00\n")
    imported = runner.invoke(args=["import", "events", str(csv_file)])
    assert "Importing events.csv: done (1)" in imported.output

    purge = runner.invoke(args=["privacy", "purge", "--days", "100000"])
    assert purge.exit_code == 0, purge.output
    assert "Purging contact data: done (0)" in purge.output
