"""Two writers making the same key at once both get it, not a refusal.

``INSERT ... ON CONFLICT DO NOTHING`` waits for the other writer's commit and
then inserts nothing, and its statement's snapshot, taken before, cannot see the
other's row either: without a second look a member's first two actions, arriving
at once at two services, would be refused as if the member had been forgotten.
"""

from __future__ import annotations

import asyncio

import asyncpg

from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from tests.conftest import eventually


async def _waiting_on_a_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))


async def test_a_person_key_made_by_another_writer_meanwhile_is_the_one_used(store: EventStore) -> None:
    subject, theirs = new_id(), b"k" * 32
    other = await asyncpg.connect(store.url)
    try:
        async with other.transaction():
            await other.execute("INSERT INTO data_keys (subject_id, key) VALUES ($1, $2)", subject, theirs)
            mine = asyncio.create_task(store.keys.person(subject))
            await eventually(lambda: _waiting_on_a_lock(other), 30, "the second writer waiting on the first")
        assert await asyncio.wait_for(mine, 30) == theirs
    finally:
        await other.close()


async def test_a_seal_key_made_by_another_writer_meanwhile_is_the_one_used(store: EventStore) -> None:
    seal, theirs = new_id(), b"s" * 32
    other = await asyncpg.connect(store.url)
    try:
        async with other.transaction():
            await other.execute("INSERT INTO seal_keys (seal_id, key) VALUES ($1, $2)", seal, theirs)
            mine = asyncio.create_task(store.keys.seal(seal))
            await eventually(lambda: _waiting_on_a_lock(other), 30, "the second writer waiting on the first")
        assert await asyncio.wait_for(mine, 30) == theirs
    finally:
        await other.close()
