"""A durable JetStream subscription to one group's events that resumes where it left off.

The consumer is durable on the server (stream ``COPRO``, filter
``copro.<group id>.>``, explicit acks): an event acknowledged is never
delivered to that name again, one not acknowledged (the process died while
handling it) is delivered again after ``ack_wait``. So a partner system that
stops and starts again with the same ``durable`` name gets every event it has
not yet acknowledged, in log order, and none it has. Handle idempotently by
``Received.id`` (delivery is at least once).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import FetchTimeoutError

from copro_client.events import Received, from_headers


@dataclass
class Delivery:
    """One event from the subscription; ``ack()`` once it is handled (else it comes again)."""

    received: Received
    message: Msg

    async def ack(self) -> None:
        await self.message.ack_sync()


class GroupSubscription:
    """``async with GroupSubscription(url, group_id, "crm") as events: async for d in events: ...; await d.ack()``."""

    def __init__(self, nats_url: str, group_id: uuid.UUID | str, durable: str, *, stream: str = "COPRO",
                 user: str | None = None, password: str | None = None, credentials: str | None = None,
                 inbox_prefix: str | None = None, ack_wait: float = 30.0, batch: int = 100) -> None:
        self.nats_url, self.group_id, self.durable, self.stream = nats_url, str(group_id), durable, stream
        self.connect_options: dict[str, Any] = {k: v for k, v in {
            "user": user, "password": password, "user_credentials": credentials, "inbox_prefix": inbox_prefix,
        }.items() if v is not None}
        self.ack_wait, self.batch = ack_wait, batch
        self.client: Client | None = None
        self._subscription: Any = None

    @property
    def subject(self) -> str:
        return f"copro.{self.group_id}.>"

    async def __aenter__(self) -> GroupSubscription:
        self.client = await nats.connect(self.nats_url, **self.connect_options)
        config = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait,
                                deliver_policy=DeliverPolicy.ALL, filter_subject=self.subject)
        self._subscription = await self.client.jetstream().pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=config)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.drain()
            self.client = None

    async def fetch(self, wait: float = 1.0) -> list[Delivery]:
        """The next events (up to ``batch``), or none within ``wait`` seconds."""
        try:
            messages = await self._subscription.fetch(self.batch, timeout=wait)
        except (FetchTimeoutError, TimeoutError):
            return []
        return [Delivery(from_headers(dict(m.headers or {}), m.data), m) for m in messages]

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._follow()

    async def _follow(self) -> AsyncIterator[Delivery]:
        while self.client is not None:
            for delivery in await self.fetch():
                yield delivery
