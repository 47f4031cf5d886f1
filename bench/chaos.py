"""Chaos: concurrent clients against ``copro up`` while its processes and servers are killed with -9.

``copro up`` runs in a temporary COPRO_HOME on free loopback ports (its own
PostgreSQL and NATS, the three services and the web app, each a process).
Clients propose, vote (changing their ballots), sign up and withdraw, and
register attendees, each request with its own ``X-Request-Id``; every
request and answer is recorded. A webhook receiver and a durable NATS
subscriber follow the group. Faults, one after another, each once the
system is ready again: kill -9 of each service process and of the web app,
of the sealer's and the relay's leader (found by their connections' names
in ``pg_stat_activity``), of nats-server and of the PostgreSQL postmaster.
Nobody intervenes: each fault's recovery time is measured until the victim
is back (and, for a leader, until another process leads).

Then: every acknowledged write is in the log exactly once (its correlation
id is the request's id), no event lacks a request that could have caused
it, the receiver and the subscriber got every event of the group in log
order, the projections equal a rebuild, and ``copro audit verify --live``
passes. Exit status 0 only when all of that holds. Every loop is bounded.

    python bench/chaos.py [--smoke] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chaos_checks import (
    NatsSubscriber,
    Request,
    WebhookReceiver,
    group_events,
    in_order,
    judge_history,
    projections_equal_a_rebuild,
    unsealed,
)
from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port

SERVICES = ("decisions", "scheduling", "publishing")
FAULTS = ("decisions", "scheduling", "publishing", "web", "sealer", "relay", "nats", "postgres")


class Up:
    """``copro up`` in a temporary home, and what it supervises (``<home>/up.json``)."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.log = root / "up.log"
        self.ports = {name: free_port() for name in SERVICES}
        self.web_port = free_port()
        self.env = dict(os.environ, COPRO_HOME=str(self.home), COPRO_EMBEDDED_PG_PORT=str(free_port()),
                        COPRO_EMBEDDED_NATS_PORT=str(free_port()), COPRO_WEB_PORT=str(self.web_port),
                        COPRO_LOG_PORT=str(free_port()), COPRO_WEBHOOK_PRIVATE_TARGETS="1",  # its receiver: loopback
                        COPRO_LOG_LEVEL="warning", COPRO_WEBHOOK_RETRY_BASE="0.2",
                        **{f"COPRO_{n.upper()}_PORT": str(p) for n, p in self.ports.items()})
        for name in ("COPRO_DATABASE_URL", "COPRO_NATS_URL"):
            self.env.pop(name, None)
        self.process: subprocess.Popen[bytes] | None = None
        self.database_url = self.nats_url = ""

    def credentials(self) -> None:
        """The checker's logins, from the passwords ``copro up`` keeps in its home: PostgreSQL's superuser
        (to see every connection and build scratch tables) and NATS's admin user (a durable of its own)."""
        self.database_url = EmbeddedPostgres(self.home, int(self.env["COPRO_EMBEDDED_PG_PORT"])).admin_url
        self.nats_url = EmbeddedNats(self.home, int(self.env["COPRO_EMBEDDED_NATS_PORT"])).admin_url

    def base(self, name: str) -> str:
        return f"http://127.0.0.1:{self.web_port if name == 'web' else self.ports[name]}"

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "up"], env=self.env,
                                        stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def printed(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads((self.home / "up.json").read_text()).items()}
        except (OSError, ValueError):
            return {}

    def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return -9


async def _status(client: httpx.AsyncClient, url: str) -> int:
    try:
        return (await client.get(url, timeout=2)).status_code
    except httpx.HTTPError:
        return 0


