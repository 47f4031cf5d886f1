"""Every copro event type as a msgspec struct (generated from the event catalogue), and their envelope.

On NATS an event is a CloudEvent in binary mode: the payload is the message's
data and the envelope is in ``ce-`` headers; to a webhook it is a structured
CloudEvent (JSON with ``data``). Both decode to ``Received``. Personal fields
arrive as ``pii:v1:`` ciphertext and sealed ballot fields as ``None`` (their
ciphertext in ``sealed``); an event type this client does not know yet (a
newer copro) decodes as ``UnknownEvent`` instead of failing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from copro_client.events.decisions import VERSIONS as _DECISIONS
from copro_client.events.decisions import DecisionsEvent
from copro_client.events.publishing import VERSIONS as _PUBLISHING
from copro_client.events.publishing import PublishingEvent
from copro_client.events.scheduling import VERSIONS as _SCHEDULING
from copro_client.events.scheduling import SchedulingEvent

Event = DecisionsEvent | SchedulingEvent | PublishingEvent
VERSIONS: dict[str, int] = {**_DECISIONS, **_SCHEDULING, **_PUBLISHING}
"""Each event type this client knows, with the version it decodes."""


@dataclass(frozen=True)
class UnknownEvent:
    """An event of a type this client was generated before: its type and raw payload."""

    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Received:
    """One event and its place in the log: ``position`` is the global position (the cursor to resume from)."""

    id: uuid.UUID
    type: str
    group_id: uuid.UUID | None
    stream_id: str | None
    position: int | None
    time: datetime | None
    event: Event | UnknownEvent


_DECODER = msgspec.json.Decoder(Event)


def decode_event(event_type: str, data: bytes) -> Event | UnknownEvent:
    """A payload as its struct, or ``UnknownEvent`` for a type this client does not know."""
    if event_type not in VERSIONS:
        return UnknownEvent(type=event_type, data=msgspec.json.decode(data))
    decoded: Event = _DECODER.decode(data)
    return decoded


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def from_headers(headers: Mapping[str, str], data: bytes) -> Received:
    """A binary-mode CloudEvent (NATS): attributes in ``ce-`` headers, the payload as the data."""
    kind = headers["ce-type"]
    return Received(id=uuid.UUID(headers["ce-id"]), type=kind, group_id=_uuid(headers.get("ce-groupid")),
                    stream_id=headers.get("ce-streamid"), position=_int(headers.get("ce-position")),
                    time=_time(headers.get("ce-time")), event=decode_event(kind, data))


def from_structured(body: bytes) -> Received:
    """A structured CloudEvent (a webhook's body, a line of ``copro audit export``)."""
    envelope = msgspec.json.decode(body)
    kind = str(envelope["type"])
    return Received(id=uuid.UUID(str(envelope["id"])), type=kind, group_id=_uuid(envelope.get("groupid")),
                    stream_id=envelope.get("streamid"), position=_int(envelope.get("position")),
                    time=_time(envelope.get("time")), event=decode_event(kind, msgspec.json.encode(envelope["data"])))
