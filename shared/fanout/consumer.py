"""A service's subscription to other services' events, from a durable JetStream pull consumer.

Each message is handled inside a PostgreSQL transaction that also records
its event id in ``processed_events``: a redelivery (after a crash, a lost
ack, a relay republish) changes nothing. Failures are retried with back-off
a bounded number of times; the last failure is kept in ``dead_letters`` and
the consumer moves on.

Order: a consumer applies its events in global position order, across
failures, outages and redeliveries. It holds one unacknowledged message at a
time (``max_ack_pending`` 1), so JetStream hands over nothing newer while an
older message waits for its redelivery; a failing message holds the ones
behind it until it succeeds or becomes a dead letter. ``health()`` tells
``/readyz`` when the consumer is stuck or lagging; the lag is a metric.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api

from shared.eventlog import trace
from shared.eventlog.envelope import Metadata
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.store import EventStore
from shared.eventlog.trace import system_actor
from shared.fanout.cloudevents import Delivered, from_message
from shared.runtime.logs import Condition
from shared.runtime.metrics import CONSUMER_LAG
from shared.runtime.waiting import pause

log = logging.getLogger(__name__)

Handler = Callable[[asyncpg.Connection, Delivered], Awaitable[None]]
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
ACK_WAIT = 30.0  # how long a handler may take before JetStream delivers the message again



ContextT = TypeVar("ContextT")


@dataclass(frozen=True)
class Reaction(Generic[ContextT]):
    """What a service declares in its ``subscriptions.py``: a durable consumer name, the subjects of
    other services' events it reacts to, and how to make its handler from the service's context
    (where its store and caches live)."""

    name: str
    subjects: tuple[str, ...]
    make_handler: Callable[[ContextT], Handler]


class Consumer:
    """A durable JetStream pull consumer that applies each message once, in a PostgreSQL transaction."""

    def __init__(
        self,
        store: EventStore,
        nats_client: Client,
        *,
        name: str,
        subjects: Sequence[str],
        handler: Handler,
        stream: str = "COPRO",
        backoff: Sequence[float] = BACKOFF,
        stuck_after: float = 60.0,
        lag_threshold: int = 10_000,
    ) -> None:
        self.store = store
        self.nc = nats_client
        self.name = name
        self.subjects = list(subjects)
        self.handler = handler
        self.stream = stream
        self.backoff = list(backoff)
        self.max_attempts = len(self.backoff) + 1
        self._failures: dict[uuid.UUID, int] = {}
        self.stuck_after = stuck_after
        self.lag_threshold = lag_threshold
        self.lag = 0
        self.condition = Condition(log, f"consumer {name}")
        self._progress_at = time.monotonic()

    def health(self) -> str | None:
        """Why this consumer is not healthy, or None when it is."""
        if self.lag > self.lag_threshold:
            return f"{self.name} lags {self.lag} messages"
        if self.lag and time.monotonic() - self._progress_at > self.stuck_after:
            return f"{self.name} made no progress for {self.stuck_after:.0f}s with {self.lag} pending"
        return None

    def _config(self) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=self.name,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ACK_WAIT,
            filter_subjects=self.subjects,
            max_ack_pending=1,  # one message in flight: nothing newer overtakes a redelivery (see the module's doc)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, through NATS and PostgreSQL outages."""
        while not stop.is_set():
            try:
                js = self.nc.jetstream()
                await js.add_consumer(self.stream, self._config())  # creates it, or updates an older config
                sub = await js.pull_subscribe_bind(durable=self.name, stream=self.stream)
                while not stop.is_set():
                    await self._fetch_and_handle(sub)
                    self.condition.working()
            except nats.js.errors.NotFoundError:
                self.condition.failing("waiting for the relay to create stream " + self.stream, level=logging.INFO)
                await pause(stop, 1.0)
            except (TimeoutError, nats.errors.Error, *DATABASE_AWAY) as exc:
                self.condition.failing(f"{type(exc).__name__}; retrying until it is back", exc)
                await pause(stop, 1.0)
            except Exception:  # a consumer never stops for good: JetStream redelivers what it had not acknowledged
                log.exception("consumer %s: failed; consuming again in a second", self.name)
                await pause(stop, 1.0)

    async def _fetch_and_handle(self, sub: nats.js.JetStreamContext.PullSubscription) -> None:
        """Handle the next message, if one comes within a second; keep the lag up to date either way."""
        try:
            [message] = await sub.fetch(1, timeout=1.0)
        except (nats.errors.TimeoutError, TimeoutError):  # nothing new within the second: the idle case, not a fault
            info = await sub.consumer_info()
            self.lag = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        else:
            handled = await self._handle(message)
            self.lag = int(message.metadata.num_pending or 0) + (0 if handled else 1)
        CONSUMER_LAG.labels(self.name).set(self.lag)
        if not self.lag:
            self._progress_at = time.monotonic()

    async def _handle(self, message: Msg) -> bool:
        """Handle one message once; True when it is done with (handled or dead)."""
        event = from_message(message.headers or {}, message.data)
        try:
            async with self.store.pool.acquire() as conn, conn.transaction():
                fresh = await conn.fetchval(
                    "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)"
                    " ON CONFLICT DO NOTHING RETURNING true",
                    self.name, event.id,
                )
                if fresh:
                    # what the reaction appends was caused by this event, in its correlation chain
                    with trace.acting(Metadata(actor_id=system_actor(f"reaction:{self.name}"), causation_id=event.id,
                                               correlation_id=event.correlation_id or event.id)):
                        await self.handler(conn, event)
        except DATABASE_AWAY:
            raise  # not the event's fault: the loop waits for the database, then redelivery retries it
        except Exception as exc:  # a handler's failure must not stop the consumer
            # attempts are counted here, not by JetStream: messages held back behind a failure
            # are redelivered too, and must not use up their own attempts
            delivered = self._failures[event.id] = self._failures.get(event.id, 0) + 1
            if delivered >= self.max_attempts:
                log.error("consumer %s gives up on event %s: %r", self.name, event.id, exc)
                await self.store.pool.execute(
                    "INSERT INTO dead_letters (consumer, event_id, subject, error) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT DO NOTHING",
                    self.name, event.id, message.subject, repr(exc),
                )
                await message.ack()
                self._failures.pop(event.id, None)
                return True
            log.warning("consumer %s: event %s failed (attempt %s): %r", self.name, event.id, delivered, exc)
            await message.nak(delay=self.backoff[min(delivered - 1, len(self.backoff) - 1)])
            return False
        await message.ack()
        self._failures.pop(event.id, None)
        self._progress_at = time.monotonic()
        return True
