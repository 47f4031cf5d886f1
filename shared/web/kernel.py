"""What a running service process shares with its routes, consumers and jobs: one typed object.

Routes receive it as the dependency ``kernel: Kernel`` and their service's own
context (caches, directory, delivery) as ``service: <its type>``, instead of
looking names up on ``app.state``: a missing or misspelt name fails mypy, not
a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Request
from litestar.datastructures import State

from shared.access.principals import Principal
from shared.access.roster import Members
from shared.access.tokens import resolve
from shared.eventlog import trace
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.eventlog.trace import system_actor
from shared.fanout.bus import Bus
from shared.fanout.consumer import Consumer
from shared.fanout.relay import Relay
from shared.runtime.settings import Settings

T = TypeVar("T")

_KERNEL = "copro_kernel"
_SERVICE = "copro_service"


@dataclass
class Kernel:
    """The event log, the NATS link and the background work of one service process."""

    name: str
    settings: Settings
    store: EventStore
    bus: Bus
    """The service's own NATS user: its consumers."""
    members: Members
    sealer: Sealer
    signing_key: Ed25519PrivateKey
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    relay_bus: Bus | None = None
    """The relay's NATS user, the only one that may publish events; None: this process runs no relay."""
    relay: Relay | None = None
    consumers: list[Consumer] = field(default_factory=list)
    on_forget: list[Callable[[], None]] = field(default_factory=list)
    """Run when any process forgets a person: drop every cached state that may hold their data."""
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Background work that lives as long as the process and is cancelled at shutdown."""
        self.tasks.append(asyncio.create_task(work, name=name))

    async def stop_work(self) -> None:
        """At shutdown: background work told to stop and cancelled, then the ``on_stop`` hooks."""
        self.stop.set()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for stop_hook in self.on_stop:
            await stop_hook()

    def install(self, state: State) -> None:
        state[_KERNEL] = self


def provide_kernel(state: State) -> Kernel:
    """Litestar dependency ``kernel``."""
    kernel = state[_KERNEL]
    assert isinstance(kernel, Kernel)
    return kernel


async def provide_principal(request: Request[Any, Any, Any], service: Any) -> Principal:
    """Litestar dependency ``principal``: the operator or a member behind the bearer token (401 otherwise).
    Member tokens are resolved from the group's events, the same in every service.

    It takes ``service`` (a dictionary look-up) only to come after it: Litestar resolves the dependencies
    of one level concurrently, in an anyio task group of their own, and a route taking both would pay
    that group and two tasks on every request (measured: about 8% of a ballot's throughput)."""
    kernel = provide_kernel(request.app.state)
    principal = await resolve(kernel.store, request.headers.get("authorization"), kernel.members.resolve)
    # whatever this request appends was done by this principal
    trace.update(actor_id=principal.member_id or system_actor("operator"), actor_org=principal.organisation_id)
    return principal


def install_service(state: State, context: object) -> None:
    state[_SERVICE] = context


def provide_service(state: State) -> Any:
    """Litestar dependency ``service``: the context object the service's ``start`` built (typed at the route)."""
    return state[_SERVICE]
