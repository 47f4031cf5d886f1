"""Writes that accept an ``Idempotency-Key``: the request's key, as a dependency every write route can take.

The API conventions promise this for every write in every service; the log
stores each key with a hash of its request (``copro_append``), and
``shared.eventlog.handler.execute`` answers a repeat from the first run's
events instead of deciding again. This module only reads the header.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from litestar import Request

from shared.access.principals import Principal
from shared.eventlog.handler import Idempotency
from shared.web.params import BadHeader

KEY_LENGTH = 200


def idempotency_scope(principal: Principal, group_id: uuid.UUID | None) -> str:
    """Whose ``Idempotency-Key``s are one namespace: a member's (or the operator's) in one group."""
    return f"{group_id}:{principal.member_id or 'operator'}"


async def idempotency(request: Request[Any, Any, Any], scope: str) -> Idempotency:
    """The request's ``Idempotency-Key``, hashed with its method, path and body, within ``scope``
    (the same key from two callers names two requests)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return Idempotency(scope=scope)
    if not 1 <= len(key) <= KEY_LENGTH:  # what the OpenAPI documents promise (``IDEMPOTENCY_KEY``)
        raise BadHeader(f"an Idempotency-Key has 1 to {KEY_LENGTH} characters", field="Idempotency-Key")
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).digest()
    return Idempotency(key=key, scope=scope, request_hash=digest)


async def provide_once(request: Request[Any, Any, Any], principal: Principal) -> Idempotency:
    """Litestar dependency ``once``: the request's key within the caller's scope in the group it addresses."""
    group_id = request.path_params.get("group_id")
    return await idempotency(request, idempotency_scope(principal, group_id if isinstance(group_id, uuid.UUID) else None))
