"""The publishing service: resources, reflections, feeds and partner delivery (port 8103)."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar

from services.publishing.context import Publishing
from services.publishing.events import CONTRACT
from services.publishing.http import CONTROLLERS
from services.publishing.jobs import Delivery
from services.publishing.projections import PROJECTIONS
from services.publishing.subscriptions import REACTIONS
from shared.access.secrets import SecretBox, secrets_key
from shared.web.kernel import Kernel
from shared.web.plugin import service_app


async def start(kernel: Kernel) -> Publishing:
    """Publishing's context, and the webhook delivery running beside the routes until shutdown."""
    settings = kernel.settings
    delivery = Delivery(kernel.store, SecretBox(secrets_key(settings.home)), base_delay=settings.webhook_retry_base,
                        give_up_after=timedelta(seconds=settings.webhook_give_up_after),
                        private_targets=settings.webhook_private_targets)
    service = Publishing(store=kernel.store, members=kernel.members, delivery=delivery)
    kernel.on_forget.extend([delivery.webhooks.clear, service.items.clear])
    kernel.on_stop.append(delivery.close)
    kernel.run(delivery.run(kernel.stop), "webhook delivery")
    return service


def create_app() -> Litestar:
    return service_app(
        "publishing",
        CONTROLLERS,
        description="Co-produced resources and reflections, public feeds, partner delivery (webhooks, SSE).",
        start=start,
        projections=PROJECTIONS,
        reactions=REACTIONS,
        event_types=CONTRACT.types,
    )
