"""``copro up``, ``serve``, ``status``, ``migrate``: the servers and the three services.

Services are started by import string (``services.<name>.app:create_app``),
so the kernel never imports a service.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from shared.eventlog.migrate import migrate_url
from shared.runtime.credentials import masked, user_of
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres, Servers, ensure_servers, stop_servers
from shared.runtime.logs import log_config
from shared.runtime.processes import answers_ok
from shared.runtime.protocol import GuardedHttpToolsProtocol
from shared.runtime.settings import SERVICE_NAMES, Settings
from shared.runtime.supervisor import AlreadyRunning, HomeLock, Supervisor, become_subreaper, follow_supervisor


def prepare(settings: Settings) -> Servers:
    """Start what is missing, migrate (as the owner role), and make the operator token (as the app role)."""
    import asyncpg

    from shared.access.tokens import ensure_operator_token

    servers = ensure_servers(settings)

    async def setup() -> list[str]:
        applied = await migrate_url(servers.owner_url or servers.database_url, app_role=user_of(servers.database_url))
        conn = await asyncpg.connect(servers.database_url)
        try:
            await ensure_operator_token(conn, settings.operator_token_path)
        finally:
            await conn.close()
        return applied

    try:
        applied = asyncio.run(setup())
    except BaseException:
        stop_servers(settings, servers.started)  # leave nothing running that this call started
        raise
    if applied:
        print(f"migrations applied: {', '.join(applied)}")
    return servers


def service_env(settings: Settings, servers: Servers) -> dict[str, str]:
    """The services' environment: the app role's URL and the NATS users' file, never the owner's URL."""
    env = dict(os.environ, COPRO_DATABASE_URL=servers.database_url, COPRO_NATS_URL=servers.nats_url,
               COPRO_HOME=str(settings.home), COPRO_LOG_ROLES_STANDBY=str(STANDBY))
    env.pop("COPRO_DATABASE_OWNER_URL", None)
    if servers.nats_credentials is not None:
        env["COPRO_NATS_CREDENTIALS"] = str(servers.nats_credentials)
    return env


PROCESSES = ("log", *SERVICE_NAMES, "web")
"""What ``copro up`` runs, each in its own process: the log's sealer and relay, the three services and the
members' web app."""

STANDBY = 3.0
"""Under ``copro up`` a service takes the sealer's or relay's lock only after it stayed free this long."""

APPS = {"web": "web.app:create_app", "log": "shared.web.log_process:create_app"}


def _port(settings: Settings, name: str) -> int:
    return {"web": settings.web_port, "log": settings.log_port}.get(name) or settings.ports[name]


def _base(settings: Settings, name: str) -> str:
    return f"http://{settings.host}:{_port(settings, name)}"


def cmd_up(settings: Settings) -> int:
    settings.home.mkdir(parents=True, exist_ok=True)
    lock = HomeLock(settings.home)
    try:
        lock.take(settings, PROCESSES)
    except AlreadyRunning as refused:
        print(f"copro: {refused}", file=sys.stderr)
        return 2
    try:
        return _up(settings, lock)
    finally:
        lock.release()


def _up(settings: Settings, lock: HomeLock) -> int:
    become_subreaper()
    servers = prepare(settings)
    supervisor = Supervisor(settings, service_env(settings, servers), PROCESSES, lock)
    supervisor.started_servers.update(servers.started)
    stopping = False

    def shutdown(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        supervisor.start()
        deadline = time.monotonic() + 60
        pending = set(PROCESSES)
        while pending and not stopping and time.monotonic() < deadline:
            if exited := supervisor.exited_during_start():
                print(f"copro: {', '.join(exited)} exited during start-up", file=sys.stderr)
                return 1
            pending = {name for name in pending if not answers_ok(f"{_base(settings, name)}/healthz")}
            time.sleep(0.2)
        if pending and not stopping:
            print(f"copro: not healthy after 60s: {', '.join(sorted(pending))}", file=sys.stderr)
            return 1
        print("copro is up:")
        print(f"  web app     {settings.web_base}   (people sign in with a link: copro invite MEMBER_ID)")
        for name in SERVICE_NAMES:
            base = f"http://{settings.host}:{settings.ports[name]}"
            print(f"  {name:<11} {base}   (API docs {base}/schema)")
        print(f"  log         {_base(settings, 'log')}   (sealer, relay, checkpoint signer; /readyz, /metrics)")
        print(f"  database    {masked(servers.database_url)}")
        print(f"  nats        {masked(servers.nats_url)}")
        if settings.database_url is None or servers.nats_credentials is not None:
            print(f"  passwords in {settings.home}/postgres-passwords.json and nats-passwords.json (mode 0600)")
        print(f"  operator token in {settings.operator_token_path}")
        print("A process or server that stops is started again. Press Ctrl-C to stop.", flush=True)
        while not stopping:
            supervisor.tick()
            time.sleep(0.1)
    finally:
        stopped_at = time.monotonic()
        supervisor.stop(signal.SIGTERM)
        print(f"services stopped ({time.monotonic() - stopped_at:.1f}s)", flush=True)
        if supervisor.started_servers:
            stop_servers(settings, tuple(supervisor.started_servers))
        print("copro stopped.", flush=True)
    return 0


def cmd_serve(settings: Settings, service: str, port: int | None, workers: int) -> int:
    import uvicorn

    follow_supervisor()

    uvicorn.run(
        APPS.get(service, f"services.{service}.app:create_app"),
        factory=True,
        host=settings.host,
        port=port or _port(settings, service),
        workers=workers,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,  # httptools, with a deadline for request headers
        log_level=os.environ.get("COPRO_LOG_LEVEL", "info"),
        log_config=log_config(os.environ.get("COPRO_LOG_LEVEL", "info")),
        access_log=False,  # copro's own access log carries the request id (shared/web/tracing.py)
        # slow or idle clients cannot hold the service's sockets
        timeout_keep_alive=5,
        limit_concurrency=settings.max_connections,
        h11_max_incomplete_event_size=16 * 1024,
        # HTTPS when a certificate is configured (else TLS ends at the load balancer or mesh in front)
        ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
        ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
    )
    return 0


def cmd_status(settings: Settings) -> int:
    pg = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
    nats = EmbeddedNats(settings.home, settings.embedded_nats_port)
    db = masked(settings.database_url) if settings.database_url else (
        f"{pg.display_url} (embedded, {'running' if pg.running() else 'stopped'}, scram-sha-256)")
    bus = masked(settings.nats_url) if settings.nats_url else (
        f"{nats.url} (embedded, {'running' if nats.running() else 'stopped'}, users required)")
    print(f"home        {settings.home}")
    print(f"database    {db}")
    print(f"nats        {bus}")
    all_up = True
    for name in SERVICE_NAMES:
        base = f"http://{settings.host}:{settings.ports[name]}"
        up = answers_ok(base + "/healthz")
        ready = up and answers_ok(base + "/readyz")
        all_up = all_up and ready
        print(f"{name:<11} {base}  {'ready' if ready else 'up, not ready' if up else 'down'}")
    log_ready = answers_ok(_base(settings, "log") + "/readyz")
    print(f"{'log':<11} {_base(settings, 'log')}  {'ready' if log_ready else 'down or not ready'}")
    web = answers_ok(_base(settings, "web") + "/healthz")
    print(f"{'web':<11} {_base(settings, 'web')}  {'up' if web else 'down'}")
    return 0 if all_up and log_ready and web else 3


def cmd_migrate(settings: Settings) -> int:
    servers = prepare(settings)
    print(f"database {masked(servers.database_url)} is up to date")
    return 0
