"""Replay the log as of a past point: read models rebuilt in a scratch schema, outcomes recomputed.

Everything a service shows is a function of the log. A replay proves it: it
rebuilds every declared read model from position 0 up to the chosen point,
in a fresh schema beside the live tables, and hands every event to each
service's checker, which recomputes what the service recorded (decisions:
every outcome from its ballots and rule) and reports any mismatch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import asyncpg

from shared.audit.collecting import fewer_collections
from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.store import POSITION_AS_OF, EventStore
from shared.readmodels.projections import Projection


@dataclass
class Mismatch:
    position: int
    stream_id: str
    detail: str


@dataclass
class Decision:
    """One closed decision as the replay report shows it: when, what, the result, the tally, what it caused."""

    label: str
    kind: str
    group: str
    opened_at: datetime
    closed_at: datetime
    result: str
    tally: list[tuple[str, str]]
    """(option, weight as an exact fraction) in the recorded order."""
    explanation: str
    caused: list[str] = field(default_factory=list)


@dataclass
class CheckSummary:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    timeline: list[Decision] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    """What the timeline does not show, by reason (still open at the replay's point, withdrawn...)."""


class Checker(Protocol):
    """A service's recomputation of what it recorded, fed every event in order."""

    @property
    def name(self) -> str: ...

    def observe(self, event: RecordedEvent) -> None: ...

    def summary(self) -> CheckSummary: ...


@dataclass
class ReplayResult:
    until: int
    schema: str
    events: int
    tables: dict[str, str]
    checks: list[CheckSummary]

    @property
    def ok(self) -> bool:
        return all(not c.mismatches for c in self.checks)


async def cut_position(store: EventStore, until: int | datetime | None) -> int:
    """The last position to replay: a position, the last event recorded at or before a time, or the head."""
    if until is None:
        return await store.head_position()
    if isinstance(until, int):
        return min(until, await store.head_position())
    found = await store.pool.fetchval(
        POSITION_AS_OF, until
    )
    return int(found)


async def replay(
    store: EventStore,
    projections: Sequence[Projection],
    checkers: Sequence[Checker],
    *,
    until: int | datetime | None = None,
    group_id: uuid.UUID | None = None,
    page: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Rebuild into a new scratch schema and recompute; the live tables are not touched."""
    last = await cut_position(store, until)
    schema = f"replay_{uuid.uuid4().hex[:12]}"
    tables: dict[str, str] = {}
    async with store.pool.acquire() as conn:
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        except asyncpg.InsufficientPrivilegeError:
            raise RuntimeError("a replay builds its read models in a scratch schema, which the services' app role"
                               " may not create: run it as the owner role (COPRO_DATABASE_OWNER_URL)") from None
        # the scratch schema comes first on this connection only: read models are built under their
        # own names there, while the log is still read from the public schema
        await conn.execute(f'SET search_path TO "{schema}", public')
        try:
            with fewer_collections():
                count = await _rebuild(store, conn, projections, checkers, last, group_id, page, progress)
        finally:
            await conn.execute("RESET search_path")
    for projection in projections:
        tables.update({t: f"{schema}.{t}" for t in projection.tables})
    return ReplayResult(until=last, schema=schema, events=count, tables=tables,
                        checks=[c.summary() for c in checkers])


async def _rebuild(
    store: EventStore, conn: asyncpg.Connection, projections: Sequence[Projection], checkers: Sequence[Checker],
    last: int, group_id: uuid.UUID | None, page: int, progress: Callable[[int, int], None] | None,
) -> int:
    for projection in projections:
        for logical, ddl in projection.tables.items():
            await conn.execute(ddl.format(table=logical))
    count = 0
    # the next page is read while this one is applied: the database works while Python folds
    async for events in store.pages(0, page, last=last, group_id=group_id):
        position = events[-1].position or 0
        # each projection gets only the events of its types: most of a log (ballots, say) concerns few read models
        applied = [(p, [e for e in events if e.type in p.types]) for p in projections]
        if any(mine for _, mine in applied):
            async with conn.transaction():
                for projection, mine in applied:
                    mapping = {t: t for t in projection.tables}
                    for event in mine:
                        await projection.apply(conn, mapping, event)
        for checker in checkers:
            for event in events:
                checker.observe(event)
        count += len(events)
        if progress is not None:
            progress(position, last)
    return count


async def drop_scratch(store: EventStore, schema: str) -> None:
    await store.pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
