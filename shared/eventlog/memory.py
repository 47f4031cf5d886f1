"""An in-memory event log with the append semantics of the PostgreSQL store.

For handler tests that need no database: the expected-version check (a stale
append is a ``ConcurrencyConflict``), idempotency by event ids and by key, and
stream order, the guard on another stream's version. It keeps no global order, hashes, encryption or seals: those are the
real store's invariants and are tested against the real PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec

from shared.domain.errors import ConcurrencyConflict, IdempotencyMismatch, StaleState
from shared.domain.ids import utc_now
from shared.eventlog import trace
from shared.eventlog.envelope import AppendResult, Metadata, NewEvent, RecordedEvent
from shared.eventlog.store import EventLog


class InMemoryEventStore(EventLog):
    """Streams in a dict; enough of ``EventStore`` for ``shared.eventlog.handler`` and the shells' idempotency."""

    def __init__(self) -> None:
        self.streams: dict[str, list[RecordedEvent]] = {}
        self._by_id: dict[uuid.UUID, RecordedEvent] = {}
        self._keys: dict[tuple[str, str], tuple[bytes, AppendResult]] = {}

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
        if not events:
            raise ValueError("append needs at least one event")
        if idempotency_key is not None and (prior := await self.idempotent_result(
                idempotency_scope, idempotency_key, request_hash)) is not None:
            trace.appended(checked=False)  # answered before the guard, as ``copro_append`` does: it checked nothing
            return prior
        if (first := self._by_id.get(events[0].id)) is not None:
            ids = [e.id for e in events]
            trace.appended()
            return AppendResult(stream_id=first.stream_id, stream_version=max(self._by_id[i].stream_version for i in ids
                                if i in self._by_id), event_ids=ids, duplicate=True)
        guard = guard or trace.guard(stream_id)
        if guard is not None and (at_guard := len(self.streams.get(guard[0], []))) != guard[1]:
            raise StaleState(f"stream {guard[0]} is at version {at_guard}, the append is guarded by {guard[1]}")
        stream = self.streams.setdefault(stream_id, [])
        if expected_version is not None and expected_version != len(stream):
            raise ConcurrencyConflict(f"stream {stream_id} is at version {len(stream)}, not {expected_version}")
        at = recorded_at or utc_now()
        for event in events:
            recorded = RecordedEvent(
                id=event.id, group_id=group_id, stream_id=stream_id, stream_version=len(stream) + 1, position=None,
                type=event.type, data=msgspec.Raw(msgspec.json.encode(event.data)), metadata=metadata or Metadata(),
                recorded_at=at, content_hash=b"", chain_hash=b"",
            )
            stream.append(recorded)
            self._by_id[event.id] = recorded
        trace.appended()
        result = AppendResult(stream_id=stream_id, stream_version=len(stream), event_ids=[e.id for e in events])
        if idempotency_key is not None:
            self._keys[(idempotency_scope, idempotency_key)] = (request_hash, msgspec.structs.replace(result, duplicate=True))
        return result

    async def idempotent_result(self, scope: str, key: str, request_hash: bytes) -> AppendResult | None:
        found = self._keys.get((scope, key))
        if found is None:
            return None
        if found[0] != request_hash:
            raise IdempotencyMismatch(f"idempotency key {key} was used for a different request", field="Idempotency-Key")
        return found[1]

    async def read_stream(
        self, stream_id: str, after_version: int = 0, *, unsealed: bool = False
    ) -> list[RecordedEvent]:
        return [r for r in self.streams.get(stream_id, []) if r.stream_version > after_version]
