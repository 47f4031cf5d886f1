"""Speed against history: ballots, appends and end-to-end fan-out with 10,000 and 1,000,000 events
already in the log, in one run, both systems up at once and measured in turns (median of --rounds).

For each size: a fresh database whose history is appended through the real store (``copro_append``:
stream chains, content hashes, then the sealer's positions and global chain) in appends of 1,000
events from 4 concurrent writers, over 500 streams in 50 groups, and the database is vacuumed and
analysed; then the whole system, as ``copro up`` starts it, catches up (the log process's relay
publishes the history to JetStream, the read models read it) before anything is measured. Then:
- ballots over HTTP with wrk (as in ``bench/decisions.py``: 16 connections, 16 proposals);
- appends: one event per append from 8 concurrent writers, beside the running service;
- end-to-end: an append's return (committed) to its delivery by a JetStream consumer, 100/s.

    python bench/scale.py [--sizes 10000 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import msgspec
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import decisions
from bench.common import fresh_database, own_nats, vacuum
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.fanout.cloudevents import subject_for


class Noted(msgspec.Struct, tag="bench.Noted"):
    n: int
    text: str = "a reflection of about a hundred bytes, like most payloads in a working group's log"


def noted(n: int) -> NewEvent:
    return NewEvent(id=new_id(), type="bench.Noted", data=Noted(n))


async def load_history(url: str, size: int) -> float:
    """Append ``size`` events through the store and wait until they are sealed; seconds taken."""
    store = await EventStore.connect(url)
    stop = asyncio.Event()
    sealer = asyncio.create_task(Sealer(url).run(stop))
    groups = [new_id() for _ in range(50)]
    started = time.perf_counter()
    chunks = [(groups[c % 50], f"history-{c % 500}", c // 500) for c in range(size // 1000)]

    async def writer(w: int) -> None:
        for group, stream, round_ in chunks[w::4]:
            await store.append(group_id=group, stream_id=stream, events=[noted(i) for i in range(1000)],
                               expected_version=round_ * 1000)

    await asyncio.gather(*(writer(w) for w in range(4)))
    while await store.head_position() < size:
        await asyncio.sleep(0.2)
    took = time.perf_counter() - started
    stop.set()
    await sealer
    await store.close()
    return took


async def caught_up(store: EventStore, timeout: float = 600) -> float:
    """Seconds until the relay and every read model have reached the head of the log."""
    started = time.perf_counter()
    head = await store.head_position()
    while time.perf_counter() - started < timeout:
        behind = await store.pool.fetchval(
            "SELECT count(*) FROM (SELECT position FROM relay_cursors UNION ALL SELECT position FROM projection_cursors)"
            " c WHERE position < $1", head)
        relays = await store.pool.fetchval("SELECT count(*) FROM relay_cursors")
        if relays and not behind:
            break
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def appends(store: EventStore, seconds: float = 3.0, writers: int = 8) -> float:
    group, done, deadline = new_id(), 0, time.perf_counter() + seconds

    async def writer(w: int) -> None:
        nonlocal done
        stream, version = f"appends-{uuid.uuid4()}", 0
        while time.perf_counter() < deadline:
            version = (await store.append(group_id=group, stream_id=stream, events=[noted(version)],
                                          expected_version=version)).stream_version
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return done / (time.perf_counter() - started)


async def end_to_end(store: EventStore, nats_admin_url: str, count: int = 300, rate: float = 100.0) -> tuple[float, float]:
    """p50 and p99 ms from an append's return to its delivery to a JetStream subscriber."""
    group = new_id()
    client = await nats.connect(nats_admin_url)
    js = client.jetstream()
    received: dict[str, float] = {}
    sent: dict[str, float] = {}

    async def on_message(message: nats.aio.msg.Msg) -> None:
        received[(message.headers or {}).get("ce-id", "")] = time.perf_counter()

    subscription = await js.subscribe(subject_for(group, "bench.Noted"), cb=on_message, deliver_policy="new",
                                      ordered_consumer=True)
    stream = f"e2e-{group}"
    for n in range(count):
        event = noted(n)
        await store.append(group_id=group, stream_id=stream, events=[event], expected_version=n)
        sent[str(event.id)] = time.perf_counter()
        await asyncio.sleep(1 / rate)
    for _ in range(200):
        if len(received) >= count:
            break
        await asyncio.sleep(0.05)
    await subscription.unsubscribe()
    await client.close()
    latencies = sorted((received[i] - t) * 1000 for i, t in sent.items() if i in received)
    if len(latencies) < count:
        print(f"  (only {len(latencies)} of {count} events reached the consumer)")
    return statistics.median(latencies), latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


async def prepared(stack: contextlib.AsyncExitStack, size: int) -> Sized:
    """A database with ``size`` events of history and the whole system on it, caught up."""
    server = stack.enter_context(own_nats())
    url = await stack.enter_async_context(fresh_database(f"scale{size}"))
    loaded = await load_history(url, size)
    await vacuum(url)  # at rest, as autovacuum would have left a log that grew over months
    print(f"{size:>9,} events: history appended and sealed in {loaded:,.1f} s ({size / loaded:,.0f} events/s)",
          flush=True)
    base, home = await stack.enter_async_context(decisions.decisions(url, server))
    store = await EventStore.connect(url)
    stack.push_async_callback(store.close)
    print(f"           the service caught up with it in {await caught_up(store):,.1f} s", flush=True)
    _, _, _, requests = await decisions.ballots(base, home)
    return Sized(size, base, requests, store, server.admin_url)


class Sized(msgspec.Struct):
    """One size's system, ready to measure."""

    size: int
    base: str
    requests: list[tuple[str, str, str]]
    store: EventStore
    nats_admin_url: str

    async def measure(self) -> dict[str, float]:
        ballots = decisions.measure(self.base, self.requests, 5)
        rate = await appends(self.store)
        p50, p99 = await end_to_end(self.store, self.nats_admin_url)
        return {"ballots/s": ballots.rate, "ballot p50 ms": ballots.p50, "ballot p99 ms": ballots.p99,
                "appends/s (8 writers)": rate, "end-to-end p50 ms": p50, "end-to-end p99 ms": p99}


async def main(sizes: list[int], rounds: int) -> None:
    """Every size's system is up at once and the sizes take turns, round after round, so that each figure
    meets the same machine; each one's median is compared (a busy moment lands in one round, not one size)."""
    async with contextlib.AsyncExitStack() as stack:
        systems = [await prepared(stack, size) for size in sizes]
        runs: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
        for r in range(rounds):
            for system in systems:
                runs[system.size].append(await system.measure())
                figures = runs[system.size][-1]
                print(f"  round {r + 1}, {system.size:>9,}: " + ", ".join(f"{k} {v:,.1f}" for k, v in figures.items()),
                      flush=True)
    results = {size: {key: statistics.median(run[key] for run in runs[size]) for key in runs[size][0]}
               for size in sizes}
    print(f"\nspeed against history, one run, median of {rounds} alternating rounds;"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'':<24}" + "".join(f"{size:>12,}" for size in sizes) + "   last/first")
    for key in results[sizes[0]]:
        values = [results[size][key] for size in sizes]
        print(f"{key:<24}" + "".join(f"{v:>12,.1f}" for v in values) + f"   {values[-1] / values[0]:>9.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000], help="events already in the log")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; each figure is their median")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.sizes, arguments.rounds))
