"""Helpers of the test suite: plain functions and classes, no fixtures, no tests.

Fixtures are in the conftest.py files (tests/conftest.py for every area: ``backend``,
``make_app``, ``app``, ``client``, ``api``, ``admin_client``, ``api_key``, ``smtp_server``,
``live_server``, ``compiled_catalogues``). Test modules import helpers from here only.

- ``database``: the backends (``PG_URL``, ``BACKENDS``), ``base_config``.
- ``factories``: rows made directly: ``make_user``, ``make_complaint`` (the one way a test builds
  a complaint row; the datasets call it too), ``node`` (a unit or category by code).
- ``web``: ``csrf_token_from``, ``login``. ``server``: ``serve``, ``LiveServer``, ``free_port``.
- ``smtp``: SMTP sinks (``SmtpSink`` of the ``smtp_server`` fixture, ``timed_smtp_server``).
- ``api``: the REST API client (``Api``, ``admin_api``, ``make_key``), ``seed_reference``,
  ``complaint_body``, the error shape, hostile values, the OpenAPI ``Contract``.
- ``datasets``: ``reports`` (``Data``, ``build_january``), ``analytics`` (``Builder``,
  ``build_january`` with hand counts), ``generated`` (the random analytics dataset ``build``),
  ``survey`` (``SurveyData``).
- ``distribution``: questionnaire, rules and planned invitations for the planner/dispatcher tests.
- ``respond``: the respondent's side (``invite``, ``open_link``, ``post_survey``, ``form_fields``,
  ``GOOD_ANSWERS``). ``browser``: Chromium, watched pages. ``catalogues``: compiling them.
- ``privacy``: the people of the privacy tests.
- Processes (reliability tests and tests/bench): ``processes``, ``kill``, ``seed``, ``load``,
  ``bench``.
"""
