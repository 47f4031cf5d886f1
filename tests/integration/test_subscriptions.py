"""Service subscriptions: at-least-once delivery, exactly-once effect, bounded retries, outages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from nats.aio.client import Client

from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from shared.fanout.cloudevents import Delivered
from shared.fanout.consumer import Consumer
from shared.fanout.relay import Relay
from shared.runtime.embedded import EmbeddedNats
from tests.conftest import eventually
from tests.integration.events import Noted, noted


@pytest.fixture(scope="module")
async def relaying(store: EventStore, nats_client: Client) -> AsyncIterator[Relay]:
    await store.pool.execute(
        "CREATE TABLE seen (event_id uuid, n int, position bigint, applied bigint GENERATED ALWAYS AS IDENTITY)")
    stop = asyncio.Event()
    relay = Relay(store, nats_client, batch=100)
    task = asyncio.create_task(relay.run(stop))
    yield relay
    stop.set()
    await task


async def record(conn: asyncpg.Connection, event: Delivered) -> None:
    await conn.execute("INSERT INTO seen VALUES ($1, $2, $3)", event.id, event.decode(Noted).n, event.position)


async def count_seen(store: EventStore, group: uuid.UUID) -> int:
    return int(await store.pool.fetchval("SELECT count(*) FROM seen s JOIN events e ON e.id = s.event_id"
                                         " WHERE e.group_id = $1", group))


async def test_everything_arrives_across_a_nats_outage_without_restarts(
    store: EventStore, nats_client: Client, own_nats: EmbeddedNats, relaying: Relay
) -> None:
    group = new_id()
    stop = asyncio.Event()
    consumer = Consumer(store, nats_client, name="outage", subjects=[f"copro.{group}.>"], handler=record,
                            backoff=(0.2, 0.5, 1.0))
    task = asyncio.create_task(consumer.run(stop))
    for i in range(100):
        await store.append(group_id=group, stream_id=f"out-{group}-{i % 7}", expected_version=None, events=[noted(i)])
    await eventually(lambda: _equals(count_seen(store, group), 100), 20, "first 100 handled")

    own_nats.stop()
    for i in range(100, 300):  # the log keeps taking writes while NATS is away
        await store.append(group_id=group, stream_id=f"out-{group}-{i % 7}", expected_version=None, events=[noted(i)])
    await asyncio.sleep(1.5)
    assert await count_seen(store, group) == 100
    own_nats.start()

    await eventually(lambda: _equals(count_seen(store, group), 300), 30, "all 300 handled after NATS returned")
    rows = await store.pool.fetch("SELECT s.n, s.position FROM seen s JOIN events e ON e.id = s.event_id"
                                  " WHERE e.group_id = $1 ORDER BY s.applied", group)
    assert sorted(r["n"] for r in rows) == list(range(300))  # each exactly once
    positions = [r["position"] for r in rows]
    assert positions == sorted(positions)  # in global order
    stop.set()
    await task


async def _equals(value: object, expected: int) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_redeliveries_have_one_effect_and_failures_end_as_dead_letters(
    store: EventStore, nats_client: Client, relaying: Relay
) -> None:
    group = new_id()
    attempts: dict[int, int] = {}

    async def flaky(conn: asyncpg.Connection, event: Delivered) -> None:
        n = event.decode(Noted).n
        attempts[n] = attempts.get(n, 0) + 1
        await conn.execute("INSERT INTO seen VALUES ($1, $2, $3)", event.id, n, event.position)
        if n == 1 and attempts[n] < 3:
            raise RuntimeError("a passing failure")  # rolled back with the row above
        if n == 2:
            raise ValueError("this event can never be handled")

    stop = asyncio.Event()
    consumer = Consumer(store, nats_client, name="flaky", subjects=[f"copro.{group}.>"], handler=flaky,
                            backoff=(0.1, 0.1, 0.1))
    task = asyncio.create_task(consumer.run(stop))
    for n in range(4):
        await store.append(group_id=group, stream_id=f"flaky-{group}", expected_version=n, events=[noted(n)])
    await eventually(lambda: _equals(count_seen(store, group), 3), 20, "events 0, 1 and 3 handled")
    await eventually(lambda: _dead(store, "flaky"), 60, "event 2 dead-lettered")
    assert attempts[1] == 3 and attempts[2] == consumer.max_attempts
    rows = await store.pool.fetch("SELECT s.n FROM seen s JOIN events e ON e.id = s.event_id WHERE e.group_id = $1"
                                  " ORDER BY s.applied", group)
    assert [r["n"] for r in rows] == [0, 1, 3]  # in log order: 3 waited behind the retries of 1 and the death of 2
    assert consumer.health() is None
    stop.set()
    await task


async def _dead(store: EventStore, consumer: str) -> bool:
    return bool(await store.pool.fetchval("SELECT count(*) FROM dead_letters WHERE consumer = $1", consumer))


async def test_a_stuck_consumer_reports_itself_unhealthy(
    store: EventStore, nats_client: Client, relaying: Relay
) -> None:
    group = new_id()

    async def broken(conn: asyncpg.Connection, event: Delivered) -> None:
        raise RuntimeError("the partner system is down")

    stop = asyncio.Event()
    consumer = Consumer(store, nats_client, name="stuck", subjects=[f"copro.{group}.>"], handler=broken,
                            backoff=(30.0,), stuck_after=0.5)
    task = asyncio.create_task(consumer.run(stop))
    await store.append(group_id=group, stream_id=f"stuck-{group}", expected_version=0, events=[noted(1)])

    async def unhealthy() -> bool:
        return consumer.health() is not None

    await eventually(unhealthy, 60, "the consumer noticing it is stuck")
    assert "no progress" in (consumer.health() or "")
    lagging = Consumer(store, nats_client, name="lagging", subjects=["x"], handler=broken, lag_threshold=10)
    lagging.lag = 11
    assert "lags 11" in (lagging.health() or "")
    stop.set()
    await task
