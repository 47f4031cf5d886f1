"""Waiting on a NATS server's side of things: a subscription that reached it, refusals it sent.

Both happen after the calls that cause them return, later still on a busy machine.
"""

from __future__ import annotations

import asyncio

import nats
import nats.errors


async def delivered(publisher: nats.aio.client.Client, subject: str, data: bytes,
                     subscription: nats.aio.subscription.Subscription, seconds: float = 30) -> nats.aio.msg.Msg:
    """The first message the subscription gets, publishing until it gets one.

    nats-py's ``flush()`` writes its PING ahead of commands still queued for its flusher task, so a
    PONG does not prove the server has the subscription yet (seen under load).
    """
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        await publisher.publish(subject, data)
        try:
            return await subscription.next_msg(timeout=0.2)
        except nats.errors.TimeoutError:
            if asyncio.get_running_loop().time() > deadline:
                raise


async def refusals(errors: list[Exception], *expected: str, seconds: float = 60) -> str:
    """The server's refusals (they arrive asynchronously) once each expected one is among them."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        violations = " ".join(str(e) for e in errors).lower()
        if all(text in violations for text in expected) or asyncio.get_running_loop().time() > deadline:
            return violations
        await asyncio.sleep(0.05)
