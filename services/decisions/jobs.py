"""Background work: closing proposals whose closing time has come, in every replica, idempotently.

Two replicas may try the same proposal: the log's expected-version check lets
one close it, and the other then finds it closed and does nothing.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from services.decisions.domain.proposal import Close, proposal_decider, proposal_stream
from shared.domain.errors import CommandRejected, ConcurrencyConflict
from shared.domain.ids import utc_now
from shared.eventlog import trace
from shared.eventlog.envelope import Metadata
from shared.eventlog.handler import handle
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.store import EventStore
from shared.eventlog.trace import system_actor
from shared.runtime.waiting import pause

log = logging.getLogger(__name__)


async def close_due(store: EventStore) -> int:
    """Close every open proposal that is due; returns how many this call closed."""
    due = await store.pool.fetch(
        "SELECT proposal_id, group_id FROM decisions_proposals WHERE status = 'open' AND closes_at <= now()"
        " ORDER BY closes_at LIMIT 100"
    )
    closed = 0
    with trace.acting(Metadata(actor_id=system_actor("closer"))):  # the closings record who closed them
        for row in due:
            try:
                done = await handle(store, proposal_decider, Close(by=None, at=utc_now()),
                                    group_id=row["group_id"], stream_id=proposal_stream(row["proposal_id"]))
            except (CommandRejected, ConcurrencyConflict):
                continue  # closed or withdrawn meanwhile, perhaps by another replica
            closed += bool(done.events)
    return closed


async def run_closer(store: EventStore, stop: asyncio.Event, every: float = 1.0) -> None:
    while not stop.is_set():
        try:
            await close_due(store)
        except asyncpg.UndefinedTableError:
            pass  # first start: the proposals projection has not created its table yet
        except DATABASE_AWAY as exc:
            log.warning("closer: database unavailable: %s", exc)
        except Exception:  # the closer never stops for good: the next round tries again, and says why
            log.exception("closer: failed; trying again")
        await pause(stop, every)
