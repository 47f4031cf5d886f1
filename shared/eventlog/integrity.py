"""Integrity hashes of the log, shared by the writer, the sealer and auditors.

Three layers make any change detectable from an export alone:
- the content hash covers every field of one event (its exact payload bytes);
- each stream chains its events' content hashes in version order;
- the sealer chains every event's stream-chain hash in global order.
Only the content hash is computed outside PostgreSQL by writers; the
stream chain is extended inside ``copro_append`` with the same formula.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

GENESIS = b""


def timestamp(value: datetime) -> str:
    """The one textual form of a time that every hash uses."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content_hasher(
    *,
    group_id: uuid.UUID,
    stream_id: str,
    actor_id: uuid.UUID | None,
    actor_org: uuid.UUID | None,
    causation_id: uuid.UUID | None,
    correlation_id: uuid.UUID | None,
    recorded_at: datetime,
) -> Callable[[uuid.UUID, str, bytes], bytes]:
    """The content hash of events that share all but id, type and payload (one append).

    SHA-256 over a canonical JSON array of every field of the event, with its
    exact stored payload bytes: the bytes of ``canonical_hash`` over the fields' text. The ids go to the
    encoder as they are (it writes a UUID as its canonical text, and a third of the time went on ``str``).
    """
    when = timestamp(recorded_at)

    def hash_event(event_id: uuid.UUID, type_: str, payload: bytes) -> bytes:
        return hashlib.sha256(_encode([event_id, group_id, stream_id, type_, actor_id, actor_org, causation_id,
                                       correlation_id, when, msgspec.Raw(payload)])).digest()

    return hash_event


_encode = msgspec.json.Encoder().encode


def canonical_hash(
    event_id: str, group_id: str, stream_id: str, type_: str, meta: tuple[str | None, ...], when: str, payload: bytes
) -> bytes:
    """The content hash from the fields' text, as an export carries them (the verifier's fast path)."""
    return hashlib.sha256(_encode([event_id, group_id, stream_id, type_, *meta, when, msgspec.Raw(payload)])).digest()


def chain(previous: bytes, link: bytes) -> bytes:
    """Extend a hash chain by one link: SHA-256(previous || link)."""
    return hashlib.sha256(previous + link).digest()