async def until(check: object, seconds: float, what: str) -> float:
    """Wait for an async condition (polled every 50 ms), at most ``seconds``; the time it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await check():  # type: ignore[operator]
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{what}: not within {seconds:.0f}s")


class Workload:
    """The clients: each request recorded with its own request id."""

    def __init__(self, up: Up, client: httpx.AsyncClient) -> None:
        self.up, self.client = up, client
        self.history: list[Request] = []
        self.operator = (up.home / "operator-token").read_text().strip()
        self.gid = ""
        self.tokens: list[str] = []
        self.proposals: list[str] = []
        self.gathering = ""
        self.roles: list[str] = []

    async def call(self, service: str, method: str, path: str, body: object = None, token: str | None = None,
                   kind: str = "setup") -> tuple[int, dict[str, object]]:
        request = Request(str(uuid.uuid4()), kind, method, path, time.monotonic())
        self.history.append(request)
        try:
            response = await self.client.request(
                method, self.up.base(service) + path, json=body, timeout=10,
                headers={"authorization": f"Bearer {token or self.operator}", "x-request-id": request.request_id})
        except httpx.HTTPError:
            request.answered = time.monotonic()
            return 0, {}
        request.status, request.answered = response.status_code, time.monotonic()
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        return response.status_code, answer if isinstance(answer, dict) else {}

    async def must(self, service: str, method: str, path: str, body: object = None, token: str | None = None
                   ) -> dict[str, object]:
        """A set-up step, tried again (a new request each time) until it succeeds; bounded to a minute."""
        for _ in range(120):
            status, answer = await self.call(service, method, path, body, token)
            if 200 <= status < 300:
                return answer
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{method} {path} kept failing")

    async def set_up(self, receiver_url: str) -> None:
        group = await self.must("decisions", "POST", "/groups", {
            "name": "Chaos working group", "organisations": [{"name": n} for n in ("North", "South", "East")],
            "time_zone": "Europe/London"})
        self.gid = str(group["group_id"])
        orgs = [str(o["id"]) for o in group["organisations"]]  # type: ignore[attr-defined]
        for n in range(6):
            member = await self.must("decisions", "POST", f"/groups/{self.gid}/members", {
                "name": f"Member {n}", "organisation_id": orgs[n % 3], "lived_experience": n % 2 == 0,
                "roles": ["facilitator", "member"] if n == 0 else ["member"]})
            token = await self.must("decisions", "POST", f"/groups/{self.gid}/members/{member['member_id']}/tokens")
            self.tokens.append(str(token["token"]))
        await self.must("publishing", "POST", f"/groups/{self.gid}/webhooks",
                        {"url": receiver_url, "event_types": ["*"], "start": "beginning"}, self.tokens[0])
        day = datetime.now(UTC) + timedelta(days=60)
        gathering = await self.must("scheduling", "POST", f"/groups/{self.gid}/gatherings", {
            "title": "Chaos day", "venue": "Hall", "starts_at": day.isoformat(),
            "ends_at": (day + timedelta(hours=6)).isoformat(), "capacity": 100_000, "accessibility": "step-free"},
            self.tokens[0])
        self.gathering = f"/groups/{self.gid}/gatherings/{gathering['gathering_id']}"
        for n in range(3):
            role = await self.must("scheduling", "POST", f"{self.gathering}/roles",
                                   {"name": f"Role {n}", "places": 50}, self.tokens[0])
            self.roles.append(str(role.get("role_id", "")))
        if not all(self.roles):
            found = await self.must("scheduling", "GET", self.gathering, token=self.tokens[0])
            self.roles = [str(r["role_id"]) for r in found["roles"]]  # type: ignore[attr-defined]
        for member_token in self.tokens:
            await self.must("scheduling", "PUT", f"{self.gathering}/capacity", {"max_roles": 3}, member_token)

    async def client_loop(self, n: int, stop: asyncio.Event, deadline: float) -> None:
        token, step = self.tokens[n % len(self.tokens)], 0
        signed: set[str] = set()
        while not stop.is_set() and time.monotonic() < deadline:
            step += 1
            what = (n + step) % 4
            if what == 0 or not self.proposals:
                status, answer = await self.call("decisions", "POST", f"/groups/{self.gid}/proposals", {
                    "kind": "consent", "title": f"Proposal {n}.{step}",
                    "closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat()}, token, "proposal")
                if 200 <= status < 300:
                    self.proposals.append(str(answer["proposal_id"]))
            elif what == 1:
                proposal = self.proposals[step % len(self.proposals)]
                await self.call("decisions", "POST", f"/groups/{self.gid}/proposals/{proposal}/ballots",
                                {"choice": {"stance": "agree" if step % 2 else "abstain"}}, token, "ballot")
            elif what == 2:
                role = self.roles[step % len(self.roles)]
                action = "withdraw" if role in signed else "sign-ups"
                status, _ = await self.call("scheduling", "POST", f"{self.gathering}/roles/{role}/{action}",
                                            None, token, "sign-up")
                if 200 <= status < 300:
                    signed.symmetric_difference_update({role})
            else:
                await self.call("scheduling", "POST", f"{self.gathering}/attendees", {
                    "name": f"Guest {n}.{step}", "perspective": "lived_experience", "organisation": "Org",
                    "needs": []}, token, "registration")
            await asyncio.sleep(0.02)


async def leader_pid(database_url: str, role: str) -> int | None:
    try:
        conn = await asyncpg.connect(database_url, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return None
    try:
        holder = await conn.fetchval("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE $1"
                                     " LIMIT 1", f"copro {role} %")
    finally:
        await conn.close()
    return int(holder.rsplit(":", 1)[1]) if holder else None


async def inject(up: Up, client: httpx.AsyncClient, fault: str) -> float:
    """Kill the fault's victim with -9; seconds until it is back without help (bounded: two minutes)."""
    pids = up.pids()
    if fault in ("sealer", "relay"):
        victim = await leader_pid(up.database_url, fault)
    else:
        victim = pids.get(fault)
    if victim is None:
        raise RuntimeError(f"no process for {fault}")
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()

    async def back() -> bool:
        if fault in ("sealer", "relay"):
            leader = await leader_pid(up.database_url, fault)
            if leader is None or leader == victim:
                return False
        elif up.pids().get(fault, victim) == victim:
            return False
        if fault == "web":
            return await _status(client, up.base("web") + "/healthz") == 200
        return all([await _status(client, up.base(name) + "/readyz") == 200 for name in SERVICES])

    await until(back, 120, f"recovery from killing {fault}")
    return time.monotonic() - killed


