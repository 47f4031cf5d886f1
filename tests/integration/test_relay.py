"""The relay: every sealed event reaches JetStream once, in order, across crashes and outages."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid

from nats.aio.client import Client

from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.fanout.cloudevents import from_message
from shared.fanout.relay import Relay, last_published
from tests.conftest import eventually, wait_sealed
from tests.integration.events import PersonJoined, noted

STREAM = "COPRO"


async def stream_positions(client: Client) -> list[int]:
    js = client.jetstream()
    info = await js.stream_info(STREAM)
    positions = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(STREAM, seq=seq)
        positions.append(int({k.lower(): v for k, v in (message.headers or {}).items()}["ce-position"]))
    return positions


async def run_relay(store: EventStore, client: Client, until: int) -> None:
    stop = asyncio.Event()
    relay = Relay(store, client, stream=STREAM, batch=200)
    task = asyncio.create_task(relay.run(stop))
    js = client.jetstream()

    async def published() -> bool:
        try:
            return (await last_published(js, STREAM))[0] >= until
        except Exception:
            return False

    await eventually(published, 60, f"position {until} published")
    stop.set()
    await task


async def test_events_travel_as_cloudevents_with_encrypted_personal_data(
    store: EventStore, nats_client: Client
) -> None:
    group, person = new_id(), new_id()
    await store.append(group_id=group, stream_id=f"ce-{group}", expected_version=0, events=[
        noted(1),
        NewEvent(id=new_id(), type="test.PersonJoined", data=PersonJoined(person_id=person, name="Ngozi Hartley")),
    ])
    await wait_sealed(store, 2)
    head = await store.head_position()
    await run_relay(store, nats_client, head)
    js = nats_client.jetstream()
    stored = await store.read_all(0, 10, decrypt=False)
    for seq, event in enumerate(stored, start=1):
        message = await js.get_msg(STREAM, seq=seq)
        headers = message.headers or {}
        assert headers["Nats-Msg-Id"] == str(event.id)
        assert message.subject == f"copro.{event.group_id}.test.{event.type.split('.')[1]}"
        delivered = from_message(headers, message.data or b"")
        assert (delivered.id, delivered.type, delivered.position, delivered.stream_version) == (
            event.id, event.type, event.position, event.stream_version)
        assert headers["ce-specversion"] == "1.0" and headers["Content-Type"] == "application/json"
        assert message.data == bytes(event.data)
    assert b"Ngozi" not in b"".join([(await js.get_msg(STREAM, seq=s)).data or b"" for s in (1, 2)])


RELAY_SCRIPT = textwrap.dedent("""
    import asyncio, sys, nats
    from shared.fanout.relay import Relay
    from shared.eventlog.store import EventStore

    async def main():
        store = await EventStore.connect(sys.argv[1])
        client = await nats.connect(sys.argv[2])
        await Relay(store, client, stream="COPRO", batch=50).run(asyncio.Event())

    asyncio.run(main())
""")


async def test_a_relay_killed_mid_batch_loses_and_reorders_nothing(
    store: EventStore, nats_client: Client, database_url: str, own_nats: object
) -> None:
    start = await store.head_position()
    group = new_id()
    for w in range(20):
        await store.append(group_id=group, stream_id=f"kill-{group}-{w}", expected_version=0,
                           events=[noted(i) for i in range(100)])
    await wait_sealed(store, start + 2000)
    js = nats_client.jetstream()
    before = (await js.stream_info(STREAM)).state.last_seq
    relay = subprocess.Popen([sys.executable, "-c", RELAY_SCRIPT, database_url, own_nats.admin_url])  # type: ignore[attr-defined]
    try:
        await eventually(lambda: _stored_more_than(nats_client, before + 300), 60, "first batches published")
    finally:
        os.kill(relay.pid, signal.SIGKILL)
        relay.wait()
    killed_at = (await js.stream_info(STREAM)).state.last_seq
    assert killed_at < before + 2000, "the relay finished before it was killed: the test proves nothing"
    await run_relay(store, nats_client, start + 2000)
    assert await stream_positions(nats_client) == list(range(1, start + 2001))


async def _stored_more_than(client: Client, count: int) -> bool:
    return (await client.jetstream().stream_info(STREAM)).state.last_seq > count


async def test_relay_reconciles_with_a_stream_ahead_of_its_checkpoint(
    store: EventStore, nats_client: Client
) -> None:
    """A crash after the publish ack but before the checkpoint: nothing is sent twice."""
    await store.append(group_id=new_id(), stream_id=f"ahead-{uuid.uuid4()}", expected_version=0, events=[noted(1)])
    head = await store.head_position()
    await wait_sealed(store, head)
    await run_relay(store, nats_client, head)
    await store.pool.execute("UPDATE relay_cursors SET position = 0")
    await run_relay(store, nats_client, head)
    assert await stream_positions(nats_client) == list(range(1, head + 1))
