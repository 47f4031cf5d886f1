"""What every benchmark needs: a fresh database on the embedded (or configured) PostgreSQL,
dropped afterwards, and a NATS server of its own."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from shared.eventlog.migrate import migrate_url
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from shared.runtime.settings import load_settings


@contextlib.asynccontextmanager
async def fresh_database(label: str) -> AsyncIterator[str]:
    """The URL of a new, migrated database; it is dropped on the way out, and the embedded
    PostgreSQL is stopped again if this call started it (benchmarks bring their own NATS)."""
    settings = load_settings()
    server_url, started = settings.database_url, None
    if server_url is None:
        embedded = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
        started = embedded if embedded.start() else None
        server_url = embedded.url
    name = f"copro_{label}_{uuid.uuid4().hex[:8]}"
    url = urlsplit(server_url)._replace(path="/" + name).geturl()
    try:
        admin = await asyncpg.connect(server_url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await migrate_url(url)
            yield url
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    finally:
        if started is not None:
            started.stop()


@contextlib.contextmanager
def own_nats() -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(Path(tempfile.mkdtemp(prefix="copro-bench-nats-")), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
