"""The chaos suite's witnesses and verdicts: a webhook receiver, a durable NATS subscriber, the history
of requests and answers, and the checks run on the log afterwards (see ``bench/chaos.py``)."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg


@dataclass
class Request:
    """One request of the workload and what came back (status 0: no answer)."""

    request_id: str
    kind: str
    method: str
    path: str
    sent: float
    status: int = 0
    answered: float = 0.0

    @property
    def write(self) -> bool:
        return self.method != "GET"

    @property
    def acknowledged(self) -> bool:
        return self.write and 200 <= self.status < 300


def _receive(port: int, path: str) -> None:
    """The receiver's own process: its answers do not wait for the clients' event loop."""
    with open(path, "a", buffering=1) as out:
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # the http.server interface
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with lock:
                    out.write(f"{self.headers['webhook-id']} {int(body['position'])}\n")
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, *_: Any) -> None:  # a sender killed mid-request is part of the test
                pass

        Server(("127.0.0.1", port), Handler).serve_forever(poll_interval=0.1)


class WebhookReceiver:
    """A loopback endpoint (a process of its own) that records each delivery's ``webhook-id`` and
    position in arrival order and answers 204."""

    def __init__(self, root: Path) -> None:
        from shared.runtime.embedded import free_port

        self.port = free_port()
        self.path = root / "webhooks.txt"
        self.path.touch()
        self.process = multiprocessing.get_context("spawn").Process(
            target=_receive, args=(self.port, str(self.path)), daemon=True)
        self.process.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def arrivals(self) -> list[tuple[str, int]]:
        lines = self.path.read_text().splitlines()
        return [(line.split()[0], int(line.split()[1])) for line in lines if len(line.split()) == 2]

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


@dataclass
class NatsSubscriber:
    """A durable pull consumer on the group's subjects (one message in flight: arrival order is log order)."""

    url: str
    group_id: str
    stream: str = "COPRO"
    arrivals: list[tuple[str, int]] = field(default_factory=list)
    errors: int = 0

    async def run(self, stop: asyncio.Event, deadline: float) -> None:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig

        async def quiet(_: Exception) -> None:  # outages are the point here: counted, not printed
            self.errors += 1

        nc = await nats.connect(self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.25,
                                connect_timeout=2, allow_reconnect=True, error_cb=quiet)
        try:
            js = nc.jetstream()
            config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=1, ack_wait=5)
            sub = None
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    if sub is None:
                        sub = await js.pull_subscribe(f"copro.{self.group_id}.>", durable="chaos", stream=self.stream,
                                                      config=config)
                    for message in await sub.fetch(1, timeout=1):
                        headers = message.headers or {}
                        self.arrivals.append((headers["ce-id"], int(headers["ce-position"])))
                        await message.ack()
                except Exception:  # an outage or a timeout: try again, bounded by the deadline
                    self.errors += 1
                    await asyncio.sleep(0.2)
        finally:
            await nc.close()


def in_order(arrivals: list[tuple[str, int]], expected: list[tuple[str, int]]) -> tuple[float, bool, int]:
    """(share of expected events received, first arrivals in log order, repeats)."""
    seen: dict[str, int] = {}
    for event_id, position in arrivals:
        seen.setdefault(event_id, position)
    ids = {event_id for event_id, _ in expected}
    got = [p for e, p in seen.items() if e in ids]
    share = len(got) / len(expected) if expected else 1.0
    return share, got == sorted(got) and len(got) == len(set(got)), len(arrivals) - len(seen)


async def group_events(conn: asyncpg.Connection, group_id: str) -> list[tuple[str, int]]:
    rows = await conn.fetch("SELECT e.id::text AS id, l.position FROM log l JOIN events e ON e.seq = l.seq"
                            " WHERE e.group_id = $1 ORDER BY l.position", uuid.UUID(group_id))
    return [(r["id"], r["position"]) for r in rows]


async def unsealed(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM events e WHERE NOT EXISTS"
                                   " (SELECT 1 FROM log l WHERE l.seq = e.seq)"))


@dataclass
class Verdict:
    lost: list[str]
    duplicated: list[str]
    unexplained: list[str]
    events: int


async def judge_history(conn: asyncpg.Connection, history: list[Request]) -> Verdict:
    """Every acknowledged write is in the log (by correlation id = X-Request-Id) exactly once, and every
    event comes from a request sent (or from a reaction or job caused by an event that did)."""
    rows = await conn.fetch("SELECT e.id, e.type, e.stream_id, e.correlation_id, e.causation_id FROM log l"
                            " JOIN events e ON e.seq = l.seq ORDER BY l.position")
    sent = {uuid.UUID(r.request_id) for r in history}
    by_request = Counter(r["correlation_id"] for r in rows)
    lost = [r.request_id for r in history if r.acknowledged and by_request[uuid.UUID(r.request_id)] == 0]
    same = Counter((r["correlation_id"], r["type"], r["stream_id"]) for r in rows if r["correlation_id"] in sent)
    duplicated = [f"{c} {t} {s}" for (c, t, s), n in same.items() if n > 1]
    explained: set[uuid.UUID] = set()
    unexplained = []
    for row in rows:
        if row["correlation_id"] in sent or row["causation_id"] in explained:
            explained.add(row["id"])
        else:
            unexplained.append(f"{row['id']} {row['type']}")
    return Verdict(lost, duplicated, unexplained, len(rows))


async def projections_equal_a_rebuild(url: str) -> list[str]:
    """Rebuild every declared projection from position 0 into scratch tables and compare with the live ones."""
    from shared.eventlog.store import EventStore
    from shared.readmodels.projections import _apply_batch, _create
    from shared.runtime.cli.projections import discover_projections
    from shared.runtime.settings import SERVICE_NAMES

    differences = []
    store = await EventStore.connect(url)
    try:
        projections = discover_projections(tuple(f"services.{name}.projections" for name in SERVICE_NAMES))
        head = await store.head_position()
        async with store.pool.acquire() as conn:
            for _ in range(600):  # until every projection caught up with the head (bounded: a minute)
                behind = await conn.fetchval("SELECT count(*) FROM projection_cursors WHERE position < $1", head)
                if not behind:
                    break
                await asyncio.sleep(0.1)
            for name, projection in sorted(projections.items()):
                scratch = {t: f"{t}__chaos" for t in projection.tables}
                for table in scratch.values():
                    await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
                await _create(conn, projection, scratch)
                position = 0
                async with conn.transaction():
                    while position < head:
                        after = await _apply_batch(conn, store, projection, scratch, position, 2000)
                        if after == position:
                            break
                        position = after
                    for live, table in scratch.items():
                        extra = await conn.fetchval(f'SELECT count(*) FROM (SELECT * FROM "{live}" EXCEPT ALL'
                                                    f' SELECT * FROM "{table}") d')
                        missing = await conn.fetchval(f'SELECT count(*) FROM (SELECT * FROM "{table}" EXCEPT ALL'
                                                      f' SELECT * FROM "{live}") d')
                        if extra or missing:
                            differences.append(f"{name}.{live}: {extra} rows only live, {missing} only rebuilt")
                for table in scratch.values():
                    await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    finally:
        await store.close()
    return differences
