"""Decisions over HTTP from outside, with wrk: copro's ballots beside their floor and a trivial POST.

One run: a fresh database, a NATS server of its own, and the whole system as ``copro up`` starts
it (the log process with the sealer and relay, the three services, each one uvicorn worker with
uvloop + httptools, and the web app); beside it, on the same PostgreSQL and with the same server
settings, the floor app of ``bench/floor.py`` (Litestar + msgspec + asyncpg, one durable INSERT per POST) and its trivial
POST (no database). wrk (one thread, 16 connections) sends the same ballots, with bearer tokens,
to each: 64 members changing their ballots again and again over 16 open proposals; every copro
request authenticates the token, loads the proposal, decides and appends. Then a proposal with
10,000 ballots is closed, cold.

    python bench/decisions.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import wrk
from bench.common import fresh_database, system
from bench.common import own_nats as bench_nats
from services.decisions.domain.proposal import proposal_stream
from services.decisions.events import BallotCast, Choice
from shared.domain.ids import new_id, utc_now
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats, free_port

ROOT = Path(__file__).resolve().parent.parent
MEMBERS, PROPOSALS = 64, 16


@contextlib.contextmanager
def serve(args: list[str], env: dict[str, str]) -> Iterator[str]:
    """A server in its own process on a free port (appended to ``args``); its base URL."""
    port = free_port()
    child = subprocess.Popen([sys.executable, *args, str(port)], env=dict(os.environ, **env), cwd=ROOT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait()


async def wait_up(base: str, path: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(path)).status_code < 500:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not come up")


@contextlib.asynccontextmanager
async def decisions(url: str, nats: EmbeddedNats) -> AsyncIterator[tuple[str, Path]]:
    """The decisions service in the whole system as ``copro up`` starts it; (its base URL, COPRO_HOME)."""
    with system(url, nats, "decisions") as (bases, home):
        yield bases["decisions"], home


async def ballots(base: str, home: Path) -> tuple[str, list[str], list[str], list[tuple[str, str, str]]]:
    """A group of MEMBERS with tokens and PROPOSALS open proposals; (group, organisations, tokens, ballots)."""
    operator = {"Authorization": f"Bearer {(home / 'operator-token').read_text().strip()}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        group = (await client.post("/groups", headers=operator, json={
            "name": "bench", "organisations": [{"name": "A"}, {"name": "B"}, {"name": "C"}]})).json()
        gid, orgs = group["group_id"], [o["id"] for o in group["organisations"]]
        tokens = []
        for n in range(MEMBERS):
            member = (await client.post(f"/groups/{gid}/members", headers=operator, json={
                "name": f"Member {n}", "organisation_id": orgs[n % 3]})).json()
            tokens.append((await client.post(f"/groups/{gid}/members/{member['member_id']}/tokens",
                                             headers=operator)).json()["token"])
        closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        proposals = [(await client.post(f"/groups/{gid}/proposals", headers={"Authorization": f"Bearer {tokens[0]}"},
                                        json={"kind": "choice", "title": f"bench {n}", "closes_at": closes,
                                              "options": [{"label": "yes", "id": "yes"}, {"label": "no", "id": "no"}]}
                                        )).json()["proposal_id"] for n in range(PROPOSALS)]
    # consecutive requests go to different proposals and members
    requests = [(f"/groups/{gid}/proposals/{proposals[i % PROPOSALS]}/ballots", tokens[(i * 7 + i // MEMBERS) % MEMBERS],
                 json.dumps({"choice": {"option": ("yes", "no")[(i // 3) % 2]}})) for i in range(MEMBERS * PROPOSALS)]
    return gid, orgs, tokens, requests


def measure(base: str, requests: list[tuple[str, str, str]], seconds: float) -> wrk.Figures:
    wrk.run(base, requests, 3)  # warm up
    return wrk.run(base, requests, seconds)


async def close_big(base: str, url: str, gid: str, orgs: list[str], operator: dict[str, str]) -> str:
    """Close a proposal with 10,000 ballots appended straight to its stream, cold; a line to print."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        facilitator = (await client.post(f"/groups/{gid}/members", headers=operator, json={
            "name": "Facilitator", "organisation_id": orgs[0], "roles": ["facilitator"]})).json()
        fac = {"Authorization": "Bearer " + (await client.post(
            f"/groups/{gid}/members/{facilitator['member_id']}/tokens", headers=operator)).json()["token"]}
        big = (await client.post(f"/groups/{gid}/proposals", headers=fac, json={
            "kind": "choice", "title": "big", "closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "options": [{"label": "yes", "id": "yes"}, {"label": "no", "id": "no"}]})).json()
        pid = uuid.UUID(big["proposal_id"])
        store = await EventStore.connect(url)
        version = 1
        for start in range(0, 10_000, 1000):
            events = []
            for n in range(start, start + 1000):
                event_id = new_id()
                events.append(NewEvent(id=event_id, type="decisions.BallotCast", data=BallotCast(
                    event_id=event_id, proposal_id=pid, member_id=new_id(), organisation_id=uuid.UUID(orgs[n % 3]),
                    lived_experience=n % 4 == 0, choice=Choice(option=("yes", "no")[n % 3 == 0]), at=utc_now())))
            version = (await store.append(group_id=uuid.UUID(gid), stream_id=proposal_stream(pid), events=events,
                                          expected_version=version)).stream_version
        await store.close()
        started = time.perf_counter()
        closed = await client.post(f"/groups/{gid}/proposals/{pid}/close", headers=fac)
        close_ms = (time.perf_counter() - started) * 1000
        outcome = closed.json()["outcome"]
        assert len(outcome["counted_ballots"]) == 10_000, closed.text
    return (f"close a proposal with 10,000 ballots (cold): {close_ms:,.0f} ms -> {outcome['result']}, "
            f"tally {[(t['option'], t['weight']) for t in outcome['tally']]}")


async def main(quick: bool) -> None:
    seconds = 5.0 if quick else 10.0
    with bench_nats() as own_nats:
        async with fresh_database("decisions") as url, decisions(url, own_nats) as (base, home):
            gid, orgs, _tokens, requests = await ballots(base, home)
            copro = measure(base, requests, seconds)
            with serve(["bench/floor.py"], {"BENCH_FLOOR_DATABASE_URL": url}) as floor_base:
                await wait_up(floor_base, "/")
                floor = measure(floor_base, requests, seconds)
                trivial = measure(floor_base, [(p.replace(f"/groups/{gid}/proposals/", "/trivial/")
                                                .removesuffix("/ballots"), t, b) for p, t, b in requests], seconds)
            operator = {"Authorization": f"Bearer {(home / 'operator-token').read_text().strip()}"}
            closing = await close_big(base, url, gid, orgs, operator)
    print(f"\nballots over HTTP, one run: wrk, 1 thread, {wrk.CONNECTIONS} connections, {MEMBERS} members over "
          f"{PROPOSALS} proposals, {seconds:.0f} s each; one uvicorn worker (uvloop + httptools) each; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(wrk.HEADER)
    print(copro.row("copro POST ballot (auth, load, decide, append)"))
    print(floor.row("floor: Litestar+msgspec+asyncpg, 1 INSERT"))
    print(trivial.row("trivial POST (no database)"))
    print(f"copro / floor {copro.rate / floor.rate:.2f}x   copro / trivial {copro.rate / trivial.rate:.2f}x   "
          f"floor / trivial {floor.rate / trivial.rate:.2f}x")
    print(closing)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 s per figure instead of 10")
    asyncio.run(main(parser.parse_args().quick))
