"""The Litestar shell every service is built from.

One place sets up what the three services share: the store and sealer, the
NATS link, problem+json errors, bearer authentication, CORS, health routes
and the OpenAPI 3.1 document with a browsable UI at ``/schema``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ControllerRouterHandler

from shared.access.roster import Members
from shared.access.tokens import ensure_operator_token
from shared.audit.signing import sign_pending, signing_key
from shared.eventlog.forgetting import FORGET_CHANNEL
from shared.eventlog.migrate import migrate, migrate_url, pending
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.fanout.bus import Bus
from shared.fanout.consumer import Consumer, Reaction
from shared.fanout.relay import Relay
from shared.readmodels.projections import Projection, ProjectionRunner
from shared.runtime.credentials import read_passwords, user_of
from shared.runtime.discovery import contracts
from shared.runtime.embedded import Servers, ensure_servers
from shared.runtime.nats_auth import RELAY_USER
from shared.runtime.settings import load_settings
from shared.runtime.tls import nats_tls
from shared.runtime.version import VERSION
from shared.runtime.waiting import pause
from shared.web.asyncapi import asyncapi_routes
from shared.web.body import StrictRequest
from shared.web.checkpoint_routes import checkpoint_key, latest_checkpoint
from shared.web.docs_ui import LocalSwaggerUI, OpenAPIJson
from shared.web.head import answer_head_as_get
from shared.web.health import healthz, readyz
from shared.web.idempotency import provide_once
from shared.web.kernel import Kernel, install_service, provide_kernel, provide_principal, provide_service
from shared.web.openapi import operation_id
from shared.web.params import TYPE_DECODERS
from shared.web.problems import EXCEPTION_HANDLERS
from shared.web.trace_routes import trace_event
from shared.web.tracing import trace_requests

ContextT = TypeVar("ContextT")
log = logging.getLogger(__name__)


async def _listen_for_forget(url: str, kernel: Kernel) -> asyncpg.Connection:
    """Drop cached keys and states of a forgotten person, whichever process forgot them."""
    conn = await asyncpg.connect(url)

    def forgotten(_conn: object, _pid: int, _channel: str, subject: str) -> None:
        kernel.store.forget_cached_key(uuid.UUID(subject))
        for hook in kernel.on_forget:
            hook()

    await conn.add_listener(FORGET_CHANNEL, forgotten)
    return conn


async def sign_checkpoints(store: EventStore, key: Ed25519PrivateKey, stop: asyncio.Event) -> None:
    """Every service signs new checkpoints with copro's key; duplicates are ignored."""
    while not stop.is_set():
        try:
            await sign_pending(store, key)
        except (*DATABASE_AWAY, asyncpg.PostgresError):
            pass  # the next round signs what this one could not
        except Exception:  # the signer never stops for good either
            log.exception("checkpoint signer: failed; trying again")
        await pause(stop, 2.0)


async def migrate_or_check(servers: Servers) -> None:
    """Migrate as the owner when this process has the owner's URL; otherwise (the app role, as under
    ``copro up``) refuse to start on a database that needs migrations."""
    if servers.owner_url is not None:
        await migrate_url(servers.owner_url, app_role=user_of(servers.database_url))
        return
    conn = await asyncpg.connect(servers.database_url)
    try:
        if await pending(conn):
            await migrate(conn)  # one role for everything (an older external set-up) still migrates itself
    except asyncpg.InsufficientPrivilegeError:
        raise RuntimeError("the database needs migrations, which the app role may not apply: run `copro migrate`"
                           " with COPRO_DATABASE_OWNER_URL set") from None
    finally:
        await conn.close()


def nats_links(servers: Servers, service: str, tls: ssl.SSLContext | None = None) -> tuple[Bus, Bus | None]:
    """The service's NATS connection (its own user) and the relay's (the relay user), from the credentials
    file; without one, a single connection as the URL says does both."""
    name = f"copro-{service}"
    if servers.nats_credentials is None:
        bus = Bus(servers.nats_url, name, tls=tls)
        return bus, bus
    known = read_passwords(servers.nats_credentials)
    if service not in known:
        raise RuntimeError(f"{servers.nats_credentials} has no NATS password for user {service!r}")
    bus = Bus(servers.nats_url, name, user=service, password=known[service], tls=tls)
    return bus, relay_link(servers, f"{name}-relay", tls)


