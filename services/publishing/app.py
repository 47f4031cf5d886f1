"""The publishing service: resources, reflections, feeds and partner delivery (port 8103)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import get_args

from litestar import Litestar

from services.publishing import api, items_api
from services.publishing.approval import SUBSCRIPTIONS
from services.publishing.delivery import SCHEMA, Delivery
from services.publishing.items import Item, ItemEvent
from services.publishing.projections import PROJECTIONS
from services.publishing.webhooks import WebhookEvent
from shared.access.roster import Members
from shared.eventlog.handler import StateCache
from shared.web.plugin import service_app


async def _start(app: Litestar) -> None:
    store = app.state.store
    await store.pool.execute(SCHEMA)
    members = Members(store)
    settings = app.state.settings
    delivery = Delivery(store, base_delay=settings.webhook_retry_base,
                        give_up_after=timedelta(seconds=settings.webhook_give_up_after))
    items: StateCache[Item] = StateCache()
    app.state.update(members=members, delivery=delivery, item_states=items, member_resolver=members.resolve)
    app.state.on_forget.extend([members.cache.clear, delivery.subscriptions.clear, items.clear])
    app.state.on_stop.append(delivery.close)
    app.state.tasks.append(asyncio.create_task(delivery.run(app.state.stop), name="webhook delivery"))


def create_app() -> Litestar:
    return service_app(
        "publishing",
        [*items_api.ROUTES, *api.ROUTES],
        description="Co-produced resources and reflections, public feeds, partner delivery (webhooks, SSE).",
        on_start=[_start],
        projections=PROJECTIONS,
        subscriptions=SUBSCRIPTIONS,
        event_types=[*get_args(ItemEvent), *get_args(WebhookEvent)],
    )
