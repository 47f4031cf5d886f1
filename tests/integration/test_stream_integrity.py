"""Authenticated NATS: nobody publishes into the COPRO stream but the relay, and a message the relay did not
write (injected with the operator's admin credentials) is reported: once in the log, by every service's
/readyz (503, naming it) and by the publish lag metric."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest
from litestar.testing import AsyncTestClient
from nats.aio.client import Client
from nats.js import api

from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from shared.fanout.relay import ensure_stream, genuine_tail
from shared.runtime.embedded import EmbeddedNats, free_port
from shared.web.kernel import provide_kernel
from tests.conftest import eventually, wait_sealed
from tests.integration.events import noted
from tests.integration.nats_waits import refusals

STREAM = "COPRO"


async def _as(server: EmbeddedNats, user: str, errors: list[Exception]) -> Client:
    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    password = server.url_for(user).split(":")[2].split("@")[0]
    return await nats.connect(server.url, user=user, password=password, error_cb=on_error,
                              inbox_prefix=f"_INBOX_{user}", allow_reconnect=False)


async def test_an_unauthenticated_client_is_refused(own_nats: EmbeddedNats) -> None:
    for url in (own_nats.url, own_nats.url.replace("nats://", "nats://relay:guess@")):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


@pytest.fixture
async def spare_nats(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedNats, Client]]:
    """A server of this test's own: what it publishes must not reach the module's stream."""
    server = EmbeddedNats(tmp_path, free_port())
    server.start()
    admin = await nats.connect(server.admin_url)
    yield server, admin
    await admin.close()
    server.stop()


async def test_a_service_user_runs_its_own_consumer_and_cannot_publish_events(
    spare_nats: tuple[EmbeddedNats, Client]
) -> None:
    own_nats, nats_client = spare_nats
    errors: list[Exception] = []
    relay = await _as(own_nats, "relay", [])
    service = await _as(own_nats, "decisions", errors)
    try:
        await ensure_stream(relay.jetstream(), STREAM, 1)
        group = uuid.uuid4()
        await relay.jetstream().publish(f"copro.{group}.publishing.PublicationRequested", b"{}")  # the relay may
        before = (await nats_client.jetstream().stream_info(STREAM)).state.messages
        js = service.jetstream(timeout=0.5)
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await js.publish(f"copro.{group}.decisions.ProposalClosed", b"{}")
        await service.publish(f"copro.{group}.decisions.ProposalClosed", b"{}")
        # its own durable consumer works; another service's is not its to touch
        sub = await js.pull_subscribe("copro.*.publishing.>", durable="decisions-publication-requests", stream=STREAM)
        assert next(m.subject for m in await sub.fetch(1, timeout=2)).endswith("PublicationRequested")
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.js.errors.Error)):
            await js.add_consumer(STREAM, api.ConsumerConfig(name="scheduling-time-proposals",
                                                             durable_name="scheduling-time-proposals"))
        violations = await refusals(errors, "permissions violation for publish to \"copro.")
        assert (await nats_client.jetstream().stream_info(STREAM)).state.messages == before
        assert "permissions violation for publish to \"copro." in violations
    finally:
        await service.close()
        await relay.close()


def _lag(metrics: str) -> float:
    found = re.search(r"^copro_publish_lag_events (\S+)$", metrics, re.MULTILINE)
    assert found, metrics
    return float(found.group(1))


async def test_a_foreign_message_in_the_stream_makes_every_service_unready(
    api: AsyncTestClient, publishing: AsyncTestClient, store: EventStore, nats_client: Client,  # type: ignore[type-arg]
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shared.fanout.relay")
    js = nats_client.jetstream()
    group = new_id()
    await store.append(group_id=group, stream_id=f"si-{group}", events=[noted(1), noted(2)], expected_version=0)
    await wait_sealed(store, 2)

    async def relayed() -> bool:
        try:
            return (await genuine_tail(js, STREAM, store))[0] == await store.head_position()
        except nats.js.errors.NotFoundError:
            return False

    await eventually(relayed, 20, "the relay caught up")
    assert (await api.get("/readyz")).status_code == 200
    for kernel in (provide_kernel(api.app.state), provide_kernel(publishing.app.state)):
        if kernel.relay is not None:
            kernel.relay.recheck = 0.1
    genuine = await store.head_position()

    # the operator's admin credentials can still write into the stream: a message the log does not hold
    await js.publish(f"copro.{group}.decisions.ProposalClosed", b'{"forged": true}',
                     headers={"Nats-Msg-Id": str(uuid.uuid4()), "ce-id": str(uuid.uuid4()), "ce-position": "2"})
    position, _, problem = await genuine_tail(js, STREAM, store)
    assert position == genuine and problem is not None and "did not write" in problem  # what a resuming relay finds
    await store.append(group_id=group, stream_id=f"si-{group}", events=[noted(3)], expected_version=2)
    await wait_sealed(store, genuine + 1)

    async def unready() -> bool:
        return (await api.get("/readyz")).status_code == 503
    await eventually(unready, 20, "decisions unready")
    for client in (api, publishing):  # the relay runs in one process; every service says so
        answer = await client.get("/readyz")
        assert answer.status_code == 503
        assert "did not write" in answer.json()["checks"]["relay"]
        assert f"copro.{group}.decisions.ProposalClosed" in answer.json()["checks"]["relay"]
    assert _lag((await api.get("/metrics")).text) >= 1  # the event after the foreign message is not published
    await asyncio.sleep(1.0)  # several checks later, still said once
    assert sum("did not write" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR) == 1
    await store.append(group_id=group, stream_id=f"si-{group}", events=[noted(4)], expected_version=3)
    await wait_sealed(store, genuine + 2)

    async def lag_is_two() -> bool:
        return _lag((await api.get("/metrics")).text) == 2
    await eventually(lag_is_two, 20, "the lag counting every unpublished event")
