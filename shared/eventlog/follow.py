"""Catch-up-then-live reading of the log, woken by the sealer's NOTIFY.

The listener is registered before every catch-up read, so a position sealed
between the read and the wait still wakes the reader; the slow poll is only a
safety net for a lost connection. A database outage is waited out and the
reader carries on from the last position it handed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg

from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.store import SEALED_CHANNEL, EventStore
from shared.runtime.logs import Condition

log = logging.getLogger(__name__)


async def follow(
    store: EventStore,
    after_position: int = 0,
    *,
    group_id: uuid.UUID | None = None,
    batch: int = 500,
    safety_poll: float = 5.0,
) -> AsyncIterator[RecordedEvent]:
    """Yield every sealed event after ``after_position``, forever, in order."""
    position = after_position
    woken = asyncio.Event()

    def on_notify(*_: object) -> None:
        woken.set()

    listener: asyncpg.Connection | None = None
    condition = Condition(log, "follow")
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await asyncpg.connect(store.url)
                    await listener.add_listener(SEALED_CHANNEL, on_notify)
                woken.clear()
                events = await store.read_all(position, batch, group_id=group_id)
                condition.working()
            except (*DATABASE_AWAY, asyncpg.PostgresError) as exc:
                condition.failing("the database is unreachable; waiting for it", exc)
                listener = None
                await asyncio.sleep(0.5)
                continue
            for event in events:
                yield event
                assert event.position is not None
                position = event.position
            if len(events) < batch:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(woken.wait(), safety_poll)
    finally:
        if listener is not None and not listener.is_closed():
            await listener.close()
