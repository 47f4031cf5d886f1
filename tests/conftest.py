"""One embedded PostgreSQL and NATS per test run, one fresh database per test module.

The servers live under ``.copro-test`` (or the URLs in COPRO_DATABASE_URL /
COPRO_NATS_URL when those are set) and are reused by the next run. Each
module gets its own database cloned from a migrated template, so modules
never see each other's events and the suite stays fast.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import nats
import pytest
from nats.aio.client import Client

from shared.eventlog.locks import Lock
from shared.eventlog.migrate import migrate_url, migration_files
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats, Servers, ensure_servers, free_port, stop_servers
from shared.runtime.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def settings() -> Settings:
    os.environ.setdefault("COPRO_HOME", str(ROOT / ".copro-test"))
    os.environ.setdefault("COPRO_EMBEDDED_PG_PORT", "54339")
    os.environ.setdefault("COPRO_EMBEDDED_NATS_PORT", "42239")
    return load_settings()


@pytest.fixture(scope="session")
def servers(settings: Settings) -> Iterator[Servers]:
    found = ensure_servers(settings)
    yield found
    if os.environ.get("CI") and found.started:
        stop_servers(settings, found.started)


def _with_db(url: str, name: str) -> str:
    return urlsplit(url)._replace(path="/" + name).geturl()


@pytest.fixture(scope="session")
async def template_db(servers: Servers) -> str:
    digest = hashlib.sha256("".join(sql for _, _, sql in migration_files()).encode()).hexdigest()[:12]
    name = f"copro_template_{digest}"
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute("SELECT pg_advisory_lock($1)", Lock.TEST_TEMPLATE)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
            await migrate_url(_with_db(servers.database_url, name))
        await admin.execute("SELECT pg_advisory_unlock($1)", Lock.TEST_TEMPLATE)
    finally:
        await admin.close()
    return name


async def fresh_database(servers: Servers, template: str, label: str) -> str:
    name = f"t_{re.sub(r'[^a-z0-9]', '_', label.lower())[-30:]}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return _with_db(servers.database_url, name)


async def drop_database(servers: Servers, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def database_url(servers: Servers, template_db: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    url = await fresh_database(servers, template_db, request.module.__name__)
    yield url
    await drop_database(servers, url)


@pytest.fixture(scope="module")
async def store(database_url: str) -> AsyncIterator[EventStore]:
    """A store on the module's database, with a sealer running beside it."""
    event_store = await EventStore.connect(database_url, min_size=2, max_size=20)
    stop = asyncio.Event()
    sealer = Sealer(database_url)
    task = asyncio.create_task(sealer.run(stop))
    yield event_store
    stop.set()
    await task
    await event_store.close()


async def wait_sealed(store: EventStore, count: int, timeout: float = 10.0) -> None:
    """Wait until the log holds ``count`` sealed events."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await store.head_position() < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {await store.head_position()} of {count} events sealed in {timeout}s")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A NATS server of the module's own, which a test may stop and start again."""
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def nats_client(own_nats: EmbeddedNats) -> AsyncIterator[Client]:
    client = await nats.connect(own_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    yield client
    await client.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)