async def run(seconds_between: float, clients: int, root: Path) -> int:
    up = Up(root)
    up.start()
    receiver = WebhookReceiver(root)
    stop, done = asyncio.Event(), asyncio.Event()  # the clients stop; then, after the verdict, the subscriber
    recoveries: dict[str, float] = {}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=clients * 2)) as client:
        try:
            await until(lambda: _all_ready(up, client), 180, "copro up ready")
            up.credentials()
            work = Workload(up, client)
            await work.set_up(receiver.url)
            hard_stop = time.monotonic() + 60 + seconds_between * (len(FAULTS) + 2) * 3
            subscriber = NatsSubscriber(up.nats_url, work.gid)
            following = asyncio.create_task(subscriber.run(done, hard_stop + 300))
            loops = [asyncio.create_task(work.client_loop(n, stop, hard_stop)) for n in range(clients)]
            await asyncio.sleep(seconds_between)
            for fault in FAULTS:
                recoveries[fault] = await inject(up, client, fault)
                print(f"  killed {fault:<10} back after {recoveries[fault]:.1f}s", flush=True)
                await asyncio.sleep(seconds_between)  # the workload goes on against the healed system
            stop.set()
            await asyncio.gather(*loops)
            return await verdict(up, work, receiver, subscriber, following, recoveries)
        finally:
            stop.set()
            done.set()
            receiver.stop()
            code = up.stop()
            if code != 0:
                print(f"copro up exited {code}:\n{up.printed()[-3000:]}")


async def _all_ready(up: Up, client: httpx.AsyncClient) -> bool:
    if up.process is not None and up.process.poll() is not None:
        raise RuntimeError("copro up exited:\n" + up.printed())
    return all([await _status(client, up.base(n) + "/readyz") == 200 for n in SERVICES]) and (
        "Press Ctrl-C" in up.printed())


