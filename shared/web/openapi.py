"""The OpenAPI 3.1 document a code generator can trust, finished once for every service.

Litestar describes each route from its signature; this module adds what a
signature does not say, from facts the kernel knows about every route:

- **security**: a route that takes ``principal: Authenticated`` needs a bearer
  token (scheme ``bearer``); every other route (health, public feeds, the
  calendar's secret address, copro's public key) says ``security: []``;
- **errors**: every status the route can answer, each as RFC 9457
  ``application/problem+json`` (``shared/web/problems.py``): 400 for a route with
  parameters or a body, 401 and 403 for an authenticated one, 404 for a path
  with ids, 409, 410 and 422 for a write that appends, 413 and 422 for a body, 500
  and 503 for any (the database away, too many connections);
- **operation ids** from the handler's name (``cast_ballot`` -> ``castBallot``);
- **examples** for every request body and response (``shared/web/examples.py``);
- **real types** where a route returns bytes: its ``opt`` says ``documented(...)``
  with the media type and schema of what it answers, and any further statuses.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from shared.domain.input import BIGINT_MAX, Body, FrozenBody
from shared.web.examples import example
from shared.web.idempotency import KEY_LENGTH
from shared.web.problems import PROBLEM_MEDIA_TYPE, TYPE_PREFIX

BEARER = "bearer"
METHODS = ("get", "put", "post", "delete", "patch")
WRITES = ("put", "post", "delete", "patch")
_CACHE = "copro_openapi_document"
_OPT = "copro_documented"
_FOREIGN = {"/metrics": "readMetrics"}
"""Routes the kernel mounts but did not write (Litestar's Prometheus controller): their operation ids."""

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem: every error of every copro service.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "a stable URN per kind of problem: branch on it",
                 "examples": [TYPE_PREFIX + "invalid-field"]},
        "title": {"type": "string", "description": "a short, human-readable summary of the kind"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "what went wrong with this request"},
        "instance": {"type": "string", "description": "the request's path"},
        "field": {"type": "string", "description": "the offending field: a dotted path into the body, or a parameter"},
        "errors": {"type": "array", "description": "every invalid value, when the request had several",
                   "items": {"type": "object", "required": ["message"], "properties": {
                       "field": {"type": ["string", "null"]}, "message": {"type": "string"},
                       "source": {"type": ["string", "null"], "description": "body, query, path, header or cookie"}}}},
    },
}

ERRORS: dict[int, tuple[str, str, str, str]] = {
    # status: (component name, description, slug, detail of the example)
    400: ("BadRequest", "A parameter is not valid (`validation`) or the body cannot be read (`malformed-body`)",
          "validation", "Expected `int`, got `str` - at `$.limit`"),
    401: ("Unauthenticated", "No bearer token, or one that is unknown, revoked or expired",
          "unauthenticated", "a bearer token is required"),
    403: ("Forbidden", "The caller's role, or whose the resource is, does not allow this", "forbidden",
          "only a facilitator may close a proposal early"),
    404: ("NotFound", "No such resource (another group's data does not exist for the caller)", "not-found",
          "no such proposal"),
    409: ("Conflict", "Refused by the domain's rules (`command-rejected`) or a concurrent change "
          "(`concurrency-conflict`): nothing was recorded", "command-rejected", "the proposal is closed"),
    410: ("Gone", "The person was forgotten: nothing new is recorded about them, and nobody can give them a way in",
          "person-forgotten", "this member was forgotten: nobody can sign in as them any more"),
    413: ("TooLarge", "The request body is too large", "too-large", "Request Entity Too Large"),
    422: ("InvalidField", "A field of the body is not valid (`invalid-field`), a value can never succeed "
          "(`invalid-command`) or an Idempotency-Key was reused for another request", "invalid-field",
          "Object contains unknown field `colour`"),
    500: ("InternalError", "An unexpected error (logged); appends are atomic, so nothing was half-done",
          "internal-error", "An unexpected error was logged; nothing was half-done: appends are atomic."),
    503: ("Unavailable", "The event log cannot be reached, or the process serves all the connections it may; "
          "retry after `Retry-After` seconds", "unavailable", "The event log cannot be reached right now."),
}


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Sending the same write again with the same key records it once and answers the first answer "
                   "again; the key reused for another request answers 422 `idempotency-key-reused`.",
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_LENGTH},
}


