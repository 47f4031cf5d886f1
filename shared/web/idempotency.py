"""Writes that accept an ``Idempotency-Key``: a repeat answers from the first run's events.

The API conventions promise this for every write in every service; the log
already stores each key with a hash of its request (``copro_append``), so a
shell needs only to read the header and, for a repeat, rebuild its answer
from the events the first request stored, instead of deciding again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from litestar import Request

from shared.domain.decider import Decider
from shared.eventlog.envelope import AppendResult, Metadata
from shared.eventlog.handler import StateCache, handle
from shared.eventlog.store import EventLog

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")


@dataclass(frozen=True)
class Idempotency:
    """A request's key (None: no header), the caller's scope for it, and the hash that tells a
    true repeat from another request reusing the key (422)."""

    key: str | None = None
    scope: str = ""
    request_hash: bytes = b""


async def idempotency(request: Request[Any, Any, Any], scope: str) -> Idempotency:
    """The request's ``Idempotency-Key``, hashed with its method, path and body, within ``scope``
    (the same key from two callers names two requests)."""
    key = request.headers.get("idempotency-key")
    if not key:
        return Idempotency(scope=scope)
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).digest()
    return Idempotency(key=key, scope=scope, request_hash=digest)


async def execute(
    store: EventLog,
    decider: Decider[C, S, E],
    command: C,
    *,
    group_id: uuid.UUID,
    stream_id: str,
    once: Idempotency,
    metadata: Metadata | None = None,
    cache: StateCache[S] | None = None,
) -> tuple[S, list[E]]:
    """Run a command once per key: the state after it and the events it recorded, the same for a repeat.
    Who acted comes from the work's trace (``shared.eventlog.trace``) where ``metadata`` leaves it out."""
    if once.key and (prior := await store.idempotent_result(once.scope, once.key, once.request_hash)) is not None:
        return await _answered(store, decider, prior)
    done = await handle(store, decider, command, group_id=group_id, stream_id=stream_id, metadata=metadata,
                        idempotency_key=once.key, idempotency_scope=once.scope, request_hash=once.request_hash,
                        cache=cache)
    if done.result is not None and done.result.duplicate:
        return await _answered(store, decider, done.result)
    return done.state, done.events


async def _answered(store: EventLog, decider: Decider[C, S, E], result: AppendResult) -> tuple[S, list[E]]:
    """The state right after the first run's events, and those events, as the first answer saw them."""
    recorded = [r for r in await store.read_stream(result.stream_id) if r.stream_version <= result.stream_version]
    ids = set(result.event_ids)
    events = [decider.decode(r) for r in recorded if r.id in ids]
    return decider.fold(decider.decode(r) for r in recorded), events
