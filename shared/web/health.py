"""Liveness and readiness, the same in every service."""

from __future__ import annotations

import msgspec
from litestar import Response, get

from shared.web.kernel import Kernel
from shared.web.openapi import documented
from shared.web.problems import PROBLEM_MEDIA_TYPE


class Health(msgspec.Struct):
    status: str
    service: str
    checks: dict[str, str] = {}


@get("/healthz", tags=["health"], summary="The process is up")
async def healthz(kernel: Kernel) -> Health:
    return Health(status="ok", service=kernel.name)


@get("/readyz", tags=["health"], summary="PostgreSQL and NATS are reachable, and the stream holds only the log's events",
     opt=documented(answers={
         503: ("Not ready: the checks say which part is unreachable or what is wrong (or, as problem+json, too many "
               "connections)", {"application/json": Health, PROBLEM_MEDIA_TYPE: {"$ref": "#/components/schemas/Problem"}})}))
async def readyz(kernel: Kernel) -> Response[Health]:
    store = kernel.store
    checks: dict[str, str] = {}
    try:
        # whichever process runs the relay records what it found wrong with the stream
        problem = await store.pool.fetchval(
            "SELECT string_agg(problem, '; ') FROM relay_cursors WHERE problem IS NOT NULL", timeout=2)
        checks["database"] = "ok"
        checks["relay"] = problem or "ok"
    except Exception as exc:  # any failure means not ready; the reason is reported
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if kernel.relay is not None and kernel.relay.problem is not None:
        checks["relay"] = kernel.relay.problem
    checks["nats"] = "ok" if kernel.bus.is_connected else "unreachable"
    if kernel.relay_bus is not None and kernel.relay_bus is not kernel.bus and not kernel.relay_bus.is_connected:
        checks["nats"] = "unreachable (relay)"
    for consumer in kernel.consumers:
        checks[f"consumer {consumer.name}"] = consumer.health() or "ok"
    ready = all(value == "ok" for value in checks.values())
    body = Health(status="ready" if ready else "unready", service=kernel.name, checks=checks)
    return Response(body, status_code=200 if ready else 503)
