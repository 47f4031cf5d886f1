"""One embedded PostgreSQL and NATS per test run, one fresh database per test module.

The servers live under ``.copro-test`` (or the URLs in COPRO_DATABASE_URL /
COPRO_NATS_URL when those are set) and are reused by the next run. Each
module gets its own database cloned from a migrated template, so modules
never see each other's events and the suite stays fast.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
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
from shared.runtime.credentials import user_of
from shared.runtime.embedded import EmbeddedNats, Servers, ensure_servers, free_port, stop_servers
from shared.runtime.pg_roles import create_database, on_database
from shared.runtime.processes import alive, port_open
from shared.runtime.settings import Settings, load_settings

# The tests' webhook receivers listen on loopback: private targets are allowed in every service the tests
# start (in this process and in the ones it spawns), except where a test turns them off to see them refused.
os.environ.setdefault("COPRO_WEBHOOK_PRIVATE_TARGETS", "1")

ROOT = Path(__file__).resolve().parent.parent


def _listening(home: Path, server: str) -> int | None:
    """The port this home's embedded server listens on while it runs (its own files say), else None."""
    try:
        if server == "postgres":
            lines = (home / "postgres" / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        else:
            pid = int((home / "nats" / "nats-server.pid").read_text().strip())
            port = int(json.loads((home / "nats" / "nats-server.conf").read_text())["listen"].rsplit(":", 1)[1])
    except (OSError, ValueError, IndexError, KeyError):
        return None
    return port if alive(pid) else None


def _test_port(variable: str, server: str, preferred: int, home: Path) -> None:
    """The port of an embedded server for this checkout's tests, unless ``variable`` gives one: the one this
    home's server listens on when an earlier run here left it running, else ``preferred`` when it is free,
    else any free port (a server another checkout's run left on ``preferred`` is not this run's: left alone)."""
    if not os.environ.get(variable):
        port = _listening(home, server) or (preferred if not port_open(preferred) else free_port())
        os.environ[variable] = str(port)


@pytest.fixture(scope="session")
def settings() -> Settings:
    os.environ.setdefault("COPRO_HOME", str(ROOT / ".copro-test"))
    home = Path(os.environ["COPRO_HOME"])
    _test_port("COPRO_EMBEDDED_PG_PORT", "postgres", 54339, home)
    _test_port("COPRO_EMBEDDED_NATS_PORT", "nats", 42239, home)
    return load_settings()


@pytest.fixture(scope="session")
def servers(settings: Settings) -> Iterator[Servers]:
    found = ensure_servers(settings)
    yield found
    if os.environ.get("CI") and found.started:
        stop_servers(settings, found.started)


def _admin_url(servers: Servers) -> str:
    """Who creates and drops the test databases: the embedded superuser, or the owner of an external server."""
    return servers.admin_url or servers.owner_url or servers.database_url


def _owner_url(servers: Servers) -> str:
    return servers.owner_url or servers.database_url


@pytest.fixture(scope="session")
async def template_db(servers: Servers) -> str:
    """A database migrated by the owner role, the app role given its grants: each module's is a copy."""
    digest = hashlib.sha256("".join(sql for _, _, sql in migration_files()).encode()).hexdigest()[:12]
    name = f"copro_template_{digest}"
    admin = await asyncpg.connect(_admin_url(servers))
    try:
        await admin.execute("SELECT pg_advisory_lock($1)", Lock.TEST_TEMPLATE)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            owner = user_of(_owner_url(servers))
            await create_database(_admin_url(servers), name, owner if owner != user_of(_admin_url(servers)) else None)
            await migrate_url(on_database(_owner_url(servers), name), app_role=user_of(servers.database_url))
        await admin.execute("SELECT pg_advisory_unlock($1)", Lock.TEST_TEMPLATE)
    finally:
        await admin.close()
    return name


async def fresh_database(servers: Servers, template: str, label: str) -> str:
    """A copy of the template; its URL logs in as the app role, as the services do."""
    name = f"t_{re.sub(r'[^a-z0-9]', '_', label.lower())[-30:]}_{uuid.uuid4().hex[:8]}"
    owner = user_of(_owner_url(servers))
    await create_database(_admin_url(servers), name, owner if owner != user_of(_admin_url(servers)) else None, template)
    return on_database(servers.database_url, name)


def owner_url_for(servers: Servers, url: str) -> str:
    """The owner role's URL to the database ``url`` names (for set-up that the app role may not do)."""
    return on_database(_owner_url(servers), urlsplit(url).path.lstrip("/"))


async def drop_database(servers: Servers, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(_admin_url(servers))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def database_url(servers: Servers, template_db: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The module's own database, as the app role."""
    url = await fresh_database(servers, template_db, request.module.__name__)
    yield url
    await drop_database(servers, url)


@pytest.fixture(scope="module")
def owner_database_url(servers: Servers, database_url: str) -> str:
    """The module's database as the owner role (migrations, and what only the owner may do)."""
    return owner_url_for(servers, database_url)


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


@pytest.fixture(scope="module")
async def owner_store(owner_database_url: str) -> AsyncIterator[EventStore]:
    """The module's log as the owner role: what ``copro audit replay`` uses (a scratch schema of its own)."""
    event_store = await EventStore.connect(owner_database_url, min_size=1, max_size=4)
    yield event_store
    await event_store.close()


async def wait_sealed(store: EventStore, count: int, timeout: float = 60.0) -> None:
    """Wait until the log holds ``count`` sealed events."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await store.head_position() < count:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {await store.head_position()} of {count} events sealed in {timeout}s")
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """A NATS server of the module's own (users required), which a test may stop and start again."""
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def nats_client(own_nats: EmbeddedNats) -> AsyncIterator[Client]:
    """The test's own NATS client, as the admin user (set-up and inspection; services use their own users)."""
    client = await nats.connect(own_nats.admin_url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    yield client
    await client.close()


async def until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for a condition that needs no I/O to check (what a receiver got, a list filled)."""
    for _ in range(int(seconds * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.05)
