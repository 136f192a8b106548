"""The questionnaire format, below every part that reads it.

``documents``: what a questionnaire definition may hold and how it is checked (YAML and JSON in,
one normalised dictionary out; the shipped templates in survey_templates/ are written in it);
``expressions``: the safe ``show_if`` language, checked here and evaluated on the respondent's
answers; ``versions``: which published versions asked a question on the same scale.

The designer (``app.design``) writes definitions, the respondent's pages (``app.respond``) show
them, the analytics and the dashboards read their scales: all of them import this package and
none of them each other for it.
"""
