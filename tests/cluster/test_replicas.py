"""Two replicas of every service on a three-node NATS cluster: the leader of each background role is killed
(SIGKILL) in the middle of its work, and the work still completes exactly once.

- sealer: every event gets one position, the global chain verifies (``copro audit verify --live``);
- relay: JetStream holds each event once, in log order (message count = log head, ids = the log's ids);
- automatic closing: every due proposal is closed once, although a decisions replica died as they fell due;
- read models: every replica runs them, one batch at a time under the projection's lock, each event once;
- webhook delivery: every event reaches the partner, in order; repeats all carry the same ``webhook-id``
  (what Standard Webhooks receivers drop), at most one batch per takeover.

Killed replicas are started again, as an orchestrator would. Every wait is for a condition, bounded.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import nats
import pytest
from nats.js.errors import ServiceUnavailableError

from shared.runtime.cluster import Replica
from shared.runtime.embedded import free_port
from tests.cluster.conftest import Cluster
from tests.conftest import eventually
from tests.integration.decisions_client import Group, add, soon
from tests.integration.receiver import Receiver

pytestmark = pytest.mark.cluster

BALLOTS = 900
VOTERS = 6
AUTO_CLOSING = 5
DELIVERY_BATCH = 100  # services/publishing/jobs.py: what a killed delivery leader may have sent without recording


class Ballots:
    """Ballots spread over the live decisions replicas (client-side load balancing). A request that meets a
    dead replica goes to the other one with the same ``Idempotency-Key``, so it is stored once either way."""

    def __init__(self, cluster: Cluster, url: str, voters: list[dict[str, str]]) -> None:
        self.cluster = cluster
        self.url = url
        self.voters = voters
        self.sent = 0
        self.retried = 0

    async def _one(self, client: httpx.AsyncClient, n: int) -> None:
        key = str(uuid.uuid4())
        body = {"choice": {"stance": ("agree", "abstain")[n % 2]}}
        for attempt in range(200):
            live = [r for r in self.cluster.replicas.of("decisions") if r.alive()]
            replica = live[(n + attempt) % len(live)] if live else None
            try:
                if replica is None:
                    raise httpx.ConnectError("no live decisions replica")
                answer = await client.post(replica.url + self.url, json=body,
                                           headers={**self.voters[n % len(self.voters)], "Idempotency-Key": key})
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code < 300:
                self.sent += 1
                return
            if answer is not None and answer.status_code == 409:
                key = str(uuid.uuid4())  # a conflict is not stored as the key's answer: try afresh
            elif answer is not None and answer.status_code not in (500, 502, 503):
                raise AssertionError(f"ballot {n}: {answer.status_code} {answer.text}")
            self.retried += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"ballot {n} never accepted")

    async def run(self, count: int, workers: int = 4) -> None:
        queue = list(range(count))
        async with httpx.AsyncClient(timeout=10) as client:

            async def worker() -> None:
                while queue:
                    await self._one(client, queue.pop())

            await asyncio.gather(*(worker() for _ in range(workers)))


async def _fetch(conn: asyncpg.Connection, sql: str, *args: object) -> list[asyncpg.Record]:
    return list(await conn.fetch(sql, *args))


async def _restart(cluster: Cluster, victim: Replica) -> None:
    cluster.replicas.start(victim)  # comes back as a follower: the role has moved on
    await asyncio.to_thread(cluster.replicas.wait_ready, 90.0, [victim])


async def _until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    await eventually(check, timeout=timeout, what=what)


async def test_background_roles_survive_their_leaders_being_killed_mid_work(cluster: Cluster) -> None:
    decisions = cluster.replicas.of("decisions")[0].url
    publishing = cluster.replicas.of("publishing")[1].url
    receiver = Receiver(free_port())
    receiver.delay = 0.003  # delivery is busy for the whole run
    receiver.start()
    db = await asyncpg.connect(cluster.database_url)
    try:
        async with httpx.AsyncClient(base_url=decisions, timeout=10) as api:
            created = await api.post("/groups", headers=cluster.operator, json={
                "name": "Cluster", "organisations": [{"name": f"Partner {n}"} for n in range(3)]})
            assert created.status_code == 201, created.text
            group = Group(created.json())
            await add(api, cluster.operator, group, "facilitator", "facilitator")  # type: ignore[arg-type]
            for n in range(VOTERS):
                await add(api, cluster.operator, group, f"voter{n}", "member", org=n % 3)  # type: ignore[arg-type]
            facilitator = group.tokens["facilitator"]
            opened = await api.post(f"{group.base}/proposals", headers=facilitator, json={
                "kind": "consent", "title": "Meet on Tuesdays", "closes_at": soon(days=1)})
            assert opened.status_code == 201, opened.text
        hook = httpx.post(f"{publishing}{group.base}/webhooks", headers=facilitator, timeout=10, json={
            "url": receiver.url, "event_types": ["decisions.*"], "start": "beginning"})
        assert hook.status_code == 201, hook.text

        ballots = Ballots(cluster, f"{group.base}/proposals/{opened.json()['proposal_id']}/ballots",
                          [group.tokens[f"voter{n}"] for n in range(VOTERS)])
        load = asyncio.create_task(ballots.run(BALLOTS))
        killed: dict[str, tuple[int, int, float]] = {}
        for step, role in enumerate(("sealer", "relay", "webhook delivery")):
            await _until(f"{(step + 1) * 150} ballots before killing the {role}",
                         lambda step=step: _true(ballots.sent >= (step + 1) * 150))  # type: ignore[misc]
            if role == "webhook delivery":  # in the middle of its work: events wait for delivery
                await _until("a delivery backlog", lambda: _backlog(db))
            leader = await cluster.leader(role)
            old = leader.pid or 0
            cluster.replicas.kill(leader)
            started = asyncio.get_running_loop().time()
            successor = await cluster.leader(role, other_than=old)  # another replica, while this one is dead
            killed[role] = (old, successor.pid or 0, round(asyncio.get_running_loop().time() - started, 2))
            await _restart(cluster, leader)
        await load

        # automatic closing: proposals fall due while one decisions replica is killed
        async with httpx.AsyncClient(base_url=decisions, timeout=10) as api:
            due = []
            for n in range(AUTO_CLOSING):
                answer = await api.post(f"{group.base}/proposals", headers=facilitator, json={
                    "kind": "consent", "title": f"Due {n}", "closes_at": soon(seconds=2 + n * 0.2)})
                assert answer.status_code == 201, answer.text
                due.append(uuid.UUID(answer.json()["proposal_id"]))
        await _until("the first proposal falls due", lambda: _due(db, due[0]), timeout=15)
        victim = cluster.replicas.of("decisions")[0]
        cluster.replicas.kill(victim)
        await _until("every due proposal closed", lambda: _closed(db, due))
        await _restart(cluster, victim)

        head = await _head(db)
        assert head > BALLOTS
        # -- nothing closed twice
        closings = await _fetch(db, "SELECT stream_id, count(*) AS n FROM events WHERE type = 'decisions.ProposalClosed'"
                                    " GROUP BY stream_id")
        assert len(closings) == AUTO_CLOSING and all(row["n"] == 1 for row in closings), closings

        # -- JetStream (three replicas) holds each event once, in log order
        log_ids = [row["id"] for row in await _fetch(
            db, "SELECT e.id FROM log l JOIN events e ON e.seq = l.seq ORDER BY l.position")]
        assert len(log_ids) == head == len(set(log_ids))
        bus = await nats.connect(cluster.nats.admin_url.split(","))
        try:
            js = bus.jetstream()
            await _until("the relay has published the whole log", lambda: _stream_has(js, head))
            info = await js.stream_info("COPRO")
            assert info.config.num_replicas == 3 and info.cluster is not None and len(info.cluster.replicas or []) == 2
            assert info.state.messages == head, f"{info.state.messages} messages for {head} events"
            assert await _stream_ids(js, head) == log_ids
        finally:
            await bus.close()

        # -- every decisions event delivered, in order; repeats only as the same webhook-id
        wanted = [row["id"] for row in await _fetch(
            db, "SELECT e.id FROM log l JOIN events e ON e.seq = l.seq WHERE e.group_id = $1"
                " AND e.type LIKE 'decisions.%' ORDER BY l.position", uuid.UUID(group.id))]
        await _until("every event delivered", lambda: _true(len({_id(h) for h, _ in receiver.received}) >= len(wanted)))
        with receiver.lock:
            ids = [_id(headers) for headers, _ in receiver.received]
        first_seen = list(dict.fromkeys(ids))
        assert first_seen == [str(i) for i in wanted], "events missing or out of order"
        repeats = len(ids) - len(first_seen)
        assert repeats <= DELIVERY_BATCH * 4, f"{repeats} repeated deliveries"

        # -- read models (applied by every replica, one batch at a time under the projection's lock) caught up
        await _until("every read model at the head", lambda: _projected(db, head))
        statuses = await _fetch(db, "SELECT status FROM decisions_proposals WHERE proposal_id = ANY($1)", due)
        assert [row["status"] for row in statuses] == ["closed"] * AUTO_CLOSING

        # -- the sealer's takeover kept the global chain whole
        verify = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "audit", "verify", "--live"],
                                env={**cluster.replicas.env}, capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        print(f"\nlog {head} events, {ballots.sent} ballots ({ballots.retried} resent to the other replica); "
              f"leaders killed (old pid, new pid, takeover s): {killed}; webhook repeats absorbed by webhook-id: {repeats}")
    finally:
        await db.close()
        receiver.stop()


def _id(headers: dict[str, str]) -> str:
    return headers["webhook-id"]


async def _true(value: bool) -> bool:
    return value


async def _head(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT coalesce(max(position), 0) FROM log"))


async def _backlog(db: asyncpg.Connection) -> bool:
    cursor = await db.fetchval("SELECT min(position) FROM webhook_cursors")
    return cursor is not None and await _head(db) - cursor > 20


async def _projected(db: asyncpg.Connection, head: int) -> bool:
    return bool(await db.fetchval("SELECT min(position) FROM projection_cursors") >= head)


async def _due(db: asyncpg.Connection, proposal: uuid.UUID) -> bool:
    return bool(await db.fetchval("SELECT closes_at <= now() FROM decisions_proposals WHERE proposal_id = $1", proposal))


async def _closed(db: asyncpg.Connection, proposals: list[uuid.UUID]) -> bool:
    streams = [f"decisions.proposal.{p}" for p in proposals]
    found = await db.fetchval("SELECT count(DISTINCT stream_id) FROM events WHERE type = 'decisions.ProposalClosed'"
                              " AND stream_id = ANY($1)", streams)
    return bool(found == len(proposals))


async def _stream_has(js: nats.js.JetStreamContext, head: int) -> bool:
    return bool((await js.stream_info("COPRO")).state.messages >= head)


async def _stream_ids(js: nats.js.JetStreamContext, count: int) -> list[uuid.UUID]:
    """Every message of the stream, in stream order, as event ids. A consumer made just after the R3 stream
    was created again may answer "unavailable" while its placement settles: the read then starts over."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            return await _read_ids(js, count)
        except ServiceUnavailableError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def _read_ids(js: nats.js.JetStreamContext, count: int) -> list[uuid.UUID]:
    """The stream's messages as event ids, through an ephemeral pull consumer."""
    sub = await js.pull_subscribe("copro.>", stream="COPRO")
    ids: list[uuid.UUID] = []
    for _ in range(count // 100 + 10):
        if len(ids) >= count:
            break
        for message in await sub.fetch(min(500, count - len(ids)), timeout=5):
            ids.append(uuid.UUID((message.headers or {})["ce-id"]))
            await message.ack()
    await sub.unsubscribe()
    return ids


async def test_the_stream_is_rebuilt_from_the_log(cluster: Cluster) -> None:
    """The documented procedure (deploy/OPERATIONS.md): ``copro fanout rebuild`` deletes the R3 stream while
    the services run; the leading relay publishes the whole log again, each event once, in order."""
    async with httpx.AsyncClient(base_url=cluster.replicas.of("decisions")[1].url, timeout=10) as api:
        created = await api.post("/groups", headers=cluster.operator, json={
            "name": "Rebuilt", "organisations": [{"name": "One"}, {"name": "Two"}]})
        assert created.status_code == 201, created.text
    env = {**cluster.replicas.env}
    status = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "fanout", "status"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    refused = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "fanout", "rebuild"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--yes" in refused.stderr
    rebuilt = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "fanout", "rebuild", "--yes"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    db = await asyncpg.connect(cluster.database_url)
    bus = await nats.connect(cluster.nats.admin_url.split(","))
    try:
        log_ids = [row["id"] for row in await _fetch(
            db, "SELECT e.id FROM log l JOIN events e ON e.seq = l.seq ORDER BY l.position")]
        js = bus.jetstream()
        await _until("the stream holds the log again", lambda: _stream_has(js, len(log_ids)))
        info = await js.stream_info("COPRO")
        assert info.config.num_replicas == 3 and info.state.messages == len(log_ids)
        assert await _stream_ids(js, len(log_ids)) == log_ids
        # the services' durable consumers went with the stream: they make them again and are ready
        await asyncio.to_thread(cluster.replicas.wait_ready, 60.0)
        for durable in ("decisions-publication-requests", "scheduling-time-proposals", "publishing-publication-decisions"):
            await _until(f"consumer {durable} again", lambda durable=durable: _consumer(js, durable))  # type: ignore[misc]
    finally:
        await bus.close()
        await db.close()


async def _consumer(js: nats.js.JetStreamContext, durable: str) -> bool:
    try:
        info = await js.consumer_info("COPRO", durable)
    except nats.js.errors.NotFoundError:
        return False
    return bool(info.num_pending == 0)
