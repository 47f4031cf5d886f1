"""Ballots/s with one and with two replicas of the decisions service, in the same run.

One fresh database and NATS server; replica A serves alone, then replica B
joins (same database, same NATS; either may lead the sealer and relay) and
the clients spread their requests over both (client-side load balancing:
request n goes to replica n mod 2). The ballots are the same kind as in
``bench/decisions.py`` (members changing their ballots again and again:
authenticate, load, decide, append), from the same number of concurrent
clients, spread over as many proposals (the usual case: many groups and
proposals) and all on one proposal (one hot stream: the replicas' appends
to it conflict and take turns, so a second replica cannot help there). On a small machine the replicas share its cores with
PostgreSQL, NATS and the clients, so the ratio says what a second replica
buys *here*; on separate machines the database is the limit.

    python bench/replicas.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from bench.common import own_nats as bench_nats
from bench.decisions import CLIENTS, p
from shared.runtime.embedded import free_port


async def hammer(client: httpx.AsyncClient, requests: list[tuple[str, str, dict[str, str], object]]
                 ) -> tuple[float, list[float], int]:
    """Like bench/decisions.py's: (accepted ballots/s, latencies in ms, refusals with 409 concurrency-conflict)."""
    latencies: list[float] = []
    conflicts = 0
    queue = list(reversed(requests))

    async def worker() -> None:
        nonlocal conflicts
        while queue:
            method, url, headers, body = queue.pop()
            started = time.perf_counter()
            response = await client.request(method, url, headers=headers, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code == 409:
                conflicts += 1
            elif response.status_code >= 300:
                raise RuntimeError(f"{method} {url}: {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return (len(requests) - conflicts) / (time.perf_counter() - started), sorted(latencies), conflicts


async def _ready(client: httpx.AsyncClient, base: str) -> None:
    for _ in range(300):
        try:
            if (await client.get(base + "/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} not ready")


async def main(quick: bool) -> None:
    count = 1_000 if quick else 3_000
    with bench_nats() as nats_server:
        async with fresh_database("replicas") as url:
            home = Path(tempfile.mkdtemp(prefix="copro-bench-home-"))
            env = dict(os.environ, COPRO_DATABASE_URL=url, COPRO_NATS_URL=nats_server.url, COPRO_HOME=str(home),
                       COPRO_LOG_LEVEL="warning")
            ports = [free_port(), free_port()]
            bases = [f"http://127.0.0.1:{port}" for port in ports]
            replicas: list[subprocess.Popen[bytes]] = []

            def start(port: int) -> None:
                replicas.append(subprocess.Popen(
                    [sys.executable, "-m", "shared.runtime.cli", "serve", "decisions", "--port", str(port)], env=env))

            try:
                limits = httpx.Limits(max_connections=CLIENTS * 2, max_keepalive_connections=CLIENTS * 2)
                async with httpx.AsyncClient(limits=limits, timeout=30) as client:
                    start(ports[0])
                    await _ready(client, bases[0])
                    operator = {"Authorization": f"Bearer {(home / 'operator-token').read_text().strip()}"}
                    group = (await client.post(bases[0] + "/groups", headers=operator, json={
                        "name": "bench", "organisations": [{"name": "A"}, {"name": "B"}, {"name": "C"}]})).json()
                    gid, orgs = group["group_id"], [o["id"] for o in group["organisations"]]
                    tokens = []
                    for n in range(CLIENTS * 4):
                        member = (await client.post(f"{bases[0]}/groups/{gid}/members", headers=operator, json={
                            "name": f"Member {n}", "organisation_id": orgs[n % 3]})).json()
                        token = (await client.post(f"{bases[0]}/groups/{gid}/members/{member['member_id']}/tokens",
                                                   headers=operator)).json()["token"]
                        tokens.append({"Authorization": f"Bearer {token}"})
                    paths = []
                    for n in range(CLIENTS):
                        proposal = (await client.post(f"{bases[0]}/groups/{gid}/proposals", headers=tokens[0], json={
                            "kind": "choice", "title": f"bench {n}",
                            "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                            "options": [{"label": "yes", "id": "yes"}, {"label": "no", "id": "no"}]})).json()
                        paths.append(f"/groups/{gid}/proposals/{proposal['proposal_id']}/ballots")

                    def ballots(targets: list[str], proposals: int) -> list[tuple[str, str, dict[str, str], object]]:
                        return [("POST", targets[i % len(targets)] + paths[(i // len(targets)) % proposals],
                                 tokens[i % len(tokens)], {"choice": {"option": ("yes", "no")[i % 2]}})
                                for i in range(count)]

                    results: dict[tuple[int, int], tuple[float, list[float], int]] = {}
                    for replica_count in (1, 2):
                        if replica_count == 2:
                            start(ports[1])
                            await _ready(client, bases[1])
                        targets = bases[:replica_count]
                        await hammer(client, ballots(targets, CLIENTS)[:500])  # warm up (caches, connections)
                        for proposals in (1, CLIENTS):
                            results[(replica_count, proposals)] = await hammer(client, ballots(targets, proposals))
                print(f"\ncopro decisions: one vs two replicas (client-side spreading), one run, {count:,} ballots each, "
                      f"{CLIENTS} concurrent clients, {os.cpu_count()} cores shared with PostgreSQL and NATS")
                print(f"{'':<34} {'one replica':>24} {'two replicas':>24} {'two / one':>10}")
                print(f"{'':<34} {'ballots/s  p50 ms  p99 ms':>24} {'ballots/s  p50 ms  p99 ms':>24}")
                for proposals, label in ((CLIENTS, f"ballots over {CLIENTS} proposals"), (1, "ballots on one proposal")):
                    cells, refused = [], ""
                    for replica_count in (1, 2):
                        rate, ms, conflicts = results[(replica_count, proposals)]
                        cells.append(f"{rate:>9,.0f} {p(ms, 0.5):>7.1f} {p(ms, 0.99):>7.1f}")
                        refused += f"  {replica_count} replica(s): {conflicts} refused 409" if conflicts else ""
                    ratio = results[(2, proposals)][0] / results[(1, proposals)][0]
                    print(f"{label:<34} {cells[0]:>24} {cells[1]:>24} {ratio:>9.2f}x{refused}")
            finally:
                for replica in replicas:
                    replica.terminate()
                for replica in replicas:
                    replica.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    asyncio.run(main(parser.parse_args().quick))
