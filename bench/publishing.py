"""Partner delivery: webhook throughput beside raw HTTP POSTs, and SSE fan-out to 100 clients.

One run: a fresh database, a NATS server of its own, the decisions and
publishing services under uvicorn in their own processes, and a webhook
receiver (a minimal ASGI app under uvicorn) in another.

- Webhooks: a subscription registered with ``start: beginning`` on a group
  whose log already holds N events; events/s until the receiver has them all,
  beside the same client POSTing the same bodies one after another (webhooks
  go in order, one at a time per subscription).
- SSE: 100 clients follow the group's stream while N events are appended;
  deliveries/s until every client has every event.

    python bench/publishing.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from bench.common import own_nats as bench_nats
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.runtime.embedded import free_port

RECEIVER = textwrap.dedent("""
    count = 0

    async def app(scope, receive, send):
        global count
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": str(count).encode()})
            return
        while (await receive()).get("more_body"):
            pass
        count += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
""")


class Noted(msgspec.Struct, tag="bench.Noted"):
    n: int
    text: str = "a reflection of about a hundred bytes, like most payloads in a working group's log"


def serve(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=subprocess.DEVNULL)


async def ready(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(300):
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


async def append(store: EventStore, group: uuid.UUID, count: int) -> None:
    for start in range(0, count, 100):
        await store.append(group_id=group, stream_id=f"bench-{new_id()}", expected_version=0,
                           events=[NewEvent(id=new_id(), type="bench.Noted", data=Noted(n)) for n in range(start, start + 100)])


async def main(quick: bool) -> None:
    with bench_nats() as own_nats:
        async with fresh_database("publishing") as url:
            home = Path(tempfile.mkdtemp(prefix="copro-bench-home-"))
            folder = Path(tempfile.mkdtemp(prefix="copro-bench-receiver-"))
            (folder / "receiver.py").write_text(RECEIVER)
            ports = {"decisions": free_port(), "publishing": free_port(), "receiver": free_port()}
            env = dict(os.environ, COPRO_DATABASE_URL=url, COPRO_NATS_URL=own_nats.url, COPRO_HOME=str(home),
                       COPRO_NATS_CREDENTIALS=str(own_nats.credentials), COPRO_WEBHOOK_PRIVATE_TARGETS="1",
                       COPRO_LOG_LEVEL="warning", PYTHONPATH=str(folder))
            processes = [
                serve(["shared.runtime.cli", "serve", "decisions", "--port", str(ports["decisions"])], env),
                serve(["shared.runtime.cli", "serve", "publishing", "--port", str(ports["publishing"])], env),
                serve(["uvicorn", "receiver:app", "--port", str(ports["receiver"]), "--log-level", "warning",
                       "--loop", "uvloop", "--http", "httptools"], env),
            ]
            count = 2_000 if quick else 10_000
            try:
                async with httpx.AsyncClient(timeout=60) as client:
                    decisions = f"http://127.0.0.1:{ports['decisions']}"
                    publishing = f"http://127.0.0.1:{ports['publishing']}"
                    receiver = f"http://127.0.0.1:{ports['receiver']}"
                    for base in (decisions + "/readyz", publishing + "/readyz", receiver):
                        await ready(client, base)
                    operator = {"Authorization": f"Bearer {(home / 'operator-token').read_text().strip()}"}
                    group = (await client.post(f"{decisions}/groups", headers=operator, json={
                        "name": "bench", "organisations": [{"name": "A"}]})).json()
                    gid = group["group_id"]
                    member = (await client.post(f"{decisions}/groups/{gid}/members", headers=operator, json={
                        "name": "Facilitator", "organisation_id": group["organisations"][0]["id"],
                        "roles": ["facilitator"]})).json()
                    token = (await client.post(f"{decisions}/groups/{gid}/members/{member['member_id']}/tokens",
                                               headers=operator)).json()["token"]
                    auth = {"Authorization": f"Bearer {token}"}
                    store = await EventStore.connect(url)
                    await append(store, uuid.UUID(gid), count)
                    while await store.head_position() < await store.pool.fetchval("SELECT count(*) FROM events"):
                        await asyncio.sleep(0.05)

                    # webhooks: the whole backlog to one subscription
                    started = time.perf_counter()
                    made = await client.post(f"{publishing}/groups/{gid}/webhooks", headers=auth, json={
                        "url": receiver + "/hooks", "event_types": ["bench.*"], "start": "beginning"})
                    assert made.status_code == 201, made.text
                    while int((await client.get(receiver)).text) < count:
                        await asyncio.sleep(0.05)
                    webhook_rate = count / (time.perf_counter() - started)
                    events = await store.read_all(0, 1000, group_id=uuid.UUID(gid))
                    bodies = [msgspec.json.encode({"id": str(e.id), "type": e.type, "data": msgspec.json.decode(e.data)})
                              for e in events if e.type == "bench.Noted"]
                    started = time.perf_counter()
                    for body in bodies:
                        await client.post(receiver + "/raw", content=body, headers={"content-type": "application/json"})
                    raw_rate = len(bodies) / (time.perf_counter() - started)

                    # SSE: 100 clients follow while events are appended
                    clients, sse_count = 100, count // 5
                    start_position = await store.head_position()
                    received = [0] * clients

                    async def follower(k: int) -> None:
                        async with httpx.AsyncClient(timeout=120) as own, own.stream(
                                "GET", f"{publishing}/groups/{gid}/events/stream?after={start_position}", headers=auth) as r:
                            async for line in r.aiter_lines():
                                if line.startswith("data:"):
                                    received[k] += 1
                                    if received[k] == sse_count:
                                        return

                    followers = [asyncio.create_task(follower(k)) for k in range(clients)]
                    await asyncio.sleep(1.0)
                    started = time.perf_counter()
                    await append(store, uuid.UUID(gid), sse_count)
                    await asyncio.wait_for(asyncio.gather(*followers), 300)
                    sse_rate = clients * sse_count / (time.perf_counter() - started)
                    await store.close()
                print(f"\ncopro partner delivery, one run ({count:,} events; services under uvicorn, PostgreSQL, NATS here)")
                print(f"{'webhooks: one subscription, in order, signed':<52} {webhook_rate:>10,.0f} events/s")
                print(f"{'raw: the same client POSTing bodies one by one':<52} {raw_rate:>10,.0f} requests/s")
                print(f"{'webhooks/raw':<52} {webhook_rate / raw_rate:>9.2f}x")
                print(f"{'SSE fan-out: 100 clients x ' + format(sse_count, ',') + ' events':<52} {sse_rate:>10,.0f} "
                      f"deliveries/s ({sse_rate / clients:,.0f} events/s to each client)")
            finally:
                for process in processes:
                    process.terminate()
                    process.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    asyncio.run(main(parser.parse_args().quick))