def relay_link(servers: Servers, name: str, tls: ssl.SSLContext | None = None) -> Bus | None:
    """The relay's NATS connection, as the relay user (the only one that may publish events); None when the
    credentials file has no relay password (that process runs no relay); without a file, as the URL says."""
    if servers.nats_credentials is None:
        return Bus(servers.nats_url, name, tls=tls)
    relay = read_passwords(servers.nats_credentials).get(RELAY_USER)
    return None if relay is None else Bus(servers.nats_url, name, user=RELAY_USER, password=relay, tls=tls)


def service_app(
    service: str,
    route_handlers: Sequence[ControllerRouterHandler],
    *,
    description: str,
    start: Callable[[Kernel], Awaitable[ContextT]],
    projections: Sequence[Projection] = (),
    reactions: Sequence[Reaction[ContextT]] = (),
    event_types: Sequence[type[Any]] = (),
) -> Litestar:
    """A service's Litestar app: the kernel's routes and background work, plus the service's own.

    ``start`` builds the service's context (its caches and helpers) once the
    kernel is up; routes receive it as ``service`` and the kernel as ``kernel``.
    """
    settings = load_settings()

    async def fan_out(kernel: Kernel, context: ContextT) -> None:
        """Relay and consumers need NATS: start them once the first connections are made."""
        await kernel.bus.connected.wait()
        client = kernel.bus.client
        assert client is not None
        work = []
        if kernel.relay_bus is not None:
            await kernel.relay_bus.connected.wait()
            assert kernel.relay_bus.client is not None
            kernel.relay = Relay(kernel.store, kernel.relay_bus.client, stream=settings.nats_stream,
                                 replicas=settings.nats_replicas,
                                 standby=settings.log_roles_standby)
            work.append(kernel.relay.run(kernel.stop))
        kernel.consumers = [
            Consumer(kernel.store, client, name=f"{service}-{r.name}", subjects=r.subjects,
                     handler=r.make_handler(context), stream=settings.nats_stream)
            for r in reactions
        ]
        await asyncio.gather(*work, *(c.run(kernel.stop) for c in kernel.consumers))

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        servers = ensure_servers(settings)
        await migrate_or_check(servers)
        store = await EventStore.connect(servers.database_url)
        async with store.pool.acquire() as conn:
            await ensure_operator_token(conn, settings.operator_token_path)
        bus, relay_bus = nats_links(servers, service, nats_tls(settings))
        bus.start()
        if relay_bus is not None and relay_bus is not bus:
            relay_bus.start()
        members = Members(store)
        kernel = Kernel(name=service, settings=settings, store=store, bus=bus, relay_bus=relay_bus, members=members,
                        sealer=Sealer(servers.database_url, standby=settings.log_roles_standby),
                        signing_key=signing_key(settings.home))
        kernel.install(app.state)
        kernel.on_forget.append(members.cache.clear)
        kernel.run(kernel.sealer.run(kernel.stop), "sealer")
        kernel.run(sign_checkpoints(store, kernel.signing_key, kernel.stop), "signer")
        for projection in projections:
            kernel.run(ProjectionRunner(store, projection).run(kernel.stop), projection.name)
        forgetting = await _listen_for_forget(servers.database_url, kernel)
        context = await start(kernel)
        install_service(app.state, context)
        kernel.run(fan_out(kernel, context), "fan-out")
        # what start-up built lives as long as the process: out of the collector's way, which then runs
        # less often (a request allocates many short-lived objects, few cycles)
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        try:
            yield
        finally:
            await kernel.stop_work()
            await forgetting.close()
            if relay_bus is not None and relay_bus is not bus:
                await relay_bus.close()
            await bus.close()
            await store.close()

    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    app = Litestar(
        route_handlers=[healthz, readyz, PrometheusController, latest_checkpoint, checkpoint_key, trace_event,
                        *asyncapi_routes(service, VERSION, event_types, contracts()), *route_handlers],
        middleware=[trace_requests(f"copro-{service}")],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=StrictRequest,
        type_decoders=TYPE_DECODERS,
        dependencies={"principal": Provide(provide_principal), "kernel": Provide(provide_kernel, sync_to_thread=False),
                      "service": Provide(provide_service, sync_to_thread=False), "once": Provide(provide_once)},
        cors_config=cors,
        openapi_config=OpenAPIConfig(
            title=f"copro {service}",
            version=VERSION,
            description=description,
            path="/schema",
            render_plugins=[LocalSwaggerUI(), OpenAPIJson()],
            operation_id_creator=operation_id,
        ),
        debug=False,
        logging_config=None,  # the process's logging is copro's (shared/runtime/logs.py), not Litestar's default
    )
    app.asgi_handler = answer_head_as_get(app.asgi_handler)
    return app
