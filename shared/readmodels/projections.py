"""Read models in PostgreSQL, kept from the log and rebuildable from position 0.

A projection names its tables (DDL templates with ``{table}``) and applies
one event at a time on the connection it is given. The runner applies
events in global order and writes the projection's cursor in the same
transaction as the read-model change, so every event takes effect exactly
once; after any outage it resumes from that cursor by itself.

A rebuild fills fresh shadow tables from position 0 while the live ones keep
serving, then, holding the projection's lock, catches up the last few events
and swaps the shadow tables in, all in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

import asyncpg

from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.locks import projection_lock
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.store import EVENT_OF, HEAD, SEALED_CHANNEL, EventStore
from shared.runtime.logs import Condition
from shared.runtime.metrics import PROJECTION_LAG
from shared.runtime.waiting import pause, wait_any

log = logging.getLogger(__name__)

_CURSOR = "SELECT position FROM projection_cursors WHERE name = $1"
# Any event of these types in a stretch of positions: a walk of that stretch of ``log`` by its key
_ANY_OF_TYPES = (
    f"SELECT EXISTS (SELECT 1 FROM log l {EVENT_OF}"
    " WHERE l.position > $1 AND l.position <= $2 AND e.type = ANY($3::text[]))"
)
# A stretch that applied nothing moves the stored cursor, never back (another replica may be further on)
_SKIP = "UPDATE projection_cursors SET position = $2 WHERE name = $1 AND position < $2"

Progress = Callable[[int, int], None]


class Projection(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> Mapping[str, str]:
        """Logical table name -> DDL with ``{table}`` standing for the physical name."""
        ...

    @property
    def types(self) -> frozenset[str]:
        """The event types ``apply`` acts on: a stretch of the log with none of them costs the runner one
        query, no transaction (most events, ballots say, concern no read model of another service)."""
        ...

    async def apply(self, conn: asyncpg.Connection, tables: Mapping[str, str], event: RecordedEvent) -> None: ...


async def _create(conn: asyncpg.Connection, projection: Projection, tables: Mapping[str, str]) -> None:
    for logical, ddl in projection.tables.items():
        await conn.execute(ddl.format(table=tables[logical]))


async def _apply_batch(
    conn: asyncpg.Connection, store: EventStore, projection: Projection, tables: Mapping[str, str],
    after: int, batch: int,
) -> int:
    """Apply the next events after ``after`` on ``conn``; returns the new position."""
    events = await store.read_all(after, batch)
    for event in events:
        await projection.apply(conn, tables, event)
    return events[-1].position or after if events else after


async def _save_position(conn: asyncpg.Connection, projection: Projection, position: int) -> None:
    """The projection's cursor, written in the transaction that applied the events up to it."""
    await conn.execute(
        "UPDATE projection_cursors SET position = $2, updated_at = now() WHERE name = $1",
        projection.name, position,
    )


