"""What every benchmark needs: a fresh database on the embedded (or configured) PostgreSQL,
dropped afterwards, and a NATS server of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from shared.eventlog.migrate import migrate_url
from shared.runtime.credentials import user_of
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from shared.runtime.pg_roles import create_database, on_database
from shared.runtime.processes import answers_ok
from shared.runtime.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def fresh_database(label: str) -> AsyncIterator[str]:
    """The URL of a new, migrated database; it is dropped on the way out, and the embedded
    PostgreSQL is stopped again if this call started it (benchmarks bring their own NATS)."""
    settings = load_settings()
    app_url, started = settings.database_url, None
    owner_url = admin_url = settings.database_owner_url or app_url
    if app_url is None:
        embedded = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
        started = embedded if embedded.start() else None
        app_url, owner_url, admin_url = embedded.url, embedded.owner_url, embedded.admin_url
    assert app_url is not None and owner_url is not None and admin_url is not None
    name = f"copro_{label}_{uuid.uuid4().hex[:8]}"
    try:
        await create_database(admin_url, name, user_of(owner_url) if owner_url != admin_url else None)
        admin = await asyncpg.connect(admin_url)
        try:
            await migrate_url(on_database(owner_url, name), app_role=user_of(app_url))
            yield on_database(app_url, name)  # the services' role, as in production
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


def owner_url(url: str) -> str:
    """The database ``url`` names, logged in as its owner (what a replay's scratch schema and VACUUM need)."""
    settings = load_settings()
    owner = settings.database_owner_url or settings.database_url
    if owner is None:
        owner = EmbeddedPostgres(settings.home, settings.embedded_pg_port).owner_url
    return on_database(owner, urlsplit(url).path.lstrip("/"))


async def vacuum(url: str) -> None:
    """VACUUM ANALYZE the database ``url`` names, as its owner: a history at rest, as autovacuum leaves it."""
    conn = await asyncpg.connect(owner_url(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


@contextlib.contextmanager
def system(url: str, nats: EmbeddedNats, label: str) -> Iterator[tuple[dict[str, str], Path]]:
    """The whole system as ``copro up`` starts it (the log process, the three services, the web app), on the
    database ``url`` and the NATS server ``nats``, on free ports; (base URL by process name, its COPRO_HOME).
    The supervisor is stopped, with everything it started, on the way out."""
    home = Path(tempfile.mkdtemp(prefix=f"copro-bench-{label}-"))
    names = ("decisions", "scheduling", "publishing", "log", "web")
    ports = {name: free_port() for name in names}
    env = dict(os.environ, COPRO_DATABASE_URL=url, COPRO_NATS_URL=nats.url, COPRO_NATS_CREDENTIALS=str(nats.credentials),
               COPRO_HOME=str(home), COPRO_LOG_LEVEL="warning",
               **{f"COPRO_{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.pop("COPRO_DATABASE_OWNER_URL", None)
    up = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "up"], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL)
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        deadline = time.monotonic() + 120
        while not all(answers_ok(base + ("/healthz" if name == "web" else "/readyz"), timeout=2) for name, base in bases.items()):
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"copro up did not become ready (exit {up.poll()})")
            time.sleep(0.2)
        yield bases, home
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()


