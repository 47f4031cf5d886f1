"""How background loops wait: for a while, or until woken, and always stoppable.

Every loop (sealer, relay, projections, consumers, deliveries, the closer)
pauses between rounds; pausing on the ``stop`` event instead of sleeping
lets shutdown end the wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Return after ``seconds``, or sooner when ``stop`` is set."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Return when ``wake`` or ``stop`` is set, or after ``seconds``."""
    waiter = asyncio.ensure_future(wake.wait())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    stopper.cancel()