async def ensure_tables(conn: asyncpg.Connection, projection: Projection) -> None:
    """Create the live tables and cursor of a projection seen for the first time."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", projection_lock(projection.name))
        known = await conn.fetchval("SELECT 1 FROM projection_cursors WHERE name = $1", projection.name)
        if not known:
            await _create(conn, projection, {t: t for t in projection.tables})
            await conn.execute("INSERT INTO projection_cursors (name, position) VALUES ($1, 0)", projection.name)


class ProjectionRunner:
    def __init__(self, store: EventStore, projection: Projection, *, batch: int = 500, safety_poll: float = 5.0,
                 gather: float = 0.01) -> None:
        self.store = store
        self.projection = projection
        self.batch = batch
        self.safety_poll = safety_poll
        # after a step, new events gather this long before the next: under load a step applies many events in
        # one transaction instead of one transaction per seal (read models lag by at most this much more)
        self.gather = gather
        self.position = 0
        self.save_every = 5.0
        self._saved_at = 0.0
        self._stored = 0
        self._wake = asyncio.Event()
        self.condition = Condition(log, f"projection {projection.name}")

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def step(self, conn: asyncpg.Connection) -> int:
        """Apply the next batch; returns how far the cursor moved. A stretch with no event of the projection's
        types moves only the cursor, without a transaction; the stored cursor follows every few seconds and
        when the runner has caught up (a restart re-reads at most that stretch, which applies nothing)."""
        head: int = await conn.fetchval(HEAD)
        PROJECTION_LAG.labels(self.projection.name).set(max(0, head - self.position))
        if head <= self.position:
            if self.position > self._stored:
                await self._store_skip(conn)
            return 0
        upto = min(head, self.position + self.batch)
        if not await conn.fetchval(_ANY_OF_TYPES, self.position, upto, list(self.projection.types)):
            moved, self.position = upto - self.position, upto
            if asyncio.get_running_loop().time() - self._saved_at > self.save_every:
                await self._store_skip(conn)
            return moved
        return await self._apply(conn)

    async def _store_skip(self, conn: asyncpg.Connection) -> None:
        await conn.execute(_SKIP, self.projection.name, self.position)
        self._stored, self._saved_at = self.position, asyncio.get_running_loop().time()

    async def _apply(self, conn: asyncpg.Connection) -> int:
        """Apply one batch in one transaction with its cursor; returns how far the cursor moved."""
        live = {t: t for t in self.projection.tables}
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", projection_lock(self.projection.name))
            stored: int = await conn.fetchval(_CURSOR, self.projection.name)
            # past what another replica applied, and past what this one skipped (nothing there to apply)
            before = max(stored, self.position)
            after = await _apply_batch(conn, self.store, self.projection, live, before, self.batch)
            if after != stored:
                await _save_position(conn, self.projection, after)
        moved, self.position = after - self.position, after
        self._stored, self._saved_at = after, asyncio.get_running_loop().time()
        return moved

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the read model current until ``stop`` is set, resuming after any outage."""
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.store.url)
                await conn.add_listener(SEALED_CHANNEL, self._on_notify)
                await ensure_tables(conn, self.projection)
                self.position = self._stored = await conn.fetchval(_CURSOR, self.projection.name)
                while not stop.is_set():
                    self._wake.clear()
                    applied = await self.step(conn)
                    self.condition.working()
                    if applied < self.batch:
                        if applied:
                            await pause(stop, self.gather)
                        await wait_any(stop, self._wake, self.safety_poll)
            except DATABASE_AWAY as exc:
                self.condition.failing("the database is unreachable; resuming when it is back", exc)
                await pause(stop, 1.0)
            except Exception:  # a read model never stops for good: it resumes from its cursor, and says why
                log.exception("projection %s: failed; resuming from its cursor in a second", self.projection.name)
                await pause(stop, 1.0)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()


async def _swap_in(conn: asyncpg.Connection, shadow: Mapping[str, str]) -> None:
    """Replace each live table by its shadow, renaming the shadow's indexes to match."""
    for live, table in shadow.items():
        await conn.execute(f'DROP TABLE IF EXISTS "{live}"')
        await conn.execute(f'ALTER TABLE "{table}" RENAME TO "{live}"')
        for index in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = $1", live):
            name = index["indexname"]
            if name.startswith(table):
                await conn.execute(f'ALTER INDEX "{name}" RENAME TO "{live + name[len(table):]}"')


async def rebuild(store: EventStore, projection: Projection, *, batch: int = 2000, progress: Progress | None = None) -> int:
    """Rebuild a projection from position 0 into fresh tables and swap them in; returns its position."""
    shadow = {t: f"{t}__rebuild" for t in projection.tables}
    async with store.pool.acquire() as conn:
        await ensure_tables(conn, projection)
        for table in shadow.values():
            await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        await _create(conn, projection, shadow)
        position = 0
        while True:
            async with conn.transaction():
                after = await _apply_batch(conn, store, projection, shadow, position, batch)
            if progress is not None:
                progress(after, await store.head_position())
            if after == position:
                break
            position = after
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", projection_lock(projection.name))
            while (after := await _apply_batch(conn, store, projection, shadow, position, batch)) != position:
                position = after
            await _swap_in(conn, shadow)
            await _save_position(conn, projection, position)
    return position
