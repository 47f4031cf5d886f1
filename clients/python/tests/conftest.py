"""The repository's fixtures (one embedded PostgreSQL and NATS per run, a database per module) for the client's
tests: the client itself talks to copro only over HTTP, NATS and webhooks."""

from tests.conftest import database_url, own_nats, servers, settings, template_db  # noqa: F401
