"""The Litestar shell every service is built from.

One place sets up what the three services share: the store and sealer, the
NATS link, problem+json errors, bearer authentication, CORS, health routes
and the OpenAPI 3.1 document with a browsable UI at ``/schema``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler

from shared.access.tokens import ensure_operator_token, provide_principal
from shared.audit.signing import sign_pending, signing_key
from shared.eventlog.forgetting import FORGET_CHANNEL
from shared.eventlog.migrate import migrate_url
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import DATABASE_AWAY, EventStore
from shared.fanout.bus import Bus
from shared.fanout.consumer import Subscribe, Subscription
from shared.fanout.relay import Relay
from shared.readmodels.projections import Projection, ProjectionRunner
from shared.runtime.embedded import ensure_servers
from shared.runtime.settings import load_settings
from shared.runtime.waiting import pause
from shared.web.asyncapi import asyncapi_route
from shared.web.checkpoint_routes import checkpoint_key, latest_checkpoint
from shared.web.health import healthz, readyz
from shared.web.problems import EXCEPTION_HANDLERS

StartHook = Callable[[Litestar], Awaitable[None]]

VERSION = "0.1.0"


async def _listen_for_forget(url: str, app: Litestar) -> asyncpg.Connection:
    """Drop cached keys and states of a forgotten person, whichever process forgot them."""
    conn = await asyncpg.connect(url)

    def forgotten(_conn: object, _pid: int, _channel: str, subject: str) -> None:
        app.state.store.forget_cached_key(uuid.UUID(subject))
        for hook in app.state.on_forget:
            hook()

    await conn.add_listener(FORGET_CHANNEL, forgotten)
    return conn


async def _sign_checkpoints(store: EventStore, key: Ed25519PrivateKey, stop: asyncio.Event) -> None:
    """Every service signs new checkpoints with copro's key; duplicates are ignored."""
    while not stop.is_set():
        with contextlib.suppress(*DATABASE_AWAY, asyncpg.PostgresError):
            await sign_pending(store, key)
        await pause(stop, 2.0)


def service_app(
    service: str,
    route_handlers: Sequence[ControllerRouterHandler],
    *,
    description: str,
    on_start: Sequence[StartHook] = (),
    projections: Sequence[Projection] = (),
    subscriptions: Sequence[Subscribe] = (),
    event_types: Sequence[type[Any]] = (),
) -> Litestar:
    settings = load_settings()

    async def fan_out(app: Litestar, store: EventStore, bus: Bus, stop: asyncio.Event) -> None:
        """Relay and consumers need NATS: start them once the first connection is made."""
        await bus.connected.wait()
        assert bus.client is not None
        relay = Relay(store, bus.client, stream=settings.nats_stream, replicas=settings.nats_replicas,
                      source=f"/copro/{service}")
        consumers = [
            Subscription(store, bus.client, name=f"{service}-{s.name}", subjects=s.subjects,
                         handler=s.make_handler(app.state), stream=settings.nats_stream)
            for s in subscriptions
        ]
        app.state.update(relay=relay, consumers=consumers)
        await asyncio.gather(relay.run(stop), *(c.run(stop) for c in consumers))

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        servers = ensure_servers(settings)
        await migrate_url(servers.database_url)
        store = await EventStore.connect(servers.database_url)
        async with store.pool.acquire() as conn:
            await ensure_operator_token(conn, settings.operator_token_path)
        bus = Bus(servers.nats_url, f"copro-{service}")
        bus.start()
        stop = asyncio.Event()
        sealer = Sealer(servers.database_url)
        app.state.update(service=service, settings=settings, store=store, bus=bus, sealer=sealer,
                         stop=stop, consumers=[], signing_key=signing_key(settings.home))
        tasks = [
            asyncio.create_task(sealer.run(stop), name="sealer"),
            asyncio.create_task(_sign_checkpoints(store, app.state.signing_key, stop), name="signer"),
            asyncio.create_task(fan_out(app, store, bus, stop), name="fan-out"),
            *(asyncio.create_task(ProjectionRunner(store, p).run(stop), name=p.name) for p in projections),
        ]
        app.state.tasks = tasks
        app.state.on_forget = []
        app.state.on_stop = []
        forgetting = await _listen_for_forget(servers.database_url, app)
        for hook in on_start:
            await hook(app)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stop_hook in app.state.on_stop:
                await stop_hook()
            await forgetting.close()
            await bus.close()
            await store.close()

    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    prometheus = PrometheusConfig(app_name=f"copro-{service}", prefix="copro_http", group_path=True)
    return Litestar(
        route_handlers=[healthz, readyz, PrometheusController, latest_checkpoint, checkpoint_key,
                        asyncapi_route(service, VERSION, event_types), *route_handlers],
        middleware=[prometheus.middleware],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        dependencies={"principal": Provide(provide_principal)},
        cors_config=cors,
        openapi_config=OpenAPIConfig(
            title=f"copro {service}",
            version=VERSION,
            description=description,
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
    )

