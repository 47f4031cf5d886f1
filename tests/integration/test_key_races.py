"""Two writers making the same key at once both get it, not a refusal.

``INSERT ... ON CONFLICT DO NOTHING`` waits for the other writer's commit and
then inserts nothing, and its statement's snapshot, taken before, cannot see the
other's row either: without a second look a member's first two actions, arriving
at once at two services, would be refused as if the member had been forgotten.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from tests.conftest import eventually


async def _waiting_on_a_lock(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"))


@pytest.mark.parametrize(("table", "owner", "kind"), [("data_keys", "subject_id", "person"),
                                                    ("seal_keys", "seal_id", "seal")])
async def test_a_key_made_by_another_writer_meanwhile_is_the_one_used(
    store: EventStore, table: str, owner: str, kind: str
) -> None:
    """A person's data key and a ballot seal's key alike."""
    key_of, theirs = getattr(store.keys, kind), bytes([len(kind)]) * 32
    made_for = new_id()
    other = await asyncpg.connect(store.url)
    try:
        async with other.transaction():
            await other.execute(f"INSERT INTO {table} ({owner}, key) VALUES ($1, $2)", made_for, theirs)
            mine = asyncio.create_task(key_of(made_for))
            await eventually(lambda: _waiting_on_a_lock(other), 30, "the second writer waiting on the first")
        assert await asyncio.wait_for(mine, 30) == theirs
    finally:
        await other.close()
