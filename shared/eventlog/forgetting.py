"""Forgetting a person in an append-only log: destroy their data key.

Their personal fields stay in the log as ciphertext nobody can read, so every
hash still verifies and every outcome still recomputes, while every reader
(read models, feeds, exports, NATS, webhooks) sees them as erased. Services
drop cached keys and cached states when they hear of it.
"""

from __future__ import annotations

import uuid

from shared.eventlog.store import EventStore

FORGET_CHANNEL = "copro_forget"


async def forget(store: EventStore, subject_id: uuid.UUID) -> bool:
    """Destroy the person's key; True if there was one to destroy."""
    async with store.pool.acquire() as conn, conn.transaction():
        destroyed = await conn.fetchval(
            "UPDATE data_keys SET key = NULL, erased_at = now() WHERE subject_id = $1 AND key IS NOT NULL"
            " RETURNING true",
            subject_id,
        )
        await conn.execute("SELECT pg_notify($1, $2)", FORGET_CHANNEL, str(subject_id))
    store.forget_cached_key(subject_id)
    return bool(destroyed)
