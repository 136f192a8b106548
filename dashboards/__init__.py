"""Dash dashboards mounted on the Flask server at /dashboards/."""

from __future__ import annotations

from flask import Flask


def init_dashboards(app: Flask) -> None:
    """Build the Dash app on ``app`` (filled in by the dashboards work)."""
