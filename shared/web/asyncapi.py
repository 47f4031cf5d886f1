"""An AsyncAPI 3.0 document of a service's events, generated from their msgspec types.

Partners read it to learn every subject a service publishes on and the exact
payload of each event; it cannot drift from the code because it is the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Request, get
from litestar.handlers import HTTPRouteHandler

from shared.fanout.cloudevents import SUBJECT_ROOT
from shared.web.openapi import documented

ASYNCAPI_SCHEMA = {
    "type": "object", "description": "An AsyncAPI 3.0.0 document",
    "required": ["asyncapi", "info", "channels", "operations", "components"],
    "properties": {"asyncapi": {"const": "3.0.0"}, "info": {"type": "object"}, "servers": {"type": "object"},
                   "channels": {"type": "object"}, "operations": {"type": "object"}, "components": {"type": "object"}},
}

CLOUDEVENT_HEADERS = {
    "type": "object",
    "properties": {
        name: {"type": "string", "description": description} for name, description in {
            "ce-id": "the event id (a UUIDv7), also Nats-Msg-Id", "ce-source": "the publishing copro service",
            "ce-specversion": "1.0", "ce-type": "the event type", "ce-subject": "the stream id",
            "ce-time": "when it was recorded (RFC 3339, UTC)", "ce-groupid": "the working group",
            "ce-streamid": "the stream", "ce-streamversion": "the event's version in its stream",
            "ce-position": "the global position in the log (the cursor)",
            "ce-actorid": "who acted: a member, or a named system actor (absent for none)",
            "ce-actororg": "the acting member's partner organisation",
            "ce-causationid": "the event this one was written in reaction to",
            "ce-correlationid": "the request or reaction chain this event belongs to",
        }.items()
    },
}


def asyncapi_document(service: str, version: str, event_types: Sequence[type[Any]]) -> dict[str, Any]:
    schemas, components = msgspec.json.schema_components(event_types, ref_template="#/components/schemas/{name}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, schema in zip(event_types, schemas, strict=True):
        tag = event_type.__struct_config__.tag
        key = tag.replace(".", "_")
        messages[key] = {
            "name": tag, "title": tag, "contentType": "application/json", "summary": (event_type.__doc__ or "").strip(),
            "headers": CLOUDEVENT_HEADERS, "payload": schema,
        }
        channels[key] = {
            "address": f"{SUBJECT_ROOT}.{{group_id}}.{tag}",
            "parameters": {"group_id": {"description": "the working group's id"}},
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"receive_{key}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{key}"},
                                        "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}]}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"copro {service} events", "version": version,
                 "description": "Every event travels as a CloudEvent 1.0 in binary mode on NATS JetStream "
                                f"(stream COPRO), subject {SUBJECT_ROOT}.<group id>.<service>.<EventType>."},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": components, "messages": messages},
    }


def asyncapi_route(service: str, version: str, event_types: Sequence[type[Any]]) -> HTTPRouteHandler:
    document = msgspec.json.encode(asyncapi_document(service, version, event_types))

    @get("/asyncapi.json", tags=["events"], summary="AsyncAPI 3.0: every subject and event payload of this service",
         media_type="application/json", opt=documented({"application/json": ASYNCAPI_SCHEMA}))
    async def read_asyncapi(request: Request[Any, Any, Any]) -> bytes:
        return document

    return read_asyncapi
