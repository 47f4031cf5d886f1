"""The relay: every sealed event, in global order, onto NATS JetStream.

The log in PostgreSQL is the outbox: the relay follows it by position (woken
by the sealer's NOTIFY, polling slowly as a safety net) and publishes each
event as a CloudEvent with ``Nats-Msg-Id`` = event id, in pipelined batches.

Order survives failures: each message also carries
``Nats-Expected-Last-Msg-Id`` = the previous event's id, so when one publish
in a batch fails, every later one is refused by the server instead of being
stored ahead of it. A republish after a crash is deduplicated (JetStream
checks ``Nats-Msg-Id`` before the expectation). Where to resume is read from
the stream itself (its last message carries ``ce-position``), so neither a
crash between ack and cursor nor a lost stream loses or reorders events.
The cursor in PostgreSQL follows every acknowledged batch, for lag and
for operators.

Only the relay's NATS user may publish to the stream's subjects, but an
operator's admin credentials still can. So the relay trusts no message it
did not write: when it resumes and after every refused publish (a wrong
expected last message id is what a foreign message causes) it checks the
stream's last message against the log (``Nats-Msg-Id``, ``ce-id``,
``ce-position``, subject and body). A message the log does not account for
stops publishing (order can no longer be guaranteed): the relay says so
once in its log, records the problem in ``relay_cursors`` so every
service's ``/readyz`` answers 503 naming it, keeps ``copro_publish_lag_events``
at the distance from the last genuine message, and checks again every few
seconds (see deploy/SECURITY.md for the remedy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence

import asyncpg
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.locks import Lock
from shared.eventlog.store import SEALED_CHANNEL, EventStore
from shared.fanout.cloudevents import SUBJECT_ROOT, headers_for, position_of, subject_for
from shared.runtime.leader import Leadership
from shared.runtime.logs import Condition
from shared.runtime.metrics import PUBLISH_LAG, PUBLISHED
from shared.runtime.waiting import pause, wait_any

log = logging.getLogger(__name__)

DUPLICATE_WINDOW = 600.0  # seconds JetStream remembers message ids


async def ensure_stream(js: JetStreamContext, name: str, replicas: int) -> None:
    """Create or update the stream every copro event is stored in; idempotent."""
    config = api.StreamConfig(
        name=name,
        subjects=[f"{SUBJECT_ROOT}.>"],
        storage=api.StorageType.FILE,
        num_replicas=replicas,
        deny_delete=True,
        deny_purge=True,
        duplicate_window=DUPLICATE_WINDOW,
        description="copro: every event of the shared log, as CloudEvents",
    )
    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)


async def last_published(js: JetStreamContext, stream: str) -> tuple[int, uuid.UUID | None]:
    """The position and event id of the last copro event in the stream."""
    info = await js.stream_info(stream)
    last_seq = info.state.last_seq
    if not last_seq:
        return 0, None
    message = await js.get_msg(stream, seq=last_seq)
    headers = message.headers or {}
    position = position_of(headers)
    if position is None:
        raise RuntimeError(f"the last message of stream {stream} is not a copro event")
    ids = [v for k, v in headers.items() if k.lower() == "ce-id"]
    return position, uuid.UUID(ids[0])


SCAN = 1000  # messages looked back through for the last genuine one


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


async def _genuine(store: EventStore, subject: str, headers: dict[str, str], body: bytes) -> tuple[int, uuid.UUID] | None:
    """The position and id of the logged event this message is, or None when the log does not account for it."""
    position, msg_id, ce_id = position_of(headers), _header(headers, "Nats-Msg-Id"), _header(headers, "ce-id")
    if position is None or msg_id is None or msg_id != ce_id or position < 1:
        return None
    found = await store.read_all(position - 1, 1, decrypt=False)
    if not found or found[0].position != position:
        return None
    event = found[0]
    if str(event.id) != msg_id or subject != subject_for(event.group_id, event.type) or body != bytes(event.data):
        return None
    return position, event.id


async def genuine_tail(js: JetStreamContext, stream: str, store: EventStore) -> tuple[int, uuid.UUID | None, str | None]:
    """The position and id of the last message in the stream that the relay wrote, and what is wrong
    when later messages (or the last ``SCAN``) are not the log's."""
    info = await js.stream_info(stream)
    last_seq, first_seq = info.state.last_seq, info.state.first_seq
    problem: str | None = None
    for seq in range(last_seq, max(first_seq, last_seq - SCAN + 1) - 1, -1):
        if seq < 1:
            break
        message = await js.get_msg(stream, seq=seq)
        found = await _genuine(store, message.subject or "", message.headers or {}, message.data or b"")
        if found is not None:
            return found[0], found[1], problem
        problem = problem or (f"stream {stream} holds a message the relay did not write (sequence {seq}, subject "
                              f"{message.subject}); publishing stopped")
    return 0, None, problem


