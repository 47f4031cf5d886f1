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


@get("/readyz", tags=["health"], summary="PostgreSQL and NATS are reachable", opt=documented(answers={
    503: ("Not ready: the checks say which part is unreachable (or, as problem+json, too many connections)",
          {"application/json": Health, PROBLEM_MEDIA_TYPE: {"$ref": "#/components/schemas/Problem"}})}))
async def readyz(kernel: Kernel) -> Response[Health]:
    store = kernel.store
    checks: dict[str, str] = {}
    try:
        await store.pool.fetchval("SELECT 1", timeout=2)
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason is reported
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["nats"] = "ok" if kernel.bus.is_connected else "unreachable"
    for consumer in kernel.consumers:
        checks[f"consumer {consumer.name}"] = consumer.health() or "ok"
    ready = all(value == "ok" for value in checks.values())
    body = Health(status="ready" if ready else "unready", service=kernel.name, checks=checks)
    return Response(body, status_code=200 if ready else 503)
