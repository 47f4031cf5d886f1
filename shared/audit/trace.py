"""The causal chain of an event, both ways: what caused it, and everything it caused.

Every event records its actor, the event that caused it (for work done in
reaction to another event) and the correlation id of the request or chain it
belongs to (``shared.eventlog.trace``). Following ``causation_id`` up from
an event reaches the request that started it; following it down reaches
every meeting, publication or proposal that came of it, across services.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from shared.domain.errors import NotFound
from shared.eventlog.store import EventStore
from shared.eventlog.trace import system_actor

SYSTEM_ACTORS = ("operator", "closer", "delivery")
"""Named system actors besides reactions (``reaction:<consumer>``), whose names come with the caller's list."""

MAX_STEPS = 1000


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a chain, with who acted and how it links to the others."""

    id: uuid.UUID
    type: str
    group_id: uuid.UUID
    stream_id: str
    position: int | None
    recorded_at: datetime
    actor_id: uuid.UUID | None
    actor_org: uuid.UUID | None
    actor: str
    """``member`` for a person (``actor_id`` is their member id), else the system actor's name."""
    causation_id: uuid.UUID | None
    correlation_id: uuid.UUID | None
    depth: int
    """Steps from the traced event: negative for causes, positive for effects."""


class Chain(msgspec.Struct, frozen=True, kw_only=True):
    event: Step
    causes: list[Step]
    """From the first cause down to the event's direct cause."""
    effects: list[Step]
    """Breadth first: the direct effects, then theirs, in log order at each depth."""
    correlated: int
    """How many events share the event's correlation id (one request or reaction chain)."""


_SELECT = (
    "SELECT e.id, e.type, e.group_id, e.stream_id, l.position, e.recorded_at, e.actor_id, e.actor_org,"
    " e.causation_id, e.correlation_id FROM events e LEFT JOIN log l ON l.seq = e.seq"
)


def actor_names(reactions: Iterable[str] = ()) -> dict[uuid.UUID, str]:
    """The ids of the named system actors (``reactions`` are consumer names, e.g. ``scheduling-time-proposals``)."""
    names = [*SYSTEM_ACTORS, *(f"reaction:{r}" for r in reactions)]
    return {system_actor(name): name for name in names}


def _step(row: Any, depth: int, names: dict[uuid.UUID, str]) -> Step:
    r = dict(row)
    actor = "member" if r["actor_org"] is not None else names.get(r["actor_id"], "system" if r["actor_id"] else "none")
    return Step(depth=depth, actor=actor, **r)


async def chain(store: EventStore, event_id: uuid.UUID, *, group_id: uuid.UUID | None = None,
                names: dict[uuid.UUID, str] | None = None) -> Chain:
    """The chain around ``event_id`` (404 when it is not in the log, or not in ``group_id``)."""
    known = names if names is not None else actor_names()
    async with store.pool.acquire() as conn:
        row = await conn.fetchrow(_SELECT + " WHERE e.id = $1", event_id)
        if row is None or (group_id is not None and row["group_id"] != group_id):
            raise NotFound("no such event in this group")
        event = _step(row, 0, known)
        nearest_first: list[Step] = []
        cause = event.causation_id
        while cause is not None and len(nearest_first) < MAX_STEPS:
            found = await conn.fetchrow(_SELECT + " WHERE e.id = $1", cause)
            if found is None:
                break
            nearest_first.append(_step(found, -(len(nearest_first) + 1), known))
            cause = found["causation_id"]
        effects: list[Step] = []
        frontier, depth = [event_id], 1
        while frontier and len(effects) < MAX_STEPS:
            rows = await conn.fetch(_SELECT + " WHERE e.causation_id = ANY($1) ORDER BY e.seq", frontier)
            effects.extend(_step(r, depth, known) for r in rows)
            frontier, depth = [r["id"] for r in rows], depth + 1
        correlated = 0
        if event.correlation_id is not None:
            correlated = await conn.fetchval("SELECT count(*) FROM events WHERE correlation_id = $1",
                                             event.correlation_id)
    return Chain(event=event, causes=nearest_first[::-1], effects=effects[:MAX_STEPS], correlated=correlated)