class Relay:
    def __init__(
        self,
        store: EventStore,
        nats_client: Client,
        *,
        stream: str = "COPRO",
        replicas: int = 1,
        batch: int = 500,
        ack_timeout: float = 5.0,
        safety_poll: float = 1.0,
        name: str = "relay",
        standby: float = 0.0,
    ) -> None:
        self.store = store
        self.nc = nats_client
        self.stream = stream
        self.replicas = replicas
        self.batch = batch
        self.ack_timeout = ack_timeout
        self.safety_poll = safety_poll
        self.name = name
        self.position = 0
        self._last_id: uuid.UUID | None = None
        self._wake = asyncio.Event()
        self.condition = Condition(log, "relay")
        self._leadership = Leadership(store.url, Lock.RELAY, "relay", standby=standby)
        self.problem: str | None = None
        self.recheck = 5.0
        self.gather = 0.003

    @property
    def is_leader(self) -> bool:
        return self._leadership.is_leader

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set, through NATS and PostgreSQL outages."""
        standby = asyncio.create_task(self._standby(stop))
        try:
            await self._leadership.run(lambda conn: self._lead(conn, stop), stop)
        finally:
            standby.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await standby

    async def _standby(self, stop: asyncio.Event) -> None:
        """While another process leads, this one's lag metric still tells the truth: read from the cursor."""
        while not stop.is_set():
            if not self.is_leader:
                with contextlib.suppress(Exception):
                    published = await self.store.pool.fetchval(
                        "SELECT position FROM relay_cursors WHERE name = $1", self.name) or 0
                    PUBLISH_LAG.set(max(0, await self.store.head_position() - published))
            await pause(stop, self.recheck)

    async def _check_stream(self, conn: asyncpg.Connection, js: JetStreamContext) -> bool:
        """Resume from the stream's last genuine message; False (and the problem recorded) when a foreign
        message follows it."""
        self.position, self._last_id, problem = await genuine_tail(js, self.stream, self.store)
        PUBLISH_LAG.set(max(0, await self.store.head_position() - self.position))
        if problem != self.problem:
            if problem is not None:
                log.error("relay: %s", problem)
            else:
                log.warning("relay: the stream holds only the log's messages again; publishing resumes")
            await conn.execute(
                "INSERT INTO relay_cursors (name, position, event_id, problem) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (name) DO UPDATE SET problem = $4, updated_at = now()",
                self.name, self.position, self._last_id, problem,
            )
            self.problem = problem
        return problem is None

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        await conn.add_listener(SEALED_CHANNEL, self._on_notify)
        js = self.nc.jetstream(timeout=self.ack_timeout)
        ready = False
        while not stop.is_set():
            self._wake.clear()
            try:
                if not ready:
                    await ensure_stream(js, self.stream, self.replicas)
                    if not await self._check_stream(conn, js):
                        await pause(stop, self.recheck)
                        continue
                    ready = True
                published = await self.publish_once(conn, js)
                self.condition.working()
            except (TimeoutError, nats.errors.Error, OSError) as exc:
                if self.problem is None:  # a foreign message was said once already
                    self.condition.failing("NATS is unavailable; publishing resumes when it is back", exc)
                ready = False
                await pause(stop, 0.5)
                continue
            if published < self.batch:
                if published:
                    # under load, what is sealed meanwhile goes in the next round: one read of the log and
                    # one cursor write per few milliseconds, not per seal
                    await pause(stop, self.gather)
                await wait_any(stop, self._wake, self.safety_poll)

    async def publish_once(self, conn: asyncpg.Connection, js: JetStreamContext) -> int:
        """Publish the next batch; returns how many events are now acknowledged."""
        events = await self.store.read_all(self.position, self.batch, decrypt=False)
        head = events[-1].position if events else self.position
        PUBLISH_LAG.set((head or 0) - self.position)
        if not events:
            return 0
        futures = []
        previous = self._last_id
        for event in events:
            headers = headers_for(event)
            if previous is not None:
                headers["Nats-Expected-Last-Msg-Id"] = str(previous)
            futures.append(await js.publish_async(subject_for(event.group_id, event.type), bytes(event.data),
                                                  headers=headers))
            previous = event.id
        results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), self.ack_timeout)
        acknowledged = self._acknowledged(events, results)
        if acknowledged:
            last = acknowledged[-1]
            assert last.position is not None
            self.position, self._last_id = last.position, last.id
            PUBLISHED.inc(len(acknowledged))
            await conn.execute(
                "INSERT INTO relay_cursors (name, position, event_id) VALUES ($1, $2, $3)"
                " ON CONFLICT (name) DO UPDATE SET position = $2, event_id = $3, updated_at = now()",
                self.name, self.position, self._last_id,
            )
        if len(acknowledged) < len(events):
            failure = results[len(acknowledged)]
            # the stream is not where we thought (lost, published past our position, or holding a
            # message we did not write): ask it, and check what it holds against the log
            await self._check_stream(conn, js)
            raise nats.errors.Error(f"publish refused at position {events[len(acknowledged)].position}: {failure!r}")
        return len(acknowledged)

    @staticmethod
    def _acknowledged(events: list[RecordedEvent], results: Sequence[object]) -> list[RecordedEvent]:
        """The prefix of ``events`` JetStream stored (or had stored already)."""
        done = []
        for event, result in zip(events, results, strict=True):
            if not isinstance(result, api.PubAck):
                break
            done.append(event)
        return done
