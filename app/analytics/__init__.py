"""Metric definitions (pure functions) and SQL aggregate queries.

Knows no Flask request and no Dash. ``metrics``: the formulas; ``queries``: the overview and its
trend; ``filters``, ``periods``, ``splits``, ``tree``: what is counted and how it is grouped;
``breakdown``: figures per group with small-group suppression; ``linkage``: complaints against
satisfaction; ``segments``; ``survey``: per questionnaire and question; ``operations``: the
invitation funnel; ``drilldown``: the unit -> category tree; ``targets``.
(``grouped`` serves the metrics API; ``review`` the management-review pack and alerts.)
"""
