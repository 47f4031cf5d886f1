"""Decisions over HTTP: ballots/s with latency, beside a trivial endpoint; closing 10,000 ballots.

One run: a fresh database, a NATS server of its own, and the decisions
service started with ``copro serve decisions`` (uvicorn, uvloop, httptools)
in its own process. Clients run concurrently from this process, each
member changing their ballot again and again: every request authenticates
the token, loads the proposal, decides and appends. Beside it, the same
clients call ``GET /healthz``: the Litestar + uvicorn limit on this machine.

    python bench/decisions.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from bench.common import own_nats as bench_nats
from services.decisions.domain.proposal import proposal_stream
from services.decisions.events import BallotCast, Choice
from shared.domain.ids import new_id, utc_now
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.runtime.embedded import free_port

CLIENTS = 16


async def hammer(client: httpx.AsyncClient, requests: list[tuple[str, str, dict[str, str], object]]
                 ) -> tuple[float, list[float]]:
    """Send the requests over CLIENTS concurrent connections; (requests/s, latencies in ms)."""
    latencies: list[float] = []
    queue = list(reversed(requests))

    async def worker() -> None:
        while queue:
            method, url, headers, body = queue.pop()
            started = time.perf_counter()
            response = await client.request(method, url, headers=headers, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return len(requests) / (time.perf_counter() - started), sorted(latencies)


def p(latencies: list[float], q: float) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * q))]


async def main(quick: bool) -> None:
    with bench_nats() as own_nats:
        async with fresh_database("decisions") as url:
            home = Path(tempfile.mkdtemp(prefix="copro-bench-home-"))
            port = free_port()
            env = dict(os.environ, COPRO_DATABASE_URL=url, COPRO_NATS_URL=own_nats.url, COPRO_HOME=str(home),
                       COPRO_NATS_CREDENTIALS=str(own_nats.credentials),
                       COPRO_LOG_LEVEL="warning")
            service = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "serve", "decisions", "--port", str(port)],
                                       env=env)
            base = f"http://127.0.0.1:{port}"
            try:
                limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                    for _ in range(200):
                        try:
                            if (await client.get("/readyz")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.1)
                    operator = {"Authorization": f"Bearer {(home / 'operator-token').read_text().strip()}"}
                    group = (await client.post("/groups", headers=operator, json={
                        "name": "bench", "organisations": [{"name": "A"}, {"name": "B"}, {"name": "C"}]})).json()
                    gid, orgs = group["group_id"], [o["id"] for o in group["organisations"]]
                    tokens = []
                    for n in range(CLIENTS * 4):
                        member = (await client.post(f"/groups/{gid}/members", headers=operator, json={
                            "name": f"Member {n}", "organisation_id": orgs[n % 3]})).json()
                        token = (await client.post(f"/groups/{gid}/members/{member['member_id']}/tokens",
                                                   headers=operator)).json()["token"]
                        tokens.append({"Authorization": f"Bearer {token}"})
                    proposal = (await client.post(f"/groups/{gid}/proposals", headers=tokens[0], json={
                        "kind": "choice", "title": "bench", "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                        "options": [{"label": "yes", "id": "yes"}, {"label": "no", "id": "no"}]})).json()
                    ballots_url = f"/groups/{gid}/proposals/{proposal['proposal_id']}/ballots"
                    count = 2_000 if quick else 10_000
                    ballots = [("POST", ballots_url, tokens[i % len(tokens)], {"choice": {"option": ("yes", "no")[i % 2]}})
                               for i in range(count)]
                    trivial = [("GET", "/healthz", {}, None) for _ in range(count)]
                    await hammer(client, trivial[:500])  # warm up both paths
                    await hammer(client, ballots[:500])
                    ballot_rate, ballot_ms = await hammer(client, ballots)
                    trivial_rate, trivial_ms = await hammer(client, trivial)

                    # closing a proposal with 10,000 ballots (appended straight to its stream), cold cache
                    store = await EventStore.connect(url)
                    big = (await client.post(f"/groups/{gid}/proposals", headers=tokens[0], json={
                        "kind": "choice", "title": "big", "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                        "options": [{"label": "yes", "id": "yes"}, {"label": "no", "id": "no"}]})).json()
                    pid = uuid.UUID(big["proposal_id"])
                    version = 1
                    for start in range(0, 10_000, 1000):
                        events = []
                        for n in range(start, start + 1000):
                            event_id = new_id()
                            events.append(NewEvent(id=event_id, type="decisions.BallotCast", data=BallotCast(
                                event_id=event_id, proposal_id=pid, member_id=new_id(), organisation_id=uuid.UUID(orgs[n % 3]),
                                lived_experience=n % 4 == 0, choice=Choice(option=("yes", "no")[n % 3 == 0]), at=utc_now())))
                        result = await store.append(group_id=uuid.UUID(gid), stream_id=proposal_stream(pid), events=events,
                                                    expected_version=version)
                        version = result.stream_version
                    await store.close()
                    facilitator = (await client.post(f"/groups/{gid}/members", headers=operator, json={
                        "name": "Facilitator", "organisation_id": orgs[0], "roles": ["facilitator"]})).json()
                    fac_token = (await client.post(f"/groups/{gid}/members/{facilitator['member_id']}/tokens",
                                                   headers=operator)).json()["token"]
                    started = time.perf_counter()
                    closed = await client.post(f"/groups/{gid}/proposals/{pid}/close",
                                               headers={"Authorization": f"Bearer {fac_token}"})
                    close_ms = (time.perf_counter() - started) * 1000
                    outcome = closed.json()["outcome"]
                    assert len(outcome["counted_ballots"]) == 10_000, closed.text
                print(f"\ncopro decisions over HTTP, one run: {CLIENTS} concurrent clients, one uvicorn worker "
                      "(uvloop + httptools), PostgreSQL and NATS on this machine")
                print(f"{'':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
                print(f"{'POST ballot (auth, load, decide, append)':<44} {ballot_rate:>8,.0f} {p(ballot_ms, 0.5):>8.1f} "
                      f"{p(ballot_ms, 0.99):>8.1f}")
                print(f"{'GET /healthz (trivial Litestar endpoint)':<44} {trivial_rate:>8,.0f} {p(trivial_ms, 0.5):>8.1f} "
                      f"{p(trivial_ms, 0.99):>8.1f}")
                print(f"{'ballots / trivial':<44} {ballot_rate / trivial_rate:>7.2f}x")
                print(f"close a proposal with 10,000 ballots (cold): {close_ms:,.0f} ms -> {outcome['result']}, "
                      f"tally {[(t['option'], t['weight']) for t in outcome['tally']]}")
            finally:
                service.terminate()
                service.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    asyncio.run(main(parser.parse_args().quick))