@dataclass(frozen=True)
class Documented:
    """What a route answers beyond its signature, in its ``opt`` (``documented(...)``): the media types of its
    success answer, each with a JSON Schema or a type (a route that returns bytes), and further answers:
    status -> (description, media types); an error status without media types answers problem+json."""

    content: Mapping[str, Any] = field(default_factory=dict)
    answers: Mapping[int, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)


def documented(content: Mapping[str, Any] | None = None,
               answers: Mapping[int, tuple[str, Mapping[str, Any]]] | None = None) -> dict[str, Any]:
    """A route's ``opt``, e.g. ``opt=documented({"application/atom+xml": {"type": "string"}}, {304: ("Not modified", {})})``."""
    return {_OPT: Documented(content=content or {}, answers=answers or {})}


def operation_id(handler: HTTPRouteHandler, *_: Any) -> str:
    """``cast_ballot`` -> ``castBallot``: readable, and unique because handler names are (a test checks)."""
    first, *rest = handler.handler_name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _handlers(app: Litestar) -> dict[tuple[str, str], HTTPRouteHandler]:
    found: dict[tuple[str, str], HTTPRouteHandler] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    found[(route.path_format or "/", method.lower())] = handler
    return found


def error_statuses(method: str, path: str, operation: dict[str, Any], authenticated: bool) -> set[int]:
    """Every error status an operation can answer, from what the kernel knows of it."""
    statuses = {500, 503}
    body = "requestBody" in operation
    if operation.get("parameters") or body:
        statuses.add(400)
    if authenticated:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if body:
        statuses |= {413, 422}
    if authenticated and method in WRITES:
        statuses |= {409, 410, 422}
    return statuses


def _problem_responses() -> dict[str, Any]:
    return {
        name: {"description": description, "content": {PROBLEM_MEDIA_TYPE: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {"type": TYPE_PREFIX + slug, "title": slug.replace("-", " "), "status": status, "detail": detail,
                        "instance": "/groups/0190f5a2-7c3e-7a51-9f0e-2b1c3d4e5f60/proposals"}}}}
        for status, (name, description, slug, detail) in ERRORS.items()
    }


def _content(document: dict[str, Any], media: Mapping[str, Any]) -> dict[str, Any]:
    """Media types with their schemas; a type's schema comes from msgspec, its parts added to the components."""
    out: dict[str, Any] = {}
    for media_type, given in media.items():
        if isinstance(given, dict):
            out[media_type] = {"schema": copy.deepcopy(given)}
            continue
        (schema,), parts = msgspec.json.schema_components([given], ref_template="#/components/schemas/{name}")
        for name, part in parts.items():
            document["components"]["schemas"].setdefault(name, part)
        out[media_type] = {"schema": schema}
    return out


def _with_examples(content: dict[str, Any], document: dict[str, Any]) -> None:
    for body in content.values():
        if "schema" in body and "example" not in body and "examples" not in body:
            body["example"] = example(body["schema"], document)


