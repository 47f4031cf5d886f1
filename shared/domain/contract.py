"""A service's public event contract: every event type it writes, each with a version.

Each service's ``events.py`` ends with one ``EventContract`` naming its event
structs; it is the only definition of those types. Readers in other services
decode the published JSON form with their own small structs (never importing
the writer), and a contract test proves the two agree. The catalogue built
from all contracts is what partners read (``docs/events.md``, ``/events``).

Evolving an event: add optional fields freely (old events still decode);
anything else is a new version of the type with an upcaster for the old one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec


class Versioned(msgspec.Struct, frozen=True):
    """Base of every stored event: its ``__version__`` (1 unless a breaking change made a new one).
    Frozen, as a recorded fact is (and so that frozen event structs may derive from it under mypy)."""

    __version__: ClassVar[int] = 1


def type_name(event_type: type[Any]) -> str:
    tag = event_type.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{event_type.__name__} needs a string tag: its stored type name")
    return tag


@dataclass(frozen=True)
class EventType:
    """One entry of the catalogue."""

    name: str
    version: int
    summary: str
    personal: tuple[str, ...]
    sealed: tuple[str, ...]
    schema: dict[str, Any]


@dataclass(frozen=True)
class EventContract:
    """The event types one service writes to the log, in the order a reader meets them."""

    service: str
    types: Sequence[type[Any]]

    def __post_init__(self) -> None:
        for event_type in self.types:
            name = type_name(event_type)
            if not name.startswith(f"{self.service}."):
                raise ValueError(f"{name} is not a {self.service} event: its type must start with '{self.service}.'")
            if not isinstance(getattr(event_type, "__version__", None), int):
                raise TypeError(f"{name} has no __version__: derive it from shared.domain.contract.Versioned")

    def catalogue(self) -> list[EventType]:
        return [
            EventType(
                name=type_name(t), version=t.__version__, summary=" ".join((t.__doc__ or "").split()),
                personal=tuple(getattr(t, "__personal__", ())), sealed=tuple(getattr(t, "__sealed__", ())),
                schema=msgspec.json.schema(t),
            )
            for t in self.types
        ]
