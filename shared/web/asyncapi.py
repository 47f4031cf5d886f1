"""AsyncAPI 3.0 documents of the events on NATS, generated from the services' msgspec event contracts.

Partners read them to learn every subject copro publishes on and the exact
payload of each event *as it travels*: personal fields arrive as ``pii:v1:``
ciphertext (``shared/eventlog/personal.py``), a sealed ballot's ``choice`` and
``reason`` as ``null`` with their ciphertext in ``sealed``
(``shared/eventlog/sealing.py``), so the payload schemas say so. Each service
serves its own document (it ``send``\\s its events) at ``/asyncapi.json``, and
every service serves the combined one at ``/asyncapi/copro.json`` and the
event catalogue at ``/events/catalogue.json``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import get
from litestar.handlers import HTTPRouteHandler

from shared.domain.contract import EventContract, type_name
from shared.fanout.catalogue import as_json
from shared.fanout.cloudevents import SUBJECT_ROOT
from shared.web.examples import EXAMPLE_ID, example
from shared.web.openapi import documented

ASYNCAPI_SCHEMA = {
    "type": "object", "description": "An AsyncAPI 3.0.0 document",
    "required": ["asyncapi", "info", "channels", "operations", "components"],
    "properties": {"asyncapi": {"const": "3.0.0"}, "info": {"type": "object"}, "servers": {"type": "object"},
                   "channels": {"type": "object"}, "operations": {"type": "object"}, "components": {"type": "object"}},
}
CATALOGUE_SCHEMA = {
    "type": "array", "description": "Every event type of every service",
    "items": {"type": "object", "required": ["service", "type", "version", "subject", "personal", "sealed", "schema"],
              "properties": {"service": {"type": "string"}, "type": {"type": "string"}, "version": {"type": "integer"},
                             "subject": {"type": "string"}, "summary": {"type": "string"},
                             "personal": {"type": "array", "items": {"type": "string"}},
                             "sealed": {"type": "array", "items": {"type": "string"}},
                             "schema": {"type": "object"}, "example": {"type": "object"}}},
}
PII_EXAMPLE = f"pii:v1:{EXAMPLE_ID}:q1x0f6mJb3a7Zr2kT9cWnA4sGgkP0vE="
SEALED_EXAMPLE = f"sealed:v1:{EXAMPLE_ID}:Hq8ZP3mR0tYc2bW5nV7xK1sLq4dF6gJ9"
PARTNER_SUBJECTS = f"{SUBJECT_ROOT}.{{group_id}}.>"

CLOUDEVENT_HEADERS = {
    "type": "object",
    "properties": {
        name: {"type": "string", "description": description} for name, description in {
            "ce-id": "the event id (a UUIDv7), also Nats-Msg-Id", "ce-source": "the copro service that recorded the event",
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


def personal_schema(original: dict[str, Any]) -> dict[str, Any]:
    """A personal field as it travels: ciphertext under the person's key, or absent once they are forgotten."""
    said = original.get("description", "")
    return {
        "oneOf": [{"type": "string", "pattern": "^pii:v1:[0-9a-f-]{36}:[A-Za-z0-9+/=]+$"}, {"type": "null"}],
        "description": (said + " " if said else "") + "Personal data, encrypted: `pii:v1:<person id>:<base64 AES-GCM>` "
                       "under the person's own key (copro's APIs show it decrypted; destroying the key forgets it). "
                       "Null when there was none.",
        "examples": [PII_EXAMPLE], "x-copro-personal": True,
    }


