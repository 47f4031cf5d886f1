"""The scheduling service: meetings, events, roles and sign-ups, attendees and table plans (port 8102)."""

from __future__ import annotations

from litestar import Litestar

from services.scheduling.context import Scheduling
from services.scheduling.events import CONTRACT
from services.scheduling.http import CONTROLLERS
from services.scheduling.subscriptions import REACTIONS
from shared.web.kernel import Kernel
from shared.web.plugin import service_app


async def start(kernel: Kernel) -> Scheduling:
    """Scheduling's context; its cached states are dropped whenever anyone is forgotten."""
    service = Scheduling(store=kernel.store, members=kernel.members)
    kernel.on_forget.append(service.forget_cached)
    return service


def create_app() -> Litestar:
    return service_app(
        "scheduling",
        CONTROLLERS,
        description="Meetings, events, roles and sign-ups, attendees and table plans.",
        start=start,
        reactions=REACTIONS,
        event_types=CONTRACT.types,
    )
