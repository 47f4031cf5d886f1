"""Events on the wire as CloudEvents 1.0 in binary mode.

The payload travels as the message body, exactly as stored: personal fields
stay encrypted, because a JetStream stream that denies delete and purge
could never forget a person otherwise. The envelope travels in
``ce-*`` headers. copro's extension attributes carry what a subscriber needs
to order and deduplicate: ``groupid``, ``streamid``, ``streamversion`` and
``position`` (the global position, the log's cursor); and what an auditor
follows: ``actorid``, ``actororg``, ``causationid`` and ``correlationid``.

Subjects: ``copro.<group id>.<service>.<EventType>``, where an event type
``decisions.ProposalOpened`` names its service before the dot. A partner
subscribes to ``copro.<its group>.>``; a service to ``copro.*.decisions.>``.
"""

from __future__ import annotations

import builtins
import re
import uuid
from datetime import datetime
from typing import TypeVar

import msgspec

from shared.eventlog import integrity
from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.integrity import timestamp

T = TypeVar("T")

SPEC_VERSION = "1.0"
SUBJECT_ROOT = "copro"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _token(value: str) -> str:
    return _UNSAFE.sub("_", value) or "_"


def subject_for(group_id: uuid.UUID, event_type: str) -> str:
    """``copro.<group>.<service>.<EventType>`` for an event type ``service.EventType``."""
    service, _, name = event_type.partition(".")
    return f"{SUBJECT_ROOT}.{group_id}.{_token(service)}.{_token(name or service)}"


def source_of(event_type: str) -> str:
    """``/copro/<service>``: the service that recorded an event of this type (whichever process relays it)."""
    return f"/copro/{event_type.partition('.')[0]}"


def headers_for(event: RecordedEvent) -> dict[str, str]:
    """The binary-mode CloudEvents headers of a stored event, plus the NATS dedup id."""
    return {
        "Nats-Msg-Id": str(event.id),
        "ce-id": str(event.id),
        "ce-source": source_of(event.type),
        "ce-specversion": SPEC_VERSION,
        "ce-type": event.type,
        "ce-subject": event.stream_id,
        "ce-time": timestamp(event.recorded_at),
        "Content-Type": "application/json",
        "ce-groupid": str(event.group_id),
        "ce-streamid": event.stream_id,
        "ce-streamversion": str(event.stream_version),
        "ce-position": str(event.position),
        **{f"ce-{name}": str(value) for name, value in _trace(event).items() if value is not None},
    }


def _trace(event: RecordedEvent) -> dict[str, uuid.UUID | None]:
    """Who acted and what caused the event, as CloudEvents extension attributes."""
    meta = event.metadata
    return {"actorid": meta.actor_id, "actororg": meta.actor_org, "causationid": meta.causation_id,
            "correlationid": meta.correlation_id}


class StructuredEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """One event as a CloudEvent in structured mode, with copro's extension attributes and its
    integrity fields: the line format of audit exports and the body of webhooks."""

    specversion: str = SPEC_VERSION
    id: uuid.UUID
    source: str
    """``source_of(type)``, as on NATS: with ``id`` it names the event in every channel (CloudEvents 1.0)."""
    type: str
    subject: str
    time: str
    datacontenttype: str = "application/json"
    data: msgspec.Raw
    groupid: uuid.UUID
    streamid: str
    streamversion: int
    position: int | None
    actorid: uuid.UUID | None
    actororg: uuid.UUID | None
    causationid: uuid.UUID | None
    correlationid: uuid.UUID | None
    contenthash: str
    chainhash: str
    globalhash: str | None


class DeliveredEvent(StructuredEvent, frozen=True, kw_only=True):
    """An event as webhooks and the events stream deliver it: an export line, plus whether its ``data`` was
    opened for the reader (personal fields decrypted, a forgotten person's and private fields null, sealed
    ballots as released). ``contenthash`` covers the data as stored, so only data not opened hashes to it;
    the audit export carries the stored form of every event."""

    dataopened: bool


class Delivered(msgspec.Struct, frozen=True, kw_only=True):
    """An event as a subscriber receives it from NATS."""

    id: uuid.UUID
    type: str
    source: str
    group_id: uuid.UUID
    stream_id: str
    stream_version: int
    position: int
    time: datetime
    data: msgspec.Raw
    actor_id: uuid.UUID | None = None
    actor_org: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None

    def decode(self, type_: builtins.type[T]) -> T:
        """The payload as the subscriber's own struct (unknown fields are ignored)."""
        return msgspec.json.decode(self.data, type=type_)


def _header(headers: dict[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise KeyError(name)


def _optional_id(headers: dict[str, str], name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(_header(headers, name))
    except (KeyError, ValueError):
        return None


def position_of(headers: dict[str, str] | None) -> int | None:
    """The global position a message carries, if it is a copro event."""
    if not headers:
        return None
    try:
        return int(_header(headers, "ce-position"))
    except (KeyError, ValueError):
        return None


def from_message(headers: dict[str, str], body: bytes) -> Delivered:
    """Read a copro CloudEvent back from a NATS message's headers and body."""
    return Delivered(
        id=uuid.UUID(_header(headers, "ce-id")),
        type=_header(headers, "ce-type"),
        source=_header(headers, "ce-source"),
        group_id=uuid.UUID(_header(headers, "ce-groupid")),
        stream_id=_header(headers, "ce-streamid"),
        stream_version=int(_header(headers, "ce-streamversion")),
        position=int(_header(headers, "ce-position")),
        time=datetime.fromisoformat(_header(headers, "ce-time").replace("Z", "+00:00")),
        data=msgspec.Raw(body),
        actor_id=_optional_id(headers, "ce-actorid"),
        actor_org=_optional_id(headers, "ce-actororg"),
        causation_id=_optional_id(headers, "ce-causationid"),
        correlation_id=_optional_id(headers, "ce-correlationid"),
    )


def delivered(event: RecordedEvent) -> DeliveredEvent:
    """The event as a structured CloudEvent, with ``dataopened``: whether its data no longer hashes to its
    ``contenthash`` (decrypted or redacted for the reader)."""
    meta = event.metadata
    as_stored = integrity.content_hasher(
        group_id=event.group_id, stream_id=event.stream_id, actor_id=meta.actor_id, actor_org=meta.actor_org,
        causation_id=meta.causation_id, correlation_id=meta.correlation_id, recorded_at=event.recorded_at,
    )(event.id, event.type, bytes(event.data)) == event.content_hash
    return DeliveredEvent(
        id=event.id, source=source_of(event.type), type=event.type, subject=event.stream_id,
        time=timestamp(event.recorded_at), data=event.data, groupid=event.group_id, streamid=event.stream_id,
        streamversion=event.stream_version, position=event.position, actorid=meta.actor_id, actororg=meta.actor_org,
        causationid=meta.causation_id, correlationid=meta.correlation_id, contenthash=event.content_hash.hex(),
        chainhash=event.chain_hash.hex(), globalhash=event.global_hash.hex() if event.global_hash else None,
        dataopened=not as_stored)
