"""The group's events live, for its members' web clients, as Server-Sent Events, for as long as the
caller's token is good (revoking it, or removing or forgetting its member, ends the stream)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from services.publishing.context import Publishing
from services.publishing.jobs import body_of
from shared.access.principals import Authenticated
from shared.eventlog.follow import follow
from shared.web.openapi import documented
from shared.web.params import AfterOrNot, last_event_id
from shared.web.streams import while_admitted

TAGS = ["partner delivery"]


class EventStreamController(Controller):
    path = "/groups/{group_id:uuid}/events"
    tags = TAGS

    @get("/stream",
         summary="Server-Sent Events: the group's events live, resuming after Last-Event-ID (a global position);"
                 " the stream ends when the token is revoked or expires",
         opt=documented({"text/event-stream": {
             "type": "string", "description": "Server-Sent Events: `id` the global position, `event` the event type,"
                                              " `data` the event as a structured CloudEvent (JSON)"}}))
    async def stream_events(
        self, request: Request[Any, Any, Any], service: Publishing, principal: Authenticated, group_id: uuid.UUID,
        after: AfterOrNot = None,
    ) -> ServerSentEvent:
        await service.members.admit(principal, group_id)
        last = request.headers.get("last-event-id")
        resume = after if after is not None else last_event_id(last)
        start = resume if resume is not None else await service.store.head_position()

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            # the stream ends once the caller's token is revoked or expires, or they leave the group
            async for event in while_admitted(request, principal, follow(service.store, start, group_id=group_id)):
                yield ServerSentEventMessage(data=body_of(event).decode(), id=str(event.position), event=event.type)

        return ServerSentEvent(events())
