"""Forgetting a person in an append-only log: destroy their data key.

Their personal fields stay in the log as ciphertext nobody can read, so every
hash still verifies and every outcome still recomputes, while every reader
(read models, feeds, exports, NATS, webhooks) sees them as erased. Services
drop cached keys and cached states when they hear of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from shared.eventlog.store import EventStore

FORGET_CHANNEL = "copro_forget"


async def forget(store: EventStore, subject_id: uuid.UUID) -> bool:
    """Destroy the person's key; True if there was one to destroy."""
    async with store.pool.acquire() as conn, conn.transaction():
        destroyed = await forget_on(conn, [subject_id])
    store.forget_cached_key(subject_id)
    return bool(destroyed)


async def forget_on(conn: asyncpg.Connection, subject_ids: Sequence[uuid.UUID]) -> int:
    """Destroy these subjects' keys in the caller's transaction (a reaction applied once); how many there were.
    Every process hears of each at commit and drops what it cached."""
    destroyed = await conn.fetchval(
        "WITH gone AS (UPDATE data_keys SET key = NULL, erased_at = now()"
        " WHERE subject_id = ANY($1::uuid[]) AND key IS NOT NULL RETURNING 1) SELECT count(*) FROM gone",
        list(subject_ids))
    for subject_id in subject_ids:
        await conn.execute("SELECT pg_notify($1, $2)", FORGET_CHANNEL, str(subject_id))
    return int(destroyed)
