"""Long-lived responses (Server-Sent Events) that last only as long as the caller's access does.

A token is checked once per request; a stream is one request that may stay
open for days. So a stream re-checks the caller's token whenever the log
says access changed in the group (a token revoked, a member removed or
forgotten), when the token expires, and every few seconds as a safety net,
and ends as soon as the token no longer resolves: revoking a token ends its
streams within seconds, not at the next reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from litestar import Request

from shared.access.principals import Principal
from shared.access.tokens import resolve
from shared.domain.errors import Unauthenticated
from shared.domain.ids import utc_now
from shared.eventlog.envelope import RecordedEvent
from shared.web.kernel import provide_kernel

ACCESS_CHANGES = frozenset({"decisions.TokenRevoked", "decisions.MemberRemoved", "decisions.MemberForgotten"})
"""Group events after which a stream checks its caller's token at once (by their stored type)."""

SAFETY_CHECK = 5.0
"""Seconds between checks while the group is quiet: covers whatever no event announces."""


def still_admitted(request: Request[Any, Any, Any]) -> Callable[[], Awaitable[bool]]:
    """Whether the request's bearer token still resolves (not revoked, expired, or its member gone)."""
    kernel = provide_kernel(request.app.state)
    authorization = request.headers.get("authorization")

    async def check() -> bool:
        try:
            await resolve(kernel.store, authorization, kernel.members.resolve)
        except Unauthenticated:
            return False
        return True

    return check


async def while_admitted(request: Request[Any, Any, Any], principal: Principal,
                         events: AsyncIterator[RecordedEvent], every: float = SAFETY_CHECK,
                         ) -> AsyncIterator[RecordedEvent]:
    """``events`` for as long as the caller's token is good; then the stream ends."""
    admitted = still_admitted(request)

    async def following() -> RecordedEvent:
        return await anext(events)

    pending: asyncio.Task[RecordedEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(following())
            wait = every
            if principal.expires_at is not None:
                wait = min(wait, max((principal.expires_at - utc_now()).total_seconds(), 0.0) + 0.01)
            done, _ = await asyncio.wait({pending}, timeout=wait)
            if not done:
                if not await admitted():
                    return
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            if event.type in ACCESS_CHANGES and not await admitted():
                return
            yield event
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