async def verdict(up: Up, work: Workload, receiver: WebhookReceiver, subscriber: NatsSubscriber,
                  following: asyncio.Task[None], recoveries: dict[str, float]) -> int:
    conn = await asyncpg.connect(up.database_url)
    try:
        await until(lambda: _zero(unsealed(conn)), 120, "every event sealed")
        expected = await group_events(conn, work.gid)

        async def delivered() -> bool:
            return in_order(receiver.arrivals, expected)[0] == 1.0 and in_order(subscriber.arrivals, expected)[0] == 1.0

        try:
            await until(delivered, 180, "every event delivered")
        except TimeoutError as exc:
            print(f"  {exc}: webhook {in_order(receiver.arrivals, expected)}, NATS {in_order(subscriber.arrivals, expected)}"
                  f" ({subscriber.errors} subscriber errors)")
            for row in await conn.fetch("SELECT * FROM webhook_cursors"):
                print(f"  webhook cursor: {dict(row)}")
            for row in await conn.fetch("SELECT name, position FROM projection_cursors"):
                print(f"  projection cursor: {dict(row)} (head {expected[-1][1] if expected else 0})")
            lines = [line for line in up.printed().splitlines() if "WARNING" in line or "ERROR" in line or "copro:" in line]
            print("\n".join(f"  | {line[:300]}" for line in lines[-40:]))
        judged = await judge_history(conn, work.history)
    finally:
        await conn.close()
    following.cancel()
    differences = await projections_equal_a_rebuild(up.database_url)
    audit = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "audit", "verify", "--live"],
                           env=up.env,
                           capture_output=True, text=True, timeout=300)
    hook_share, hook_order, hook_repeats = in_order(receiver.arrivals, expected)
    nats_share, nats_order, nats_repeats = in_order(subscriber.arrivals, expected)
    writes = [r for r in work.history if r.write]
    acknowledged = [r for r in writes if r.acknowledged]
    print(f"requests            {len(work.history)} ({len(writes)} writes; "
          f"{sum(r.status == 0 for r in work.history)} without an answer, "
          f"{sum(r.status >= 500 for r in work.history)} answered 5xx)")
    print(f"acknowledged        {len(acknowledged)} writes")
    print(f"events in the log   {judged.events} ({len(expected)} of the group)")
    print(f"lost                {len(judged.lost)}")
    print(f"duplicated          {len(judged.duplicated)}")
    print(f"unexplained events  {len(judged.unexplained)}")
    print(f"faults injected     {len(recoveries)}")
    for fault, seconds in recoveries.items():
        print(f"  kill -9 {fault:<10} recovered without a person in {seconds:.1f}s")
    print(f"webhook receiver    {hook_share:.1%} of the group's events, in order: {hook_order}, "
          f"{hook_repeats} repeats (same webhook-id)")
    print(f"NATS subscriber     {nats_share:.1%} of the group's events, in order: {nats_order}, "
          f"{nats_repeats} redeliveries")
    print(f"projections         {'equal a rebuild' if not differences else '; '.join(differences)}")
    print(f"audit verify --live {'passes' if audit.returncode == 0 else 'FAILS: ' + audit.stdout[-500:]}")
    for label, items in (("lost", judged.lost), ("duplicated", judged.duplicated),
                         ("unexplained", judged.unexplained)):
        for item in items[:5]:
            print(f"  {label}: {item}")
    healthy = (not judged.lost and not judged.duplicated and not judged.unexplained and not differences
               and hook_share == nats_share == 1.0 and hook_order and nats_order and audit.returncode == 0)
    return 0 if healthy else 1


async def _zero(count: Awaitable[int]) -> bool:
    return await count == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="the bounded size the test suite runs")
    parser.add_argument("--seconds", type=float, default=None, help="workload time between faults")
    parser.add_argument("--clients", type=int, default=None)
    args = parser.parse_args()
    between = args.seconds or (2.0 if args.smoke else 8.0)
    clients = args.clients or (4 if args.smoke else 12)
    with tempfile.TemporaryDirectory(prefix="copro-chaos-") as root:
        print(f"chaos: {clients} clients, {len(FAULTS)} faults, {between:.0f}s of workload between them")
        return asyncio.run(run(between, clients, Path(root)))


if __name__ == "__main__":
    sys.exit(main())
