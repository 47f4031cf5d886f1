"""Delivering the group's events to partners' webhooks, in order, signed per Standard Webhooks.

Each subscription has its own cursor (a global position), so an endpoint that
was down for a day gets everything, in order, when it returns: the event at
the cursor is retried with exponential back-off and jitter (``Retry-After``
is honoured) and nothing after it is sent before it succeeds. ``410 Gone``
disables the subscription. An event that keeps failing for ``give_up_after``
goes to the dead-letter list (which can be redriven) and the cursor moves on.
Every attempt is written to the subscription's delivery log.

Replicas: one leader delivers (advisory lock, taken over within a second
when its process dies). A cursor only moves from the position its delivery
started at (compare and set), so a leader that lost its lock without knowing
cannot move a cursor back, and it notices between rounds (``still_leading``).
The cursor moves after every delivered event: a leader killed (or a
PostgreSQL that dies) between a partner's 2xx and that write makes the next
leader re-send that one event, with the same ``webhook-id``. The tables
(``webhook_cursors``, ``webhook_deliveries``, ``webhook_dead_letters``,
``webhook_secrets``, ``webhook_endpoints``) come from the kernel's migrations.
Signing secrets and partners' URLs live only in their tables, encrypted, never
in an event (``shared.access.secrets.SealedValues``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import asyncpg
import httpx
import msgspec
from standardwebhooks.webhooks import Webhook as Signer

from services.publishing.domain.webhooks import Disable, Webhook, webhook_decider, webhook_stream
from services.publishing.events import WebhookRegistered, WebhookRemoved
from shared.access.privacy import redacted
from shared.access.secrets import KEY_FILE, SealedValues, SecretBox
from shared.domain.contract import type_name
from shared.domain.ids import utc_now
from shared.eventlog import trace
from shared.eventlog.envelope import Metadata, RecordedEvent
from shared.eventlog.forgetting import forget
from shared.eventlog.handler import StateCache, handle, load
from shared.eventlog.locks import Lock
from shared.eventlog.outage import DATABASE_AWAY
from shared.eventlog.store import SEALED_CHANNEL, EventStore
from shared.eventlog.trace import system_actor
from shared.fanout.cloudevents import delivered
from shared.runtime.leader import Leadership, still_leading
from shared.runtime.version import USER_AGENT
from shared.runtime.waiting import pause, wait_any
from shared.web.outbound import delivery_transport

log = logging.getLogger(__name__)
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per delivery is noise; the delivery log keeps them



def body_of(event: RecordedEvent) -> bytes:
    """A webhook's body: the event as a structured CloudEvent, the same format as an audit export's lines
    (its payload decrypted for the partner; a forgotten person's fields and private fields read as null),
    with ``dataopened`` true where that data no longer hashes to ``contenthash``."""
    return msgspec.json.encode(delivered(redacted(event)))


def wanted(event_type: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    return None


@dataclass
class Cursor:
    """Where a subscription's delivery stands: ``recorded`` is what the table holds."""

    position: int
    recorded: int
    attempts: int
    failing_since: datetime | None


class _Legacy(msgspec.Struct):
    """A registration recorded while the secret (encrypted per subscription) or the URL (version 1) still
    travelled in the event."""

    secret: str | None = None
    url: str | None = None


@dataclass
class Attempt:
    ok: bool
    status: int | None
    error: str | None
    retry_after: float | None


class Delivery:
    """The delivery loop (one leader among the service's processes) and what the routes ask of it."""

    def __init__(
        self,
        store: EventStore,
        box: SecretBox,
        *,
        base_delay: float = 1.0,
        max_delay: float = 600.0,
        give_up_after: timedelta = timedelta(days=3),
        timeout: float = 10.0,
        batch: int = 100,
        private_targets: bool = False,
    ) -> None:
        self.store = store
        self.box = box
        # an old registration's secret, once moved to its table: the subscription's data key is destroyed,
        # so the copy in its event reads as null on every path (SSE, webhooks, replays)
        self.secrets = SealedValues(store.pool, box, "webhook_secrets", "secret", "signing secret")
        self.endpoints = SealedValues(store.pool, box, "webhook_endpoints", "url", "URL")
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.give_up_after = give_up_after
        self.batch = batch
        self.private_targets = private_targets
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                        transport=delivery_transport(private_targets))
        self.webhooks: StateCache[Webhook] = StateCache()
        self._wake = asyncio.Event()
        self._leadership = Leadership(store.url, Lock.WEBHOOK_DELIVERY, "webhook delivery")

    async def close(self) -> None:
        await self.client.aclose()

    async def run(self, stop: asyncio.Event) -> None:
        """Lead delivery, once this process's secrets key opens the secrets and URLs kept: with another
        installation's key every delivery would fail and, after ``give_up_after``, be dead-lettered, so a
        process started with the wrong ``COPRO_HOME/secrets.key`` delivers nothing and leaves the lead to
        one with the right key."""
        while not stop.is_set() and not await self._key_fits():
            log.error("webhook delivery waits: this process's secrets key (COPRO_HOME/%s) does not open the"
                      " webhooks' secrets and URLs kept in the database", KEY_FILE)
            await pause(stop, 30.0)
        await self._leadership.run(lambda conn: self._lead(conn, stop), stop)

    async def _key_fits(self) -> bool:
        try:
            return await self.secrets.opens() and await self.endpoints.opens()
        except DATABASE_AWAY:
            return True  # not known while the database is away: leadership waits the outage out

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        await self.adopt_legacy()
        await conn.add_listener(SEALED_CHANNEL, lambda *_: self._wake.set())
        while not stop.is_set():
            self._wake.clear()
            await still_leading(conn)
            rows = await self.store.pool.fetch("SELECT * FROM webhook_cursors WHERE next_attempt_at <= now()")
            busy = await asyncio.gather(*(self.deliver(row) for row in rows))
            if not any(busy):  # a full batch went out: there may be more, go on at once
                await wait_any(stop, self._wake, 0.25)
                # what is sealed meanwhile goes out in the same round: under load one round per 10 ms,
                # not one per seal (two queries each, on the service's own core)
                await pause(stop, 0.01)

    async def webhook(self, subscription_id: uuid.UUID) -> Webhook:
        found, _ = await load(self.store, webhook_decider, webhook_stream(subscription_id), self.webhooks)
        return found

    # -- what a webhook keeps out of the log ------------------------------------------------------

    async def secret(self, subscription_id: uuid.UUID) -> str | None:
        return await self.secrets.get(subscription_id) or await self._adopt(subscription_id, "secret")

    async def endpoint(self, subscription_id: uuid.UUID) -> str | None:
        return await self.endpoints.get(subscription_id) or await self._adopt(subscription_id, "url")

    async def adopt_legacy(self) -> int:
        """Move the secrets and URLs of webhooks registered while they travelled in the event; how many."""
        rows = await self.store.pool.fetch(
            "SELECT c.subscription_id,"
            " EXISTS (SELECT 1 FROM webhook_secrets s WHERE s.subscription_id = c.subscription_id) AS secret,"
            " EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.subscription_id = c.subscription_id) AS url"
            " FROM webhook_cursors c")
        adopted = [await self._adopt(r["subscription_id"], field) is not None
                   for r in rows for field in ("secret", "url") if not r[field]]
        return sum(adopted)

    async def _adopt(self, subscription_id: uuid.UUID, field: Literal["secret", "url"]) -> str | None:
        """A registration recorded while the secret (encrypted per subscription) or the URL (version 1)
        travelled in the event gives it up once, to its table; then the subscription's data key is
        destroyed, so the secret's copy in the event reads as null on every path (SSE, webhooks, replays).
        A removed webhook gives nothing up (its cursor row stays)."""
        stored = await self.store.read_stream(webhook_stream(subscription_id))
        if any(e.type == type_name(WebhookRemoved) for e in stored):
            return None
        value = next((getattr(msgspec.json.decode(e.data, type=_Legacy), field) for e in stored
                      if e.type == type_name(WebhookRegistered)), None)
        if value is None:
            return None
        if field == "url":
            await self.endpoints.keep(subscription_id, value)
        else:
            await self.secrets.keep(subscription_id, value)
            await forget(self.store, subscription_id)
        return str(value)

    # -- delivering -------------------------------------------------------------------------------

    async def post(self, webhook: Webhook, event: RecordedEvent) -> Attempt:
        registered = webhook.registered
        assert registered is not None
        secret = await self.secret(registered.subscription_id)
        if secret is None:
            return Attempt(False, None, "no signing secret is kept for this webhook", None)
        url = await self.endpoint(registered.subscription_id)
        if url is None:
            return Attempt(False, None, "no URL is kept for this webhook", None)
        body = body_of(event)
        now = utc_now()
        headers = {
            "content-type": "application/cloudevents+json",  # a structured-mode CloudEvent (CloudEvents HTTP binding)
            "user-agent": USER_AGENT,
            "webhook-id": str(event.id),
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Signer(secret).sign(str(event.id), now, body.decode()),
        }
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Attempt(False, None, f"{type(exc).__name__}: {exc}", None)
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return Attempt(ok, response.status_code, error, _retry_after(response.headers.get("retry-after"), now))

    async def deliver(self, row: Any) -> bool:
        """Send what is due for one subscription, in order, stopping at the first failure.

        The cursor and the delivery log are written after every successful delivery, in one
        transaction: a crash (of this process or of PostgreSQL) re-sends at most the one event
        whose answer was not yet recorded, with the same ``webhook-id``, and never skips one.
        """
        subscription_id = row["subscription_id"]
        webhook = await self.webhook(subscription_id)
        if webhook.status != "active" or webhook.registered is None:
            return False
        cursor = Cursor(row["position"], row["position"], row["attempts"], row["failing_since"])
        events = await self.store.read_all(cursor.position, self.batch, group_id=row["group_id"])
        for event in events:
            assert event.position is not None
            if not wanted(event.type, webhook.registered.event_types):
                cursor.position = event.position
                continue
            attempt = await self.post(webhook, event)
            entry = (subscription_id, event.id, event.position, cursor.attempts + 1, attempt.status, attempt.error)
            if attempt.ok:
                cursor.position, cursor.attempts, cursor.failing_since = event.position, 0, None
                if not await self._record(row, cursor, utc_now(), None, [entry], []):
                    return False
                continue
            if attempt.status == 410:
                if await self._record(row, cursor, utc_now(), attempt.error, [entry], [], gone=True):
                    # the delivery job disables it, caused by the delivery the endpoint refused for good
                    with trace.acting(Metadata(actor_id=system_actor("delivery"), causation_id=event.id)):
                        await handle(self.store, webhook_decider,
                                     Disable(reason="the endpoint answered 410 Gone", at=utc_now()),
                                     group_id=row["group_id"], stream_id=webhook_stream(subscription_id),
                                     cache=self.webhooks)
                return False
            now = utc_now()
            cursor.failing_since = cursor.failing_since or now
            if now - cursor.failing_since >= self.give_up_after:
                dead = (subscription_id, event.id, event.position, attempt.error or "failed")
                cursor.position, cursor.attempts, cursor.failing_since = event.position, 0, None
                if not await self._record(row, cursor, now, attempt.error, [entry], [dead]):
                    return False
                continue
            cursor.attempts += 1
            delay = attempt.retry_after
            if delay is None:
                delay = min(self.max_delay, self.base_delay * 2 ** (cursor.attempts - 1)) * random.uniform(0.5, 1.0)
            await self._record(row, cursor, now + timedelta(seconds=delay), attempt.error, [entry], [])
            return False
        if cursor.position != cursor.recorded:  # only unwanted events were passed over
            await self._record(row, cursor, utc_now(), None, [], [])
        return len(events) == self.batch

    async def _record(self, row: Any, cursor: Cursor, next_attempt_at: datetime, error: str | None,
                      attempts_log: list[tuple[Any, ...]], dead: list[tuple[Any, ...]], gone: bool = False) -> bool:
        """Move the cursor from where it was recorded last (compare and set) and log the attempt; False
        when another leader moved it meanwhile (its account stands, not ours)."""
        subscription_id = row["subscription_id"]
        async with self.store.pool.acquire() as conn, conn.transaction():
            moved = await conn.fetchval(
                "UPDATE webhook_cursors SET position = $2, attempts = $3, failing_since = $4, next_attempt_at = $5,"
                " last_error = coalesce($6, last_error) WHERE subscription_id = $1 AND position = $7 RETURNING true",
                subscription_id, cursor.position, 0 if gone else cursor.attempts, cursor.failing_since,
                next_attempt_at, error, cursor.recorded,
            )
            if not moved:
                log.warning("webhook delivery: cursor of %s moved by another leader; not recording", subscription_id)
                return False
            await conn.executemany(
                "INSERT INTO webhook_deliveries (subscription_id, event_id, position, attempt, status, error)"
                " VALUES ($1, $2, $3, $4, $5, $6)", attempts_log)
            await conn.executemany(
                "INSERT INTO webhook_dead_letters (subscription_id, event_id, position, error) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT DO NOTHING", dead)
        cursor.recorded = cursor.position
        return True

    async def redrive(self, subscription_id: uuid.UUID) -> tuple[int, int]:
        """Try every dead letter of a subscription once more; (delivered, still failing)."""
        webhook = await self.webhook(subscription_id)
        rows = await self.store.pool.fetch(
            "SELECT event_id, position FROM webhook_dead_letters WHERE subscription_id = $1 AND redriven_at IS NULL"
            " ORDER BY position", subscription_id)
        delivered = 0
        for row in rows:
            found = [e for e in await self.store.read_all(row["position"] - 1, 1) if e.id == row["event_id"]]
            if not found:
                continue
            event = found[0]
            attempt = await self.post(webhook, event)
            await self.store.pool.execute(
                "INSERT INTO webhook_deliveries (subscription_id, event_id, position, attempt, status, error)"
                " VALUES ($1, $2, $3, 0, $4, $5)", subscription_id, event.id, event.position, attempt.status,
                attempt.error)
            if attempt.ok:
                delivered += 1
                await self.store.pool.execute(
                    "UPDATE webhook_dead_letters SET redriven_at = now() WHERE subscription_id = $1 AND event_id = $2",
                    subscription_id, event.id)
        return delivered, len(rows) - delivered
