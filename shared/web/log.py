"""Reading the shared log over HTTP, by global position (the log's cursor)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import get
from litestar.params import Parameter

from shared.access.principals import Authenticated
from shared.access.privacy import redacted
from shared.domain.errors import Forbidden
from shared.eventlog.envelope import Metadata, RecordedEvent
from shared.web.kernel import Kernel
from shared.web.params import After


class LogEvent(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    group_id: uuid.UUID
    stream_id: str
    stream_version: int
    position: int | None
    type: str
    data: Any
    metadata: Metadata
    recorded_at: datetime
    content_hash: str
    chain_hash: str
    global_hash: str | None


class LogPage(msgspec.Struct, kw_only=True):
    events: list[LogEvent]
    next: int | None


def log_event(event: RecordedEvent) -> LogEvent:
    """An event as the log views show it (its private fields ``null``: ``shared.access.privacy``)."""
    event = redacted(event)
    return LogEvent(
        id=event.id, group_id=event.group_id, stream_id=event.stream_id,
        stream_version=event.stream_version, position=event.position, type=event.type,
        data=msgspec.json.decode(event.data), metadata=event.metadata, recorded_at=event.recorded_at,
        content_hash=event.content_hash.hex(), chain_hash=event.chain_hash.hex(),
        global_hash=event.global_hash.hex() if event.global_hash else None,
    )


@get("/log", tags=["log"], summary="The shared event log in global order (operator only)")
async def read_log(
    kernel: Kernel,
    principal: Authenticated,
    after: After = 0,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
) -> LogPage:
    if not principal.is_operator:
        raise Forbidden("only the operator reads the whole log")
    events = await kernel.store.read_all(after, limit)
    page = [log_event(e) for e in events]
    return LogPage(events=page, next=page[-1].position if len(page) == limit else None)
