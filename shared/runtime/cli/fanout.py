"""``copro fanout status|rebuild``: the JetStream stream beside the log it is derived from.

The log in PostgreSQL is the source of truth; the stream can always be made
again from it. The relay resumes from the stream's own last message
(``last_published``) when it starts leading, so once the stream is deleted
and the leading relay made to start over, whichever relay leads next (a
service's, or this command's own) creates it again and publishes the whole
log from position 0, in order, each event under its own id. Durable
consumers go with the stream; the services create theirs again and skip
what they had already applied (``processed_events``).

Rebuild after restoring PostgreSQL to an earlier point (the stream then
holds events the log no longer has), after losing the NATS cluster's
storage, or to change what the stream is (replicas can be changed in place).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

import nats
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from shared.eventlog.locks import Lock
from shared.eventlog.store import EventStore
from shared.fanout.relay import Relay, last_published
from shared.runtime.credentials import read_passwords
from shared.runtime.embedded import ensure_servers
from shared.runtime.leader import restart_leader
from shared.runtime.nats_auth import ADMIN_USER
from shared.runtime.settings import Settings
from shared.runtime.tls import nats_tls

STALL = 60.0  # seconds without progress before a rebuild gives up


async def _connect(settings: Settings, url: str, credentials: Path | None) -> Client:
    """An operator's connection: the ``admin`` user when the credentials file has one (rebuilding the stream
    needs it; no service's user may)."""
    tls = nats_tls(settings)
    login: dict[str, str] = {}
    if credentials is not None and (admin := read_passwords(credentials).get(ADMIN_USER)) is not None:
        login = {"user": ADMIN_USER, "password": admin}
    return await nats.connect(url.split(","), name="copro-fanout", connect_timeout=5, max_reconnect_attempts=3,
                              **({"tls": tls} if tls else {}), **login)


async def _stream_at(js: JetStreamContext, stream: str) -> tuple[int, uuid.UUID | None] | None:
    try:
        return await last_published(js, stream)
    except nats.js.errors.NotFoundError:
        return None


async def _status(settings: Settings) -> int:
    servers = ensure_servers(settings)
    store = await EventStore.connect(servers.database_url, min_size=1, max_size=2)
    nc = await _connect(settings, servers.nats_url, servers.nats_credentials)
    try:
        head = await store.head_position()
        found = await _stream_at(nc.jetstream(), settings.nats_stream)
        print(f"log         {head} events")
        if found is None:
            print(f"stream      {settings.nats_stream} does not exist: a relay creates it and publishes the log")
            return 0
        position, event_id = found
        print(f"stream      {settings.nats_stream} at position {position} (event {event_id})")
        logged = await store.pool.fetchval("SELECT e.id FROM log l JOIN events e ON e.seq = l.seq WHERE l.position = $1",
                                           position) if position else None
        if position > head or logged != event_id:
            print("DIVERGED: the stream holds events the log does not (restored database?): run copro fanout rebuild")
            return 1
        print("in step" if position == head else f"behind by {head - position}: the relay is catching up")
        return 0
    finally:
        await nc.close()
        await store.close()


async def _rebuild(settings: Settings) -> int:
    servers = ensure_servers(settings)
    store = await EventStore.connect(servers.database_url, min_size=1, max_size=4)
    nc = await _connect(settings, servers.nats_url, servers.nats_credentials)
    js = nc.jetstream()
    stop = asyncio.Event()
    relay = Relay(store, nc, stream=settings.nats_stream, replicas=settings.nats_replicas)
    task: asyncio.Task[None] | None = None
    try:
        head = await store.head_position()
        try:
            await js.delete_stream(settings.nats_stream)
            print(f"stream {settings.nats_stream} deleted; publishing the log again from position 0 ({head} events)")
        except nats.js.errors.NotFoundError:
            print(f"stream {settings.nats_stream} did not exist; publishing the log from position 0 ({head} events)")
        async with store.pool.acquire() as conn:  # a running relay starts over, from the stream (now empty)
            await restart_leader(conn, Lock.RELAY)
        task = asyncio.create_task(relay.run(stop))  # leads unless a running service's relay takes the lock first
        reached, moved_at = -1, time.monotonic()
        while reached < head:
            await asyncio.sleep(0.5)
            found = await _stream_at(js, settings.nats_stream)
            position = found[0] if found else 0
            if position > reached:
                reached, moved_at = position, time.monotonic()
                print(f"  {position}/{head}", flush=True)
            elif time.monotonic() - moved_at > STALL:
                print(f"copro: no progress for {STALL:.0f}s at position {position}: is NATS reachable?", file=sys.stderr)
                return 1
        print(f"stream {settings.nats_stream} rebuilt: {reached} events, in log order")
        return 0
    finally:
        stop.set()
        if task is not None:
            await task
        await nc.close()
        await store.close()


def cmd_fanout(settings: Settings, action: str, yes: bool) -> int:
    if action == "status":
        return asyncio.run(_status(settings))
    if not yes:
        print("copro: rebuild deletes the JetStream stream and publishes the whole log again; "
              "partners' consumers receive every event again. Add --yes to go ahead.", file=sys.stderr)
        return 2
    return asyncio.run(_rebuild(settings))
