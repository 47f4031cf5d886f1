"""Hash chains as stored, sealer leadership, and personal data encrypted at rest."""

from __future__ import annotations

import asyncio

import pytest

from shared.domain.errors import PersonForgotten
from shared.domain.ids import new_id
from shared.eventlog import integrity
from shared.eventlog.envelope import NewEvent
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from tests.conftest import wait_sealed
from tests.integration.events import PersonJoined, noted


async def test_stored_chains_recompute_from_the_stored_fields(store: EventStore) -> None:
    group = new_id()
    for k in range(3):
        await store.append(group_id=group, stream_id=f"chain-{group}-{k}", events=[noted(1), noted(2)],
                           expected_version=0)
        # a one-event append is one statement (shared.eventlog.appending), not copro_append: the same chain
        await store.append(group_id=group, stream_id=f"chain-{group}-{k}", events=[noted(3)], expected_version=2)
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    rows = await store.pool.fetch(
        "SELECT e.*, l.position, l.global_hash FROM log l JOIN events e USING (seq) ORDER BY l.position"
    )
    stream_heads: dict[str, bytes] = {}
    global_hash = integrity.GENESIS
    for row in rows:
        hasher = integrity.content_hasher(
            group_id=row["group_id"], stream_id=row["stream_id"], actor_id=row["actor_id"], actor_org=row["actor_org"],
            causation_id=row["causation_id"], correlation_id=row["correlation_id"], recorded_at=row["recorded_at"],
        )
        content = hasher(row["id"], row["type"], row["payload"])
        if row["stream_id"].startswith("chain-"):
            assert content == row["content_hash"]
            stream_heads[row["stream_id"]] = integrity.chain(stream_heads.get(row["stream_id"], b""), content)
            assert stream_heads[row["stream_id"]] == row["chain_hash"]
        global_hash = integrity.chain(global_hash, row["chain_hash"])
        assert global_hash == row["global_hash"]


async def test_only_one_sealer_leads_and_another_takes_over(store: EventStore, database_url: str) -> None:
    stop = asyncio.Event()
    second = Sealer(database_url)
    task = asyncio.create_task(second.run(stop))
    await asyncio.sleep(0.3)
    assert not second.is_leader  # the module's sealer holds the lock
    # kill the leading sealer's connection: the second must take over and keep sealing
    await store.pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
        0x636F70726F02 & 0xFFFFFFFF,
    )
    for _ in range(1200):
        if second.is_leader:
            break
        await asyncio.sleep(0.05)
    assert second.is_leader
    before = await store.head_position()
    await store.append(group_id=new_id(), stream_id=f"takeover-{new_id()}", events=[noted(1)], expected_version=0)
    await wait_sealed(store, before + 1)
    stop.set()
    await task


async def test_personal_fields_are_encrypted_at_rest_and_read_back(store: EventStore) -> None:
    person, group = new_id(), new_id()
    joined = PersonJoined(person_id=person, name="Zanele Okafor-Brightwater", email="zanele@example.org",
                          organisation="Changing Futures")
    stream = f"person-{person}"
    await store.append(group_id=group, stream_id=stream, expected_version=0,
                       events=[NewEvent(id=new_id(), type="test.PersonJoined", data=joined)])
    raw = await store.pool.fetchval("SELECT payload FROM events WHERE stream_id = $1", stream)
    assert b"Zanele" not in raw and b"zanele@" not in raw
    assert b"Changing Futures" in raw  # not personal: stays readable
    key = await store.pool.fetchval("SELECT key FROM data_keys WHERE subject_id = $1", person)
    assert key is not None and key not in raw
    [event] = await store.read_stream(stream)
    assert event.decode(PersonJoined) == joined


async def test_destroying_a_key_erases_the_person_and_refuses_new_personal_data(store: EventStore) -> None:
    person, group = new_id(), new_id()
    stream = f"forget-{person}"
    await store.append(group_id=group, stream_id=stream, expected_version=0, events=[
        NewEvent(id=new_id(), type="test.PersonJoined", data=PersonJoined(person_id=person, name="Idris Vale"))
    ])
    await store.pool.execute("UPDATE data_keys SET key = NULL, erased_at = now() WHERE subject_id = $1", person)
    store.forget_cached_key(person)
    [event] = await store.read_stream(stream)
    assert event.decode(PersonJoined).name is None
    with pytest.raises(PersonForgotten):
        await store.append(group_id=group, stream_id=stream, expected_version=1, events=[
            NewEvent(id=new_id(), type="test.PersonJoined", data=PersonJoined(person_id=person, name="Idris"))
        ])
