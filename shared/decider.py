"""Deciders and the one generic command handler every service uses.

A decider is three pure functions (the functional event-sourcing pattern):
``decide(command, state) -> events`` and ``evolve(state, event) -> state``
from ``initial_state``. No I/O, clock or random inside: ids and times come in
on the command. The handler around it loads the stream, folds it, decides,
and appends with the expected version, retrying a bounded number of times
when another writer got there first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from shared.envelope import AppendResult, Metadata, NewEvent, RecordedEvent
from shared.errors import ConcurrencyConflict
from shared.ids import new_id
from shared.store import EventStore

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")


@dataclass(frozen=True)
class Decider(Generic[C, S, E]):
    """The pure core of a service's aggregate.

    ``event_type`` is the tagged union of the aggregate's events, used to
    decode its stream; each event struct's tag is its stored type name.
    """

    initial_state: Callable[[], S]
    decide: Callable[[C, S], Sequence[E]]
    evolve: Callable[[S, E], S]
    event_type: Any

    def fold(self, events: Iterable[E], state: S | None = None) -> S:
        current = self.initial_state() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current

    def decode(self, recorded: RecordedEvent) -> E:
        result: E = msgspec.json.decode(recorded.data, type=self.event_type)
        return result


def event_type_name(event: object) -> str:
    """The stored type of an event struct: its msgspec tag."""
    tag = type(event).__struct_config__.tag  # type: ignore[attr-defined]
    if not isinstance(tag, str):
        raise TypeError(f"{type(event).__name__} needs a string tag to be stored as an event")
    return tag


@dataclass(frozen=True)
class Handled(Generic[S, E]):
    """What a handled command produced: the new events, the state after them."""

    state: S
    events: list[E]
    result: AppendResult | None
    version: int


async def handle(
    store: EventStore,
    decider: Decider[C, S, E],
    command: C,
    *,
    group_id: uuid.UUID,
    stream_id: str,
    metadata: Metadata | None = None,
    idempotency_key: str | None = None,
    idempotency_scope: str = "",
    request_hash: bytes = b"",
    attempts: int = 5,
) -> Handled[S, E]:
    """Load, fold, decide, append; retry on a concurrency conflict.

    A decider that decides nothing appends nothing. Errors the decider raises
    (``CommandRejected``, ``InvalidCommand``) reach the caller unchanged.
    """
    for attempt in range(attempts):
        recorded = await store.read_stream(stream_id)
        history = [decider.decode(r) for r in recorded]
        state = decider.fold(history)
        version = recorded[-1].stream_version if recorded else 0
        events = list(decider.decide(command, state))
        if not events:
            return Handled(state=state, events=[], result=None, version=version)
        # an event that carries its own ``event_id`` (chosen by the shell, on the command) keeps it
        new = [NewEvent(id=getattr(e, "event_id", None) or new_id(), type=event_type_name(e), data=e) for e in events]
        try:
            result = await store.append(
                group_id=group_id, stream_id=stream_id, events=new, expected_version=version,
                metadata=metadata, idempotency_key=idempotency_key,
                idempotency_scope=idempotency_scope, request_hash=request_hash,
            )
        except ConcurrencyConflict:
            if attempt == attempts - 1:
                raise
            continue
        if result.duplicate:
            # another request with the same idempotency key won: answer with its state
            recorded = await store.read_stream(stream_id)
            state = decider.fold(decider.decode(r) for r in recorded)
            return Handled(state=state, events=[], result=result, version=result.stream_version)
        return Handled(state=decider.fold(events, state), events=events, result=result, version=result.stream_version)
    raise AssertionError("unreachable")