def wire_schemas(event_types: Sequence[type[Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Payload schemas as the events travel: personal fields as ciphertext, sealed fields nullable with ``sealed``."""
    schemas, components = msgspec.json.schema_components(event_types, ref_template="#/components/schemas/{name}")
    for event_type in event_types:
        struct = components[event_type.__name__]
        properties = struct["properties"]
        struct["description"] = " ".join((event_type.__doc__ or "").split()) or type_name(event_type)
        struct["x-copro-version"] = event_type.__version__
        for name in getattr(event_type, "__personal__", ()):
            properties[name] = personal_schema(properties[name])
        sealed: tuple[str, ...] = getattr(event_type, "__sealed__", ())
        for name in sealed:
            opened = " Once opened: personal data." if properties[name].get("x-copro-personal") else ""
            properties[name] = {
                "anyOf": [properties[name], {"type": "null"}], "x-copro-sealed": True,
                "description": "Sealed while the proposal's results are hidden (`after_vote`, `after_close`): "
                               "null here, encrypted in `sealed` until the close or withdrawal releases the key "
                               "(its `seal_key`)." + opened,
            }
        if sealed and "sealed" in properties:
            properties["sealed"] = {
                "oneOf": [{"type": "string", "pattern": "^sealed:v1:[0-9a-f-]{36}:[A-Za-z0-9+/=]+$"}, {"type": "null"}],
                "description": f"The sealed fields ({', '.join(sealed)}) as one AES-GCM ciphertext under the seal's key, "
                               "`sealed:v1:<seal id>:<base64>`; null when the ballot was not sealed.",
                "examples": [SEALED_EXAMPLE],
            }
    return list(schemas), components


def _key(event_type: type[Any]) -> str:
    return type_name(event_type).replace(".", "_")


def asyncapi_document(title: str, version: str, event_types: Sequence[type[Any]], *,
                      nats_host: str = "localhost:4222") -> dict[str, Any]:
    """One AsyncAPI 3.0 document: copro ``send``\\s each of ``event_types`` on its own subject."""
    schemas, components = wire_schemas(event_types)
    root = {"components": {"schemas": components}}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    server = [{"$ref": "#/servers/nats"}]
    for event_type, schema in zip(event_types, schemas, strict=True):
        name, key = type_name(event_type), _key(event_type)
        messages[key] = {
            "name": name, "title": name, "contentType": "application/json",
            "summary": " ".join((event_type.__doc__ or "").split()) or name,
            "headers": CLOUDEVENT_HEADERS, "payload": schema,
            "correlationId": {"location": "$message.header#/ce-correlationid"},
            "examples": [{"name": "stored", "payload": example(schema, root),
                          "headers": {"ce-id": EXAMPLE_ID, "ce-type": name, "ce-specversion": "1.0",
                                      "ce-source": f"/copro/{name.split('.')[0]}", "ce-position": "1042"}}],
        }
        channels[key] = {
            "address": f"{SUBJECT_ROOT}.{{group_id}}.{name}", "title": name, "servers": server,
            "parameters": {"group_id": {"description": "the working group's id"}},
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"send_{key}"] = {
            "action": "send", "title": f"Publish {name}", "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"copro publishes every stored {name} here, in log order, once per event id (Nats-Msg-Id)",
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    channels["group"] = {
        "address": PARTNER_SUBJECTS, "title": "Everything of one group (the partner subjects)", "servers": server,
        "description": "A partner organisation's NATS user may subscribe to `copro.<its group id>.>` and publish nothing "
                       "(deploy/nats/partners.conf). A durable JetStream consumer on stream `COPRO` with this filter "
                       "resumes where it left off; the `ce-position` header is the log's global position.",
        "parameters": {"group_id": {"description": "the working group's id"}},
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in messages},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": version,
                 "description": "Every event travels as a CloudEvent 1.0 in binary mode (`ce-` headers) on NATS "
                                f"JetStream, stream COPRO, subject {SUBJECT_ROOT}.<group id>.<service>.<EventType>. "
                                "Personal fields travel encrypted (`pii:v1:`) and sealed ballots sealed "
                                "(`sealed:v1:`); the event catalogue is at /events/catalogue.json."},
        "servers": {"nats": {
            "host": nats_host, "protocol": "nats", "title": "copro's NATS (JetStream)",
            "description": "Partners connect with the user and password of their organisation's account "
                           "(deploy/nats/partners.conf); copro's services with their own credentials.",
            "security": [{"$ref": "#/components/securitySchemes/natsUser"}]}},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": components, "messages": messages,
            "securitySchemes": {"natsUser": {
                "type": "userPassword",
                "description": "A NATS user: a partner's may only subscribe to its groups' subjects (copro.<group>.>)"}},
        },
    }


def asyncapi_routes(service: str, version: str, own: Sequence[type[Any]],
                    contracts: Sequence[EventContract]) -> list[HTTPRouteHandler]:
    """``/asyncapi.json`` (this service's events), ``/asyncapi/copro.json`` (all) and ``/events/catalogue.json``."""
    every = [t for c in contracts for t in c.types]
    mine = msgspec.json.encode(asyncapi_document(f"copro {service} events", version, own))
    combined = msgspec.json.encode(asyncapi_document("copro events", version, every))
    catalogue = msgspec.json.encode(catalogue_json(contracts))
    answer = documented({"application/json": ASYNCAPI_SCHEMA})

    @get("/asyncapi.json", tags=["events"], summary="AsyncAPI 3.0: every subject and event payload of this service",
         media_type="application/json", opt=answer)
    async def read_asyncapi() -> bytes:
        return mine

    @get("/asyncapi/copro.json", tags=["events"], summary="AsyncAPI 3.0 of all three services' events",
         media_type="application/json", opt=answer)
    async def read_combined_asyncapi() -> bytes:
        return combined

    @get("/events/catalogue.json", tags=["events"],
         summary="The event catalogue: every event type with its version, subject, JSON Schema, personal and "
                 "sealed fields, and an example", media_type="application/json",
         opt=documented({"application/json": CATALOGUE_SCHEMA}))
    async def read_event_catalogue() -> bytes:
        return catalogue

    return [read_asyncapi, read_combined_asyncapi, read_event_catalogue]


def catalogue_json(contracts: Sequence[EventContract]) -> list[dict[str, Any]]:
    """The catalogue (``shared/fanout/catalogue.py``) with each type's NATS subject and an example as stored."""
    entries = as_json(contracts)
    for entry in entries:
        entry["subject"] = f"{SUBJECT_ROOT}.{{group_id}}.{entry['type']}"
        schema = copy.deepcopy(entry["schema"])
        entry["example"] = example(schema, schema)
    return entries