def _finish_operation(document: dict[str, Any], path: str, method: str, operation: dict[str, Any],
                      handler: HTTPRouteHandler | None) -> None:
    authenticated = handler is not None and "principal" in handler.parsed_fn_signature.parameters
    extra = handler.opt.get(_OPT) if handler is not None else None
    extra = extra if isinstance(extra, Documented) else Documented()
    if path in _FOREIGN:
        operation.update(operationId=_FOREIGN[path], tags=["health"], summary="Prometheus metrics of this process")
        extra = Documented(content={"text/plain": {"type": "string", "description": "Prometheus text format 0.0.4"}})
    operation["security"] = [{BEARER: []}] if authenticated else []
    data = handler.parsed_data_field if handler is not None else None
    if data is not None and "requestBody" in operation:  # a body with a default may be left out
        operation["requestBody"]["required"] = not data.has_default
    if handler is not None and "once" in handler.parsed_fn_signature.parameters:
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    responses: dict[str, Any] = {k: v for k, v in operation.get("responses", {}).items() if int(k) < 400}
    if extra.content:
        for status, response in responses.items():
            if status.startswith("2") and response.get("content"):
                response["content"] = _content(document, extra.content)
    for status_code, (description, media) in extra.answers.items():
        if media:
            responses[str(status_code)] = {"description": description, "content": _content(document, media)}
        elif status_code >= 400:
            responses[str(status_code)] = {"description": description, "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        else:
            responses[str(status_code)] = {"description": description}
    for status_code in sorted(error_statuses(method, path, operation, authenticated)):
        responses.setdefault(str(status_code), {"$ref": f"#/components/responses/{ERRORS[status_code][0]}"})
    operation["responses"] = dict(sorted(responses.items()))
    if "requestBody" in operation:
        _with_examples(operation["requestBody"].get("content", {}), document)
    for response in responses.values():
        _with_examples(response.get("content", {}), document)


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _whole(bound: float) -> int:
    """An integer's bound as the integer it is: Litestar writes ``float(le)``, and ``float(2**63 - 1)`` is 2**63,
    which PostgreSQL's ``bigint`` cannot hold (a client generated from it would send it and be refused)."""
    return BIGINT_MAX if bound == float(BIGINT_MAX) else -BIGINT_MAX - 1 if bound == -float(BIGINT_MAX) else int(bound)


def _tidy(node: Any) -> Any:
    """Litestar describes a constrained ``str`` inside a tuple as ``oneOf: [string, {}]``, which no string can
    satisfy (it matches both); an empty option says nothing, so it is dropped (and a lone option inlined).
    Litestar also writes an integer's bounds as floats (``1000.0``; ``9.223372036854776e18``): made whole."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _tidy(value) for key, value in node.items()}
    if node.get("type") == "integer":
        node.update({key: _whole(node[key]) for key in _BOUNDS if isinstance(node.get(key), float)})
    options = node.get("oneOf")
    if isinstance(options, list) and any(option == {} for option in options):
        kept = [option for option in options if option != {}]
        del node["oneOf"]
        if len(kept) == 1:
            node = {**kept[0], **node}
        elif kept:
            node["oneOf"] = kept
    return node


def _strict_bodies() -> dict[str, type[msgspec.Struct]]:
    """Every request type by name: those that refuse a field they do not know (``shared.domain.input``)."""
    found: dict[str, type[msgspec.Struct]] = {}
    waiting: list[type[msgspec.Struct]] = [Body, FrozenBody]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            found[sub.__name__] = sub
            waiting.append(sub)
    return found


def _request_schemas(components: dict[str, Any]) -> None:
    """The request types as msgspec itself describes them, which is what decodes the bodies: Litestar's own
    description drops bounds (``ge=0`` on an optional integer, bounds on map values and tuple items) and says
    nothing of unknown fields, so a partner's validator sent what the service refuses (422)."""
    strict = {name: cls for name, cls in _strict_bodies().items() if name in components}
    _, described = msgspec.json.schema_components(strict.values(), ref_template="#/components/schemas/{name}")
    for name, schema in described.items():
        if name in strict or name not in components:
            components[name] = schema


def finish(app: Litestar, raw: dict[str, Any]) -> dict[str, Any]:
    """The served document: Litestar's, with security, problems, examples and real types added."""
    document = _tidy(msgspec.json.decode(msgspec.json.encode(raw)))  # plain JSON values (defaults may be structs)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    components["responses"] = _problem_responses()
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "A member's token (issued once by a facilitator: `POST /groups/{group_id}/members/{member_id}"
                       "/tokens`) or the operator's token (in `COPRO_HOME/operator-token`).",
    }}
    _request_schemas(components["schemas"])
    handlers = _handlers(app)
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                _finish_operation(document, path, method, item[method], handlers.get((path, method)))
    return dict(document)


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The finished document of ``app`` (made once, at the first request for it)."""
    cached = app.state.get(_CACHE)
    if cached is None:
        cached = finish(app, app.openapi_schema.to_schema())
        app.state[_CACHE] = cached
    assert isinstance(cached, dict)
    return cached
