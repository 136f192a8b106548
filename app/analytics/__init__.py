"""Metric definitions (pure functions) and SQL aggregate queries.

Knows no Flask request and no Dash.
"""
