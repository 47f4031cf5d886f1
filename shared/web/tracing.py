"""Each request's correlation id (from the client's ``traceparent`` or ``X-Request-Id``, or made here) and its access line.

Every event the request appends records it (``shared.eventlog.trace``), and
the response carries it back as ``X-Request-Id``, so a person reporting a
problem and an auditor reading the log name the same request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from functools import partial

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState

from shared.domain.ids import new_id
from shared.eventlog import trace
from shared.eventlog.envelope import Metadata
from shared.runtime.metrics import HTTP_DURATION, HTTP_ERRORS, HTTP_REQUESTS

REQUEST_ID = "x-request-id"
access = logging.getLogger("copro.access")
"""One line per request: method, path, status, milliseconds and the request id (``COPRO_LOG_FORMAT=json``: as fields)."""
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_NAMESPACE = uuid.UUID("8e5d1c1a-3f43-4b55-8f1b-636f70726f01")
MAX_REQUEST_ID = 200


def correlation_of(headers: dict[bytes, bytes]) -> tuple[uuid.UUID, str]:
    """The request's correlation id, and the ``X-Request-Id`` to answer with.

    A W3C ``traceparent`` names a 128-bit trace id, which is the correlation
    id itself; a client's own ``X-Request-Id`` is kept as given (a UUID as
    it is, any other text mapped to a stable UUID); otherwise a new UUIDv7.
    """
    parent = headers.get(b"traceparent", b"").decode("latin-1").strip().lower()
    if (found := _TRACEPARENT.match(parent)) and found.group(1) != "0" * 32:
        correlation = uuid.UUID(hex=found.group(1))
        return correlation, headers.get(REQUEST_ID.encode(), b"").decode("latin-1")[:MAX_REQUEST_ID] or str(correlation)
    given = headers.get(REQUEST_ID.encode(), b"").decode("latin-1").strip()[:MAX_REQUEST_ID]
    if given:
        try:
            return uuid.UUID(given), given
        except ValueError:
            return uuid.uuid5(_NAMESPACE, given), given
    correlation = new_id()
    return correlation, str(correlation)


def trace_requests(app_name: str) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware: begin each HTTP request's trace, echo its request id, log its access line and count
    it in ``/metrics`` (by route template and status)."""
    timed: dict[tuple[str, str, int], tuple[Callable[[], None], Callable[[float], None]]] = {}

    def record(method: str, path: str, status: int, seconds: float) -> None:
        found = timed.get((method, path, status))
        if found is None:
            labels = (app_name, method, path, str(status))
            found = timed[(method, path, status)] = (HTTP_REQUESTS.labels(*labels).inc,
                                                     HTTP_DURATION.labels(*labels).observe)
        found[0]()
        found[1](seconds)
        if status >= 500:
            HTTP_ERRORS.labels(app_name, method, path, str(status)).inc()

    return partial(_traced, record=record)


def _traced(app: ASGIApp, record: Callable[[str, str, int, float], None]) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        correlation, request_id = correlation_of(dict(scope["headers"]))
        echoed = request_id.encode("latin-1", "replace")
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID.encode(), echoed)]
            await send(message)

        try:
            route = scope.get("route_handler")
            if route is not None and route.opt.get(DECIDES_ON_CACHE):
                await _decided_on_the_log(app, scope, receive, send_with_id, Metadata(correlation_id=correlation))
            else:
                trace.begin(Metadata(correlation_id=correlation))
                await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            record(scope["method"], scope.get("path_template", "?"), status, seconds)
            elapsed = round(seconds * 1000, 1)
            access.info("%s %s %s %.1fms %s", scope["method"], scope["path"], status, elapsed, request_id,
                        extra={"request_id": request_id, "method": scope["method"], "path": scope["path"],
                               "status": status, "ms": elapsed})

    return middleware


DECIDES_ON_CACHE = "decides_on_cache"
"""A route's ``opt`` flag: its only effect is what it appends to the log (no mail, no webhook call, no
table of its own), so it may decide on cached state and, when that state proves stale, run again."""


async def _decided_on_the_log(app: ASGIApp, scope: Scope, receive: Receive, send: Send, metadata: Metadata) -> None:
    """Run a route flagged ``DECIDES_ON_CACHE`` deciding on cached state its append checks
    (``trace.assume``): one round trip less for most requests (a ballot: the group's roster). When that
    run's assumption was not checked by an append (the log had moved on, or nothing was appended, or it
    was refused on what it assumed), it appended nothing: its answer is dropped and the request runs
    again, reading everything, on its recorded body."""
    received: list[ReceiveMessage] = []

    async def recording() -> ReceiveMessage:
        message = await receive()
        received.append(message)
        return message

    answer: list[Message] = []

    async def holding(message: Message) -> None:
        answer.append(message)

    first = trace.begin(metadata, may_assume=True)
    await app(scope, recording, holding)
    if first.assumed is None or first.checked:
        for message in answer:
            await send(message)
        return
    replay = iter(received)

    async def replaying() -> ReceiveMessage:
        return next(replay, None) or await receive()

    # the first run's answer went through the route's own exception middleware, which marked the scope's response
    # as started: left so, an error in the second run (the member was removed meanwhile: 401) would be taken for
    # one raised mid-response and the request would end in a 500 with no answer of its own
    ScopeState.from_scope(scope).response_started = False
    trace.begin(metadata)
    await app(scope, replaying, send)
