"""Metric definitions (pure functions) and the SQL that counts what they need.

Knows no Flask request and no Dash. One engine serves the dashboards, the metrics API, the
review pack and the alerts:

- what is counted and how it is grouped: ``filters``, ``periods``, ``splits``, ``tree``;
- counting: ``aggregates`` (the SQL expressions and totals), ``tallies`` (totals by filters
  and split), ``hourly`` (reading the hourly rollup that ``rollup`` keeps);
- from counts to figures: ``metrics`` (the formulas), ``figures`` (``Score``), ``changes``
  (against the previous period), ``suppression`` (small groups);
- what people see: ``overview`` (the overview and its trend), ``breakdown`` (figures per group,
  for the dashboards, the API and the pack), ``linkage``, ``segments``, ``survey``,
  ``operations``, ``drilldown``, ``targets``; ``review`` (the pack's and the alerts' extras).
"""
