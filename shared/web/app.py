"""The Litestar shell every service is built from.

One place sets up what the three services share: the store and sealer, the
NATS link, problem+json errors, bearer authentication, CORS, health routes
and the OpenAPI 3.1 document with a browsable UI at ``/schema``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler

from shared.bus import Bus
from shared.migrate import migrate_url
from shared.runtime import ensure_servers
from shared.sealer import Sealer
from shared.settings import load_settings
from shared.store import EventStore
from shared.web.auth import ensure_operator_token, provide_principal
from shared.web.health import healthz, readyz
from shared.web.problems import EXCEPTION_HANDLERS

StartHook = Callable[[Litestar], Awaitable[None]]

VERSION = "0.1.0"


def service_app(
    service: str,
    route_handlers: Sequence[ControllerRouterHandler],
    *,
    description: str,
    on_start: Sequence[StartHook] = (),
) -> Litestar:
    settings = load_settings()

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
        tasks = [asyncio.create_task(sealer.run(stop), name="sealer")]
        app.state.update(service=service, settings=settings, store=store, bus=bus, sealer=sealer,
                         stop=stop, tasks=tasks)
        for hook in on_start:
            await hook(app)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await bus.close()
            await store.close()

    cors = CORSConfig(allow_origins=list(settings.cors_origins)) if settings.cors_origins else None
    return Litestar(
        route_handlers=[healthz, readyz, *route_handlers],
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

