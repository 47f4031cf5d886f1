"""A service's public event contract: every event type it writes, each with a version.

Each service's ``events.py`` ends with one ``EventContract`` naming its event
structs; it is the only definition of those types. Readers in other services
decode the published JSON form with their own small structs (never importing
the writer), and a contract test proves the two agree. The catalogue built
from all contracts is what partners read (``docs/events.md``, ``/events``).

Evolving an event (the policy, also in ``docs/events.md``):

- add an optional field (with a default) freely: every stored event still decodes, as it is;
- anything else (a field renamed, removed, retyped or made required, a meaning changed) is a breaking
  change: raise the type's ``__version__`` and declare, on the struct, an ``Upcaster`` to that version
  that recognises a payload stored before it and rewrites it into the new shape. The stored bytes never
  change (the log is append-only and hashed); the kernel's decode path (``UpcastingDecoder``, used by
  every decider and by ``RecordedEvent.decode``) upcasts as it reads, oldest step first.
- a type's name never changes and is never reused; old payloads are kept as test fixtures
  (``tests/fixtures/events/``) and ``tests/unit/test_upcasting.py`` decodes every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, get_args

import msgspec


class Versioned(msgspec.Struct, frozen=True):
    """Base of every stored event: its ``__version__`` (1 unless a breaking change made a new one).
    Frozen, as a recorded fact is (and so that frozen event structs may derive from it under mypy)."""

    __version__: ClassVar[int] = 1


@dataclass(frozen=True)
class Upcaster:
    """The bridge of one breaking change: ``stored_before(payload)`` recognises a payload written before
    ``version`` (by its shape: a field it lacks or still has), and ``upcast`` rewrites it into that version's
    shape. Declared on the event struct: ``__upcasters__ = (Upcaster(2, ...),)``."""

    version: int
    stored_before: Callable[[dict[str, Any]], bool]
    upcast: Callable[[dict[str, Any]], dict[str, Any]]


def same_shape(version: int) -> Upcaster:
    """The upcaster of a version that changed how fields travel, not the shape copro reads: a field made
    personal travels encrypted and reads as null once its person is forgotten. Nothing to rewrite."""
    return Upcaster(version, stored_before=lambda payload: False, upcast=lambda payload: payload)


def upcasters_of(event_type: type[Any]) -> tuple[Upcaster, ...]:
    found: tuple[Upcaster, ...] = getattr(event_type, "__upcasters__", ())
    return tuple(sorted(found, key=lambda u: u.version))


class _Typed(msgspec.Struct):
    type: str = ""


_PEEK = msgspec.json.Decoder(_Typed)


class UpcastingDecoder:
    """Decodes stored payloads as ``target`` (an event struct or a tagged union of them), bringing a payload
    of an older version up to the current one first. Types without upcasters cost nothing extra."""

    def __init__(self, target: Any) -> None:
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(target)
        members = [m for m in (get_args(target) or (target,)) if isinstance(m, type)]
        self._chains = {type_name(m): chain for m in members if (chain := upcasters_of(m))}
        if not self._chains:  # nothing to upcast: reads call msgspec's decoder directly (a Python call less per event)
            self.decode = self._decoder.decode  # type: ignore[method-assign,assignment]

    def decode(self, data: bytes) -> Any:
        if self._chains and (chain := self._chains.get(_PEEK.decode(data).type)):
            payload = msgspec.json.decode(data)
            for step in chain:
                if step.stored_before(payload):
                    payload = step.upcast(payload)
            data = msgspec.json.encode(payload)
        return self._decoder.decode(data)


_DECODERS: dict[Any, UpcastingDecoder] = {}


def decoder_for(target: Any) -> UpcastingDecoder:
    """One decoder per target type, made once."""
    found = _DECODERS.get(target)
    if found is None:
        found = _DECODERS[target] = UpcastingDecoder(target)
    return found


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
    private: tuple[str, ...] = ()


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
            steps = [u.version for u in upcasters_of(event_type)]
            if steps != list(range(2, event_type.__version__ + 1)):
                raise TypeError(f"{name} is version {event_type.__version__}: it needs one upcaster to each version "
                                f"after 1 (has {steps})")
            if not set(private := getattr(event_type, "__private__", ())) <= set(getattr(event_type, "__personal__", ())):
                raise TypeError(f"{name}: a private field is a personal field too (encrypted, erasable): {private}")

    def catalogue(self) -> list[EventType]:
        return [
            EventType(
                name=type_name(t), version=t.__version__, summary=" ".join((t.__doc__ or "").split()),
                personal=tuple(getattr(t, "__personal__", ())), sealed=tuple(getattr(t, "__sealed__", ())),
                schema=_as_it_travels(t), private=tuple(getattr(t, "__private__", ())),
            )
            for t in self.types
        ]


PERSONAL_TEXT = {"type": "string", "pattern": "^pii:v1:"}
"""How a personal field travels where it is not opened (NATS, exports): its value encrypted as text."""


def _as_it_travels(event_type: type[Any]) -> dict[str, Any]:
    """The type's JSON Schema, each personal field also allowed as ``pii:v1:`` text: what a partner's
    validator meets on NATS and in exports (a list of needs arrives as one string there)."""
    schema = msgspec.json.schema(event_type)
    properties = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]["properties"]
    for field in getattr(event_type, "__personal__", ()):
        declared = properties[field]
        if {"type": "string"} not in declared.get("anyOf", [declared]):
            properties[field] = {"anyOf": [*declared.get("anyOf", [declared]), PERSONAL_TEXT]}
    return schema
