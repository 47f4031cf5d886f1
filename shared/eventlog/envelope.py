"""The event envelope: what every stored event carries besides its payload.

The payload stays the exact JSON bytes that were stored (after personal
fields were encrypted), so integrity hashes can be recomputed by anyone from
an export, and each service decodes it with its own small msgspec structs.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from shared.domain.contract import decoder_for

T = TypeVar("T")


class Metadata(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Who caused an event and why: the trace an auditor follows.

    Not tracked by the garbage collector (``gc=False``), nor is ``RecordedEvent``: frozen, holding only ids,
    text, numbers, bytes and times, they can never be part of a reference cycle, and a read of the log makes
    two of them per event (tracking them made the collector run every few hundred events: a fifth of a read).
    """

    actor_id: uuid.UUID | None = None
    actor_org: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event a decider produced, not yet stored.

    ``data`` is a msgspec struct (or any msgspec-encodable value). Its id is
    chosen by the shell, so resending the same event is recognised.
    """

    id: uuid.UUID
    type: str
    data: Any


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A stored event as read back from the log."""

    id: uuid.UUID
    group_id: uuid.UUID
    stream_id: str
    stream_version: int
    position: int | None
    type: str
    data: msgspec.Raw
    metadata: Metadata
    recorded_at: datetime
    content_hash: bytes
    chain_hash: bytes
    global_hash: bytes | None = None

    def decode(self, type_: builtins.type[T]) -> T:
        """The payload as the reader's own struct (unknown fields are ignored; an older version upcast first)."""
        result: T = decoder_for(type_).decode(self.data)
        return result


class AppendResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an append answers; a repeat answers the same with ``duplicate``."""

    stream_id: str
    stream_version: int
    event_ids: list[uuid.UUID]
    duplicate: bool = False
