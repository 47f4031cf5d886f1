"""The one generic command handler every service uses, around a pure decider.

It loads the stream, folds it, decides, and appends with the expected
version, retrying a bounded number of times when another writer got there
first. A per-stream state cache lets a load read only the newer events.

Within a process, writers of one stream queue (``StateCache.lock``); between
replicas the expected-version check arbitrates, and a loser waits a short,
random, growing pause before it tries again, so two busy replicas writing
one stream (members voting at once, spread over both) take turns instead
of one of them losing every race.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.domain.decider import Decider, event_type_name
from shared.domain.errors import ConcurrencyConflict, NotFound, StaleState
from shared.domain.ids import new_id
from shared.eventlog import trace
from shared.eventlog.envelope import AppendResult, Metadata, NewEvent
from shared.eventlog.store import EventLog

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")


class StateCache(Generic[S]):
    """The last folded state of recently used streams, so a load reads only newer events.

    States must be immutable (deciders return new states), which makes sharing
    them between requests safe.
    """

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self._states: OrderedDict[str, tuple[int, S]] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, stream_id: str) -> asyncio.Lock:
        """One writer per stream in this process: concurrent commands queue instead of
        conflicting (members voting at once on one proposal); the log's expected-version
        check still arbitrates between processes."""
        found = self._locks.get(stream_id)
        if found is None:
            found = asyncio.Lock()
            self._locks[stream_id] = found
        return found

    def get(self, stream_id: str) -> tuple[int, S] | None:
        found = self._states.get(stream_id)
        if found is not None:
            self._states.move_to_end(stream_id)
        return found

    def clear(self) -> None:
        """Forget every cached state (after a person was forgotten, say)."""
        self._states.clear()

    def put(self, stream_id: str, version: int, state: S) -> None:
        current = self._states.get(stream_id)
        if current is None or current[0] < version:
            self._states[stream_id] = (version, state)
            self._states.move_to_end(stream_id)
            while len(self._states) > self.size:
                self._states.popitem(last=False)


async def load(
    store: EventLog, decider: Decider[C, S, E], stream_id: str, cache: StateCache[S] | None = None,
    *, again: bool = False,
) -> tuple[S, int]:
    """A stream's current state and version, folding only what the cache has not seen.

    A cached state this request already found current is not read again (``trace.read_head``), nor one
    the request may assume current because its append will check it (``trace.assume``), unless ``again``
    (after a conflict)."""
    cached = cache.get(stream_id) if cache is not None else None
    version, state = cached if cached is not None else (0, decider.initial_state())
    if cached is not None and not again and (trace.read_head(stream_id) == version
                                             or trace.assume(stream_id, version)):
        return state, version
    fresh = await store.read_stream(stream_id, after_version=version, unsealed=decider.reads_sealed)
    if fresh:
        state = decider.fold((decider.decode(r) for r in fresh), state)
        version = fresh[-1].stream_version
        if cache is not None:
            cache.put(stream_id, version, state)
    trace.saw_head(stream_id, version)
    return state, version


async def load_in_group(
    store: EventLog, decider: Decider[C, S, E], stream_id: str, cache: StateCache[S] | None,
    group_id: uuid.UUID, group_of: Callable[[S], uuid.UUID | None], what: str,
) -> S:
    """A stream's state, or 404 when it does not exist in this group (another group's data does not exist)."""
    state, _ = await load(store, decider, stream_id, cache)
    if group_of(state) != group_id:
        raise NotFound(f"no such {what} in this group")
    return state


async def handle_in_group(
    store: EventLog, decider: Decider[C, S, E], command: C, *, stream_id: str, cache: StateCache[S] | None,
    group_id: uuid.UUID, group_of: Callable[[S], uuid.UUID | None], what: str,
) -> S:
    """Run a command on an existing stream of this group; the new state."""
    await load_in_group(store, decider, stream_id, cache, group_id, group_of, what)
    done = await handle(store, decider, command, group_id=group_id, stream_id=stream_id, cache=cache)
    return done.state


@dataclass(frozen=True)
class Handled(Generic[S, E]):
    """What a handled command produced: the new events, the state after them."""

    state: S
    events: list[E]
    result: AppendResult | None
    version: int


async def handle(
    store: EventLog,
    decider: Decider[C, S, E],
    command: C,
    *,
    group_id: uuid.UUID,
    stream_id: str,
    metadata: Metadata | None = None,
    idempotency_key: str | None = None,
    idempotency_scope: str = "",
    request_hash: bytes = b"",
    attempts: int = 12,
    cache: StateCache[S] | None = None,
    optimistic: bool = False,
) -> Handled[S, E]:
    """Load, fold, decide, fold the new events, append; retry on a concurrency conflict.

    ``optimistic`` (with a cache): the first attempt decides on the cached state without reading the
    stream; an append at a stale version is a conflict and is decided again on the stream as read, and
    so is a refusal, or a decision to do nothing, made on a state not read during this request.

    A decider that decides nothing appends nothing. Errors the decider raises
    (``CommandRejected``, ``InvalidCommand``) reach the caller unchanged.
    """
    # one writer per stream in this process when there is a cache (see ``StateCache.lock``)
    async with cache.lock(stream_id) if cache is not None else contextlib.nullcontext():
        for attempt in range(attempts):
            cached = cache.get(stream_id) if cache is not None and optimistic and attempt == 0 else None
            if cached is not None:
                # decide on the cached state without reading: the append's expected version checks it is current
                version, state = cached
                known = trace.read_head(stream_id) == version
            else:
                state, version = await load(store, decider, stream_id, cache, again=attempt > 0)
                known = True
            try:
                events = list(decider.decide(command, state))
            except Exception:
                if known:
                    raise
                continue  # refused on a state not read just now: only the current state may refuse
            if not events:
                if not known:
                    continue
                return Handled(state=state, events=[], result=None, version=version)
            # folded before the append: an event the state cannot take is refused with nothing written
            after = decider.fold(events, state)
            # an event that carries its own ``event_id`` (chosen by the shell, on the command) keeps it
            new = [NewEvent(id=getattr(e, "event_id", None) or new_id(), type=event_type_name(e), data=e) for e in events]
            try:
                result = await store.append(
                    group_id=group_id, stream_id=stream_id, events=new, expected_version=version,
                    metadata=metadata, idempotency_key=idempotency_key,
                    idempotency_scope=idempotency_scope, request_hash=request_hash,
                )
            except StaleState:
                raise  # decided on a state read nowhere in this run: the whole request runs again
            except ConcurrencyConflict:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** attempt)))  # another replica's turn
                continue
            if result.duplicate:
                # another request with the same idempotency key won: the caller answers from the stored events
                return Handled(state=state, events=[], result=result, version=result.stream_version)
            if cache is not None:
                cache.put(stream_id, result.stream_version, after)
            return Handled(state=after, events=events, result=result, version=result.stream_version)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Idempotency:
    """A request's key (None: no header), the caller's scope for it, and the hash that tells a
    true repeat from another request reusing the key (422)."""

    key: str | None = None
    scope: str = ""
    request_hash: bytes = b""


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
    optimistic: bool = False,
) -> tuple[S, list[E]]:
    """Run a command once per key: the state after it and the events it recorded, the same for a repeat.
    Who acted comes from the work's trace (``shared.eventlog.trace``) where ``metadata`` leaves it out."""
    if once.key and (prior := await store.idempotent_result(once.scope, once.key, once.request_hash)) is not None:
        return await _answered(store, decider, prior)
    done = await handle(store, decider, command, group_id=group_id, stream_id=stream_id, metadata=metadata,
                        idempotency_key=once.key, idempotency_scope=once.scope, request_hash=once.request_hash,
                        cache=cache, optimistic=optimistic)
    if done.result is not None and done.result.duplicate:
        return await _answered(store, decider, done.result)
    return done.state, done.events


async def _answered(store: EventLog, decider: Decider[C, S, E], result: AppendResult) -> tuple[S, list[E]]:
    """The state right after the first run's events, and those events, as the first answer saw them."""
    recorded = [r for r in await store.read_stream(result.stream_id, unsealed=decider.reads_sealed)
                if r.stream_version <= result.stream_version]
    ids = set(result.event_ids)
    events = [decider.decode(r) for r in recorded if r.id in ids]
    return decider.fold(decider.decode(r) for r in recorded), events
