"""The decider contract: the pure core of every aggregate.

A decider is three pure functions (the functional event-sourcing pattern):
``decide(command, state) -> events`` and ``evolve(state, event) -> state``
from ``initial_state``. No I/O, clock or random inside: ids and times come in
on the command, so a replay sees exactly what the live system saw. The shell
that loads, decides and appends lives in ``shared.eventlog.handler``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from shared.domain.contract import UpcastingDecoder

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")


class Stored(Protocol):
    """Anything that carries a stored event's JSON payload (the log's ``RecordedEvent``, say)."""

    @property
    def data(self) -> bytes: ...


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
    reads_sealed: bool = False
    """Its state folds sealed contents before they are released (decisions' proposals, which count
    sealed ballots and enforce their visibility): the shell loads its streams with every seal open."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_decoder", UpcastingDecoder(self.event_type))

    def fold(self, events: Iterable[E], state: S | None = None) -> S:
        current = self.initial_state() if state is None else state
        for event in events:
            current = self.evolve(current, event)
        return current

    def decode(self, recorded: Stored) -> E:
        """A stored event's JSON payload as the aggregate's event struct (an older version upcast first)."""
        result: E = self._decoder.decode(recorded.data)  # type: ignore[attr-defined]
        return result


def event_type_name(event: object) -> str:
    """The stored type of an event struct: its msgspec tag."""
    tag = type(event).__struct_config__.tag  # type: ignore[attr-defined]
    if not isinstance(tag, str):
        raise TypeError(f"{type(event).__name__} needs a string tag to be stored as an event")
    return tag


