"""Fan-out: end-to-end latency (append commit -> JetStream consumer) and relay throughput.

One run against one PostgreSQL (a fresh database) and a NATS server of its
own. Latency: events appended at a steady rate while the sealer and the relay
run in another process, as beside a service; each event's time from its
append returning (committed) to its delivery by a JetStream consumer.
Throughput: the relay publishing an already sealed backlog, beside raw
pipelined ``js.publish_async`` of the very same messages (subject, headers,
body) in batches of the same size, measured in the same run.

    python bench/fanout.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import msgspec
import nats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database, own_nats
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.fanout.cloudevents import headers_for, subject_for
from shared.fanout.relay import Relay, last_published
from shared.runtime.credentials import masked

BATCH = 500


class Noted(msgspec.Struct, tag="bench.Noted"):
    n: int
    text: str = "a reflection of about a hundred bytes, like most payloads in a working group's log"


def noted(n: int) -> NewEvent:
    return NewEvent(id=new_id(), type="bench.Noted", data=Noted(n))


def run_service_side(database_url: str, nats_url: str) -> None:
    """The sealer and the relay, in their own process as in a service."""

    async def main() -> None:
        store = await EventStore.connect(database_url)
        client = await nats.connect(nats_url)
        stop = asyncio.Event()
        await asyncio.gather(Sealer(database_url).run(stop), Relay(store, client).run(stop))

    asyncio.run(main())


async def latency(store: EventStore, nats_url: str, rate: int, count: int) -> list[float]:
    client = await nats.connect(nats_url)
    committed: dict[str, float] = {}
    received: dict[str, float] = {}
    done = asyncio.Event()

    async def on_message(message: nats.aio.msg.Msg) -> None:
        event_id = (message.headers or {}).get("ce-id", "")
        received.setdefault(event_id, time.perf_counter())
        if len(received) >= count:
            done.set()

    service = multiprocessing.get_context("spawn").Process(
        target=run_service_side, args=(store.url, nats_url), daemon=True)
    service.start()
    js = client.jetstream()
    for _ in range(200):  # wait for the relay to create the stream
        try:
            await js.stream_info("COPRO")
            break
        except Exception:
            await asyncio.sleep(0.1)
    await js.subscribe("copro.>", cb=on_message, ordered_consumer=True)
    group = new_id()
    started = time.perf_counter()
    for i in range(count):
        due = started + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        event = noted(i)
        await store.append(group_id=group, stream_id=f"lat-{i % 50}", events=[event], expected_version=None)
        committed[str(event.id)] = time.perf_counter()
    await asyncio.wait_for(done.wait(), 60)
    service.terminate()
    service.join()
    await client.close()
    return [(received[k] - committed[k]) * 1000 for k in committed]


async def relay_throughput(store: EventStore, nats_url: str, count: int) -> tuple[float, int]:
    group = new_id()
    for start in range(0, count, 100):
        await store.append(group_id=group, stream_id=f"tp-{start}", events=[noted(i) for i in range(100)],
                           expected_version=0)
    stop = asyncio.Event()
    sealing = asyncio.create_task(Sealer(store.url).run(stop))
    total = int(await store.pool.fetchval("SELECT count(*) FROM events"))
    while await store.head_position() < total:
        await asyncio.sleep(0.05)
    stop.set()
    await sealing
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.delete_stream("COPRO")  # the relay starts on an empty stream and publishes the whole log
    relay = Relay(store, client, stream="RELAYTP", batch=BATCH)
    relay_stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(relay_stop))
    while True:
        try:
            if (await last_published(js, "RELAYTP"))[0] >= total:
                break
        except Exception:
            pass
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    relay_stop.set()
    await task
    await client.close()
    return total / elapsed, total


async def raw_throughput(store: EventStore, nats_url: str, count: int) -> float:
    """The same messages (subject, CloudEvents headers, body), published pipelined with nothing else."""
    messages = [
        (subject_for(e.group_id, e.type).replace("copro.", "raw.", 1), bytes(e.data), headers_for(e))
        for e in await store.read_all(0, count, decrypt=False)
    ]
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.add_stream(name="RAW", subjects=["raw.>"])
    started = time.perf_counter()
    for start in range(0, len(messages), BATCH):
        futures = [
            await js.publish_async(subject, body, headers=dict(headers))
            for subject, body, headers in messages[start : start + BATCH]
        ]
        await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await client.close()
    return len(messages) / elapsed


async def main(quick: bool) -> None:
    with own_nats() as nats_server:
        async with fresh_database("fanout") as url:
            store = await EventStore.connect(url, min_size=2, max_size=4)
            count = 1_000 if quick else 5_000
            rate = 500
            times = sorted(await latency(store, nats_server.admin_url, rate, count))
            p50 = statistics.median(times)
            p99 = times[int(len(times) * 0.99) - 1]
            relay, total = await relay_throughput(store, nats_server.admin_url, 5_000 if quick else 20_000)
            raw = await raw_throughput(store, nats_server.admin_url, total)
            await store.close()
    print(f"\ncopro fan-out, one run (PostgreSQL {masked(url)}, NATS {nats_server.url})")
    print(f"end-to-end latency, append commit -> JetStream consumer, {count:,} events at {rate}/s:")
    print(f"  p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   max {times[-1]:6.2f} ms")
    print(f"{'throughput (' + format(total, ',') + ' events, batches of ' + str(BATCH) + ')':<46} {'events/s':>10}")
    print(f"{'relay: sealed log -> JetStream, acknowledged':<46} {relay:>10,.0f}")
    print(f"{'raw js.publish_async of the same messages':<46} {raw:>10,.0f}")
    print(f"{'relay/raw':<46} {relay / raw:>9.2f}x")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    asyncio.run(main(parser.parse_args().quick))
