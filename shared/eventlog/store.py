"""The PostgreSQL event store: append with optimistic concurrency, read, follow.

An append is one round trip in its own short transaction, so concurrent
writers keep PostgreSQL's group commit: one statement for one event, else
``copro_append`` (``shared.eventlog.appending``); appends that meet others
under load gather into batches (``shared.eventlog.batching``). Readers see
an event once the sealer has given it a global position; a read by stream
also shows events that are not sealed yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol, cast

import asyncpg
import msgspec

from shared.domain.errors import ConcurrencyConflict, Forbidden, IdempotencyMismatch
from shared.domain.ids import utc_now
from shared.eventlog import integrity, trace
from shared.eventlog.appending import append_on, refusal
from shared.eventlog.batching import Batcher, Held, PreparedAppend
from shared.eventlog.envelope import AppendResult, Metadata, NewEvent, RecordedEvent
from shared.eventlog.keys import Keyring
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.signal import AppendSignal
from shared.runtime.metrics import APPENDS

log = logging.getLogger(__name__)


class _PoolFloorRetries(logging.Filter):
    """asyncpg logs a traceback each time it fails to refill its pool while the database is away; the outage
    is said once where it is met (``shared/web/problems.py``, the background roles' ``Condition``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "connection floor" not in record.getMessage()


logging.getLogger("asyncpg.pool").addFilter(_PoolFloorRetries())

SEALED_CHANNEL = "copro_sealed"
HEAD = "SELECT coalesce(max(position), 0) FROM log"
"""The last sealed global position (0 for an empty log)."""

_COLUMNS = (
    "e.id, e.group_id, e.stream_id, e.stream_version, e.type, e.payload, e.actor_id, e.actor_org,"
    " e.causation_id, e.correlation_id, e.recorded_at, e.content_hash, e.chain_hash"
)
# Each log row's event by its key (a LATERAL with LIMIT cannot become a hash join): a follower's long-lived
# prepared statement keeps the plan it made when the log was small, and a plan that scans ``events`` then
# would cost the whole log on every page as it grows (seen under load before this form)
EVENT_OF = "CROSS JOIN LATERAL (SELECT * FROM events WHERE events.seq = l.seq LIMIT 1) e"
_READ_ALL = (
    f"SELECT l.position, l.global_hash, {_COLUMNS} FROM log l {EVENT_OF}"
    " WHERE l.position > $1 ORDER BY l.position LIMIT $2"
)
_READ_ALL_GROUP = (
    f"SELECT l.position, l.global_hash, {_COLUMNS} FROM log l {EVENT_OF}"
    " WHERE l.position > $1 AND e.group_id = $3 ORDER BY l.position LIMIT $2"
)
_READ_STREAM = (
    # the LIMIT keeps the lateral lookup a per-event index probe of ``log``, whatever the planner's estimates
    f"SELECT l.position, l.global_hash, {_COLUMNS} FROM events e"
    " LEFT JOIN LATERAL (SELECT position, global_hash FROM log WHERE log.seq = e.seq LIMIT 1) l ON true"
    " WHERE e.stream_id = $1 AND e.stream_version > $2 ORDER BY e.stream_version"
)

# The last position of an event recorded by a time: walks the log back from its head (by index),
# so its cost is what was recorded since, never the whole log.
POSITION_AS_OF = (
    "SELECT coalesce((SELECT l.position FROM log l JOIN events e ON e.seq = l.seq WHERE e.recorded_at <= $1"
    " ORDER BY l.position DESC LIMIT 1), 0)"
)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's per-release reset (a round trip per append).

    Store connections never hold session state: no LISTEN, advisory locks,
    cursors or SET; those live on the sealer's, signal's and followers' own
    connections. asyncpg still rolls back a transaction left open before it
    calls this.
    """


class EventLog(Protocol):
    """What a command handler needs of a log: read a stream, append with an expected version,
    answer a repeated idempotency key. ``EventStore`` (PostgreSQL) and the in-memory store of the
    unit tests (``shared.eventlog.memory``) both provide it."""

    async def append(
        self, *, group_id: uuid.UUID, stream_id: str, events: Sequence[NewEvent], expected_version: int | None,
        metadata: Metadata | None = None, idempotency_key: str | None = None, idempotency_scope: str = "",
        request_hash: bytes = b"", recorded_at: datetime | None = None, guard: tuple[str, int] | None = None,
    ) -> AppendResult: ...

    async def idempotent_result(self, scope: str, key: str, request_hash: bytes) -> AppendResult | None: ...

    async def read_stream(
        self, stream_id: str, after_version: int = 0, *, unsealed: bool = False
    ) -> list[RecordedEvent]: ...


class EventStore:
    """The one log every service shares."""

    def __init__(self, pool: asyncpg.Pool, url: str, lanes: int = 1) -> None:
        self.pool = pool
        self.url = url
        self.signal = AppendSignal(url)
        self.batcher = Batcher(pool)
        self.keys = Keyring(pool)
        if lanes < 1 or (lanes > 1 and lanes > pool.get_max_size() - 2):
            # each lane keeps a connection of the pool: with none left over, reads and batches would wait forever
            raise ValueError(f"{lanes} lanes need a pool of at least {lanes + 2} connections (a batch, a read)")
        # the connections of appends that go alone, one append at a time each; with none free, appends gather
        self._lanes = [Held(pool) for _ in range(lanes)]
        self._free = list(self._lanes)

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 2, max_size: int = 10, lanes: int = 1) -> EventStore:
        """A store on a new pool. ``lanes``: how many appends may go alone at once, each on a connection
        it holds (1, the services': under load their appends gather into batches, which measured faster
        for ballots than one commit each; a writer process of its own may want one per writer)."""
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, reset=_keep_session)
        try:
            return cls(pool, url, lanes)
        except ValueError:
            await pool.close()
            raise

    async def close(self) -> None:
        await self.batcher.close()
        await self.signal.close()
        for lane in self._lanes:
            await lane.drop()
        await self.pool.close()

    def forget_cached_key(self, subject: uuid.UUID) -> None:
        self.keys.forget(subject)

    # -- writing -----------------------------------------------------------------

    async def append(
        self,
        *,
        group_id: uuid.UUID,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None,
        metadata: Metadata | None = None,
        idempotency_key: str | None = None,
        idempotency_scope: str = "",
        request_hash: bytes = b"",
        recorded_at: datetime | None = None,
        guard: tuple[str, int] | None = None,
    ) -> AppendResult:
        """Append ``events`` to a stream that must be at ``expected_version``.

        ``expected_version`` 0 means the stream must not exist yet; ``None``
        skips the check. Resending the same event ids, or the same
        idempotency key, stores nothing and answers the first result again.
        ``guard`` (stream, version) refuses the append as ``StaleState`` (a
        ``ConcurrencyConflict``) unless that other stream is at that version (0: does
        not exist), checked in the same call: a decision that read two streams appends
        to one of them. Without one, the work's own assumption is the guard
        (``trace.guard``), and a stored append marks it checked.
        """
        if not events:
            raise ValueError("append needs at least one event")
        guard = guard or trace.guard(stream_id)
        meta = trace.complete(metadata)  # who acted and why, from the work in progress where not given
        at = recorded_at or utc_now()
        plain = [self.keys.plain(event.data) for event in events]
        # personal, sealed or releasing fields: their stored bytes take keys
        payloads = [p if p is not None else await self.keys.stored(e) for e, p in zip(events, plain, strict=True)
                    ] if None in plain else cast(list[bytes], plain)
        hasher = integrity.content_hasher(
            group_id=group_id, stream_id=stream_id, actor_id=meta.actor_id, actor_org=meta.actor_org,
            causation_id=meta.causation_id, correlation_id=meta.correlation_id, recorded_at=at,
        )
        hashes = [hasher(e.id, e.type, p) for e, p in zip(events, payloads, strict=True)]
        ids = [e.id for e in events]
        prepared = PreparedAppend(
            group_id=group_id, stream_id=stream_id, expected_version=expected_version,
            ids=ids, types=[e.type for e in events], payloads=payloads, hashes=hashes,
            actor_id=meta.actor_id, actor_org=meta.actor_org, causation_id=meta.causation_id,
            correlation_id=meta.correlation_id, recorded_at=at,
            idempotency_scope=idempotency_scope, idempotency_key=idempotency_key, request_hash=request_hash,
            guard_stream=None if guard is None else guard[0], guard_version=None if guard is None else guard[1],
        )
        try:
            duplicate, version, first_ids = await self._submit(prepared)
        except (ConcurrencyConflict, IdempotencyMismatch, Forbidden):
            raise  # refused, nothing stored (a guard that moved: StaleState, and the request may run again)
        except BaseException:
            # the answer was lost (the connection dropped, the caller was cancelled): the events may be stored,
            # so this work must not be run again as if it had appended nothing
            trace.appended()
            raise
        # a known idempotency key is answered before the guard is looked at: another request's answer checked
        # nothing this work assumed (its own events found stored did: its guard passed when they were)
        trace.appended(checked=not duplicate or first_ids is None or set(first_ids) == set(ids))
        if not duplicate:
            self.signal.poke()
            APPENDS.inc(len(events))
        return AppendResult(
            stream_id=stream_id, stream_version=version, event_ids=list(first_ids or ids), duplicate=duplicate
        )

    async def _submit(
        self, prepared: PreparedAppend
    ) -> tuple[bool, int, list[uuid.UUID] | None]:
        """Alone on a free lane while no batch is gathering or on its way, else through the batcher;
        a batched request that needs a closer look goes again alone."""
        if self._free and self.batcher.idle:
            lane = self._free.pop()
            try:
                return await append_on(await lane.get(), prepared)
            except (ConcurrencyConflict, IdempotencyMismatch, Forbidden, asyncpg.PostgresError):
                raise  # the database answered: the connection is fine
            except BaseException:
                # away, broken, or left mid-call by a cancelled caller: the pool resets or closes it
                await lane.drop()
                raise
            finally:
                self._free.append(lane)
        duplicate, version, first_ids, sqlstate, message = await self.batcher.submit(prepared)
        if sqlstate is None:
            assert duplicate is not None and version is not None
            return duplicate, version, first_ids
        if (refused := refusal(sqlstate, message or "")) is not None:
            raise refused
        async with self.pool.acquire() as conn:  # CP409 and unique violations: the exact answer, alone
            return await append_on(conn, prepared)

    async def idempotent_result(self, scope: str, key: str, request_hash: bytes) -> AppendResult | None:
        """The first answer to an idempotency key, if it was used before."""
        row = await self.pool.fetchrow(
            "SELECT request_hash, stream_id, stream_version, event_ids FROM idempotency WHERE scope = $1 AND key = $2",
            scope, key,
        )
        if row is None:
            return None
        if bytes(row["request_hash"]) != request_hash:
            raise IdempotencyMismatch(f"idempotency key {key} was used for a different request", field="Idempotency-Key")
        return AppendResult(
            stream_id=row["stream_id"], stream_version=row["stream_version"],
            event_ids=list(row["event_ids"]), duplicate=True,
        )

    # -- reading -----------------------------------------------------------------

    async def _records(
        self, conn: asyncpg.Connection, rows: list[asyncpg.Record], decrypt: bool = True, unsealed: bool = False
    ) -> list[RecordedEvent]:
        payloads: list[bytes] = [row[7] for row in rows]
        if decrypt:
            payloads = await self.keys.opened(conn, [row[2] for row in rows], payloads, unsealed)
        out = []
        for (position, global_hash, id_, group_id, stream_id, version, type_, _, actor_id, actor_org,
             causation_id, correlation_id, recorded_at, content_hash, chain_hash), data in zip(
                rows, payloads, strict=True):
            out.append(
                RecordedEvent(
                    id=id_, group_id=group_id, stream_id=stream_id, stream_version=version,
                    position=position, type=type_, data=msgspec.Raw(data),
                    metadata=Metadata(
                        actor_id=actor_id, actor_org=actor_org,
                        causation_id=causation_id, correlation_id=correlation_id,
                    ),
                    recorded_at=recorded_at, content_hash=content_hash, chain_hash=chain_hash,
                    global_hash=global_hash,
                )
            )
        return out

    async def read_stream(
        self, stream_id: str, after_version: int = 0, *, unsealed: bool = False
    ) -> list[RecordedEvent]:
        """Every event of one stream in version order, given a global position or not yet.

        Sealed fields are opened once their key is released; ``unsealed`` opens them all, for
        the one service that enforces their visibility (decisions, to count and check ballots).
        """
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_READ_STREAM, stream_id, after_version)
            return await self._records(conn, rows, unsealed=unsealed)

    async def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        *,
        group_id: uuid.UUID | None = None,
        decrypt: bool = True,
    ) -> list[RecordedEvent]:
        """Sealed events after a global position, in global order, gap-free.

        ``decrypt=False`` returns payloads exactly as stored, personal fields
        still encrypted and ballots sealed: what may leave the database for good
        (NATS, exports). Otherwise seals are opened where their key was released.
        """
        async with self.pool.acquire() as conn:
            if group_id is None:
                rows = await conn.fetch(_READ_ALL, after_position, limit)
            else:
                rows = await conn.fetch(_READ_ALL_GROUP, after_position, limit, group_id)
            return await self._records(conn, rows, decrypt)

    async def pages(
        self, after_position: int = 0, limit: int = 1000, *, last: int | None = None,
        group_id: uuid.UUID | None = None, decrypt: bool = True,
    ) -> AsyncIterator[list[RecordedEvent]]:
        """``read_all`` page after page, up to ``last`` (the head when called, by default), each page
        asked for as soon as the one before it arrives: PostgreSQL finds the next rows while the caller
        works on these (a replay, a bulk read; joining each log row to its event is half a read's time)."""
        end = await self.head_position() if last is None else last

        async def page_after(position: int) -> list[RecordedEvent]:
            page = await self.read_all(position, limit, group_id=group_id, decrypt=decrypt)
            return page if not page or (page[-1].position or 0) <= end else [
                e for e in page if (e.position or 0) <= end]

        upcoming = asyncio.ensure_future(page_after(after_position)) if after_position < end else None
        try:
            while upcoming is not None:
                page = await upcoming
                if not page:
                    return
                position = page[-1].position or end
                upcoming = asyncio.ensure_future(page_after(position)) if position < end else None
                yield page
        finally:
            if upcoming is not None:  # the caller stopped early: the page on its way is not wanted
                upcoming.cancel()
                with contextlib.suppress(asyncio.CancelledError, *DATABASE_AWAY, asyncpg.PostgresError):
                    await upcoming

    async def head_position(self) -> int:
        """The last sealed global position (0 for an empty log)."""
        value = await self.pool.fetchval(HEAD)
        return int(value)
