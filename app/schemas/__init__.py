"""Request schemas: what the REST API, the CSV import and the admin pages accept.

These Pydantic models are the contract: they validate every request, and the OpenAPI document is
generated from them, so the two cannot drift apart. They check shape and format only; whether a
code exists or a transition makes sense is the services' business (it needs the database).

Shared by ``app.api`` (the REST API and its OpenAPI document), ``app.intake`` (the services and
the CSV import take the same models) and ``app.distribution`` (a rule saved on the admin page is
checked as the API checks it); so they live below all three, as CTFd keeps its ``schemas/``
below its ``api/v1``.

- ``fields``: the field types and validators every model uses (codes, times, e-mail, text that
  PostgreSQL can store);
- ``complaints``: units, categories, complainants, complaints, batches and events;
- ``queries``: the query strings of the listings and the metrics;
- ``rules``: distribution rules.
"""
