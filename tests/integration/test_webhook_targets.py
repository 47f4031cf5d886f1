"""Webhooks go to public addresses only, checked again when delivering: a name is resolved and the address it
resolves to checked at every connection (a name may point elsewhere tomorrow), on the real service."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shared.eventlog.store import EventStore
from shared.web.outbound import delivery_transport
from tests.integration.decisions_client import make_group
from tests.integration.events import noted
from tests.integration.receiver import Receiver


async def test_a_name_that_resolves_to_loopback_gets_nothing_delivered(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, receiver: Receiver,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COPRO_WEBHOOK_PRIVATE_TARGETS", "0")
    from services.publishing.app import create_app

    group = await make_group(api, operator)
    facilitator = group.tokens["facilitator"]
    async with AsyncTestClient(app=create_app()) as publishing:
        refused = await publishing.post(f"{group.base}/webhooks", headers=facilitator, json={"url": receiver.url})
        assert refused.status_code == 422 and refused.json()["field"] == "url", refused.text
        named = receiver.url.replace("127.0.0.1", "localhost")  # a name: only resolving it shows where it goes
        made = await publishing.post(f"{group.base}/webhooks", headers=facilitator,
                                     json={"url": named, "event_types": ["test.*"]})
        assert made.status_code == 201, made.text
        await store.append(group_id=uuid.UUID(group.id), stream_id=f"targets-{group.id}", expected_version=0,
                           events=[noted(1)])
        deliveries = f"{group.base}/webhooks/{made.json()['subscription_id']}/deliveries"
        errors: list[str] = []
        for _ in range(600):
            errors = [d["error"] or "" for d in (await publishing.get(deliveries, headers=facilitator)).json()]
            if errors:
                break
            await asyncio.sleep(0.05)
        assert errors and "not a public address" in errors[0], errors
        assert receiver.received == []


async def test_the_delivery_transport_connects_to_private_addresses_only_when_allowed(receiver: Receiver) -> None:
    async with httpx.AsyncClient(transport=delivery_transport(private_allowed=False)) as guarded:
        with pytest.raises(httpx.ConnectError, match="not a public address"):
            await guarded.post(receiver.url.replace("127.0.0.1", "localhost"), content=b"{}")
    async with httpx.AsyncClient(transport=delivery_transport(private_allowed=True)) as open_:
        assert (await open_.post(receiver.url, content=b"{}")).status_code == 200
    assert len(receiver.received) == 1
