"""Intake: the only way complaints enter Memnun, and how their status changes are recorded.

``services`` holds the rules (units, categories, complaints, events), ``batch`` takes many
complaints in one transaction, ``csv_import`` reads spreadsheets; the REST API (``app.api``) and
the CSV upload page (``views``) call them, so both apply the same rules.
"""
