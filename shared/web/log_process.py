"""The log's own process: the sealer, the relay and the checkpoint signer, away from the services.

Every service process can run these roles (a session advisory lock elects one
leader each), and in a deployment of replicas they do. On one machine their
work — a seal transaction and a NATS publish for every event — would share a
service's single Python core with its requests, so ``copro up`` runs them here
and starts the services as standbys (``COPRO_LOG_ROLES_STANDBY``): a service takes
a role only when its lock has been free for a while, that is when this process is
down, and gives the work back when it has to reconnect. ``/healthz``, ``/readyz``
and ``/metrics`` make it as observable as a service.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.di import Provide
from litestar.plugins.prometheus import PrometheusController

from shared.access.roster import Members
from shared.audit.signing import signing_key
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.fanout.relay import Relay
from shared.runtime.embedded import ensure_servers
from shared.runtime.settings import load_settings
from shared.runtime.tls import nats_tls
from shared.web.health import healthz, readyz
from shared.web.kernel import Kernel, provide_kernel
from shared.web.plugin import migrate_or_check, relay_link, sign_checkpoints
from shared.web.problems import EXCEPTION_HANDLERS

NAME = "log"


def create_app() -> Litestar:
    settings = load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        servers = ensure_servers(settings)
        await migrate_or_check(servers)
        store = await EventStore.connect(servers.database_url, min_size=1, max_size=4)
        bus = relay_link(servers, "copro-log-relay", nats_tls(settings))
        if bus is None:
            raise RuntimeError(f"{servers.nats_credentials} has no NATS password for the relay")
        bus.start()
        kernel = Kernel(name=NAME, settings=settings, store=store, bus=bus, relay_bus=bus, members=Members(store),
                        sealer=Sealer(servers.database_url), signing_key=signing_key(settings.home))
        kernel.install(app.state)
        kernel.run(kernel.sealer.run(kernel.stop), "sealer")
        kernel.run(sign_checkpoints(store, kernel.signing_key, kernel.stop), "signer")

        async def relay() -> None:
            await bus.connected.wait()
            assert bus.client is not None
            kernel.relay = Relay(store, bus.client, stream=settings.nats_stream, replicas=settings.nats_replicas)
            await kernel.relay.run(kernel.stop)

        kernel.run(relay(), "relay")
        try:
            yield
        finally:
            await kernel.stop_work()
            await bus.close()
            await store.close()

    return Litestar(
        route_handlers=[healthz, readyz, PrometheusController],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        dependencies={"kernel": Provide(provide_kernel, sync_to_thread=False)},
        openapi_config=None,
        debug=False,
        logging_config=None,
    )
