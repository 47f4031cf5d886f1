"""Append and read throughput of the copro event store beside the Python peer and the raw asyncpg limit.

One run, one PostgreSQL (the embedded one unless COPRO_DATABASE_URL is set),
a fresh database. Each copro figure is measured next to
- the peer: ``eventsourcing``'s PostgreSQL recorder in its gap-safe default mode
  (bench/peer.py; ``pip install -e .[bench]``), same payloads, its own table;
- raw asyncpg on a bare table of copro's shape and indexes (``LIKE events``: no
  triggers, no hash chains, no sealer), one connection per writer, one durable
  commit per append as copro's,
and the ratios copro/raw and copro/peer are printed. copro's store has one lane per writer (appends
go alone at once, as raw has one connection per writer); the row "gathered" is the services' store,
whose concurrent appends gather into batches. Rounds alternate the three
and keep each one's median. The sealer runs in a separate process, as it does
beside the services. The last column is this process's CPU share during the raw
runs: well under 100% means the load generator is not what limits the floor.

    python bench/append.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_database
from bench.peer import Peer, payload
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore


class VoteCast(msgspec.Struct, tag="bench.VoteCast"):
    proposal_id: uuid.UUID
    member_id: uuid.UUID
    choice: str
    weight: int


ROUNDS = 3


def vote() -> NewEvent:
    return NewEvent(id=new_id(), type="bench.VoteCast", data=VoteCast(new_id(), new_id(), "agree", 1))


RAW_INSERT = (
    "INSERT INTO raw_events (id, group_id, stream_id, stream_version, type, payload, actor_id, actor_org,"
    " causation_id, correlation_id, recorded_at, content_hash, chain_hash)"
    " VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, $7, $8, $9)"
)
RAW_BATCH = (
    "INSERT INTO raw_events (id, group_id, stream_id, stream_version, type, payload, recorded_at, content_hash, chain_hash)"
    " SELECT u.id, $1, $2, u.v, 'bench.VoteCast', u.p, $3, $4, $4"
    " FROM unnest($5::uuid[], $6::int[], $7::bytea[]) AS u (id, v, p)"
)


def raw_row(group: uuid.UUID, stream: str, version: int) -> tuple[object, ...]:
    payload = msgspec.json.encode(vote().data)
    return (new_id(), group, stream, version, "bench.VoteCast", payload, datetime.now(UTC), b"\0" * 32, b"\0" * 32)


def run_sealer(url: str) -> None:
    asyncio.run(Sealer(url).run())


async def writers(count: int, per_writer: int, append_one) -> float:  # type: ignore[no-untyped-def]
    async def writer(w: int) -> None:
        for i in range(per_writer):
            await append_one(w, i)

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(count)))
    return count * per_writer / (time.perf_counter() - started)


async def main(quick: bool) -> None:
    sealer = None
    async with fresh_database("bench") as url:
        try:
            # one lane per writer, as raw has one connection per writer; ``gathered`` is the services' store (one
            # lane: concurrent appends gather into batches, which measured faster for ballots over HTTP)
            store = await EventStore.connect(url, min_size=10, max_size=10, lanes=8)
            gathered = await EventStore.connect(url, min_size=3, max_size=3)
            raw = await asyncpg.create_pool(url, min_size=8, max_size=8)
            # the raw limit: one dedicated connection per writer, no pool in the way
            raw_conns = [await asyncpg.connect(url) for _ in range(8)]
            await raw.execute(
                "CREATE TABLE raw_events (LIKE events"
                " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES INCLUDING IDENTITY)"
            )
            sealer = multiprocessing.get_context("spawn").Process(target=run_sealer, args=(url,), daemon=True)
            sealer.start()
            group = new_id()
            # the sealer process is up and sealing before anything is measured (its start-up is a second of CPU)
            await store.append(group_id=group, stream_id="warm-up", events=[vote()], expected_version=0)
            while await store.head_position() < 1:
                await asyncio.sleep(0.05)
            scale = 1 if quick else 4
            rows: list[tuple[str, float, float, float, float]] = []
            peer = Peer(url)

            async def copro_one(w: int, i: int, tag: str, store: EventStore = store) -> None:
                await store.append(group_id=group, stream_id=f"{tag}-{w}", events=[vote()], expected_version=i)

            async def raw_one(w: int, i: int, tag: str) -> None:
                await raw_conns[w].execute(RAW_INSERT, *raw_row(group, f"{tag}-{w}", i + 1))

            def peer_one(w: int, i: int, tag: str) -> None:
                peer.append(f"{tag}-{w}", i + 1, [payload(vote().data)], "bench.VoteCast")

            async def compare(label: str, copro, peer_run, raw_limit) -> None:  # type: ignore[no-untyped-def]
                """Alternate copro, the peer and raw ROUNDS times; keep the median of each."""
                copro_runs, peer_runs, raw_runs, cpu, wall = [], [], [], 0.0, 0.0
                for k in range(ROUNDS):
                    copro_runs.append(await copro(k))
                    peer_runs.append(await asyncio.to_thread(peer_run, k))
                    cpu_before, wall_before = time.process_time(), time.perf_counter()
                    raw_runs.append(await raw_limit(k))
                    cpu += time.process_time() - cpu_before
                    wall += time.perf_counter() - wall_before
                rows.append((label, statistics.median(copro_runs), statistics.median(peer_runs),
                             statistics.median(raw_runs), cpu / wall))

            n1 = 200 * scale
            await compare(
                "(a) 1 writer, 1 event per append",
                lambda k: writers(1, n1, lambda w, i: copro_one(w, i, f"a{k}")),
                lambda k: peer.writers(1, n1, lambda w, i: peer_one(w, i, f"a{k}")),
                lambda k: writers(1, n1, lambda w, i: raw_one(w, i, f"a{k}")),
            )
            n8 = 100 * scale
            await compare(
                "(b) 8 writers, 1 event per append",
                lambda k: writers(8, n8, lambda w, i: copro_one(w, i, f"b{k}")),
                lambda k: peer.writers(8, n8, lambda w, i: peer_one(w, i, f"b{k}")),
                lambda k: writers(8, n8, lambda w, i: raw_one(w, i, f"b{k}")),
            )

            await compare(
                "(b) 8 writers, gathered (as the services)",
                lambda k: writers(8, n8, lambda w, i: copro_one(w, i, f"g{k}", gathered)),
                lambda k: peer.writers(8, n8, lambda w, i: peer_one(w, i, f"g{k}")),
                lambda k: writers(8, n8, lambda w, i: raw_one(w, i, f"g{k}")),
            )

            batches = 50 * scale  # 20,000 events a run in full: a run of a tenth of a second was mostly noise

            async def copro_batch(w: int, i: int, k: int) -> None:
                await store.append(group_id=group, stream_id=f"c{k}", events=[vote() for _ in range(100)],
                                   expected_version=i * 100)

            async def raw_batch(w: int, i: int, k: int) -> None:
                payloads = [msgspec.json.encode(vote().data) for _ in range(100)]
                await raw_conns[w].execute(RAW_BATCH, group, f"c{k}", datetime.now(UTC), b"\0" * 32,
                                           [new_id() for _ in range(100)], list(range(i * 100 + 1, i * 100 + 101)), payloads)

            async def copro_batches(k: int) -> float:
                return await writers(1, batches, lambda w, i: copro_batch(w, i, k)) * 100

            async def raw_batches(k: int) -> float:
                return await writers(1, batches, lambda w, i: raw_batch(w, i, k)) * 100

            def peer_batches(k: int) -> float:
                return peer.writers(1, batches, lambda w, i: peer.append(
                    f"c{k}", i * 100 + 1, [payload(vote().data) for _ in range(100)], "bench.VoteCast")) * 100

            await compare("(c) appends of 100 events", copro_batches, peer_batches, raw_batches)

            total = await store.pool.fetchval("SELECT count(*) FROM events")
            while await store.head_position() < total:
                await asyncio.sleep(0.05)

            async def copro_read(k: int) -> float:
                started = time.perf_counter()
                read = 0
                async for page in store.pages(0, 1000):
                    for event in page:
                        event.decode(VoteCast)
                    read += len(page)
                return read / (time.perf_counter() - started)

            async def raw_read(k: int) -> float:
                started = time.perf_counter()
                decoder = msgspec.json.Decoder(VoteCast)
                read = 0
                async with raw.acquire() as conn, conn.transaction():
                    async for record in conn.cursor("SELECT * FROM raw_events ORDER BY seq", prefetch=1000):
                        decoder.decode(record["payload"])
                        read += 1
                return read / (time.perf_counter() - started)

            def peer_read(k: int) -> float:
                return peer.read(msgspec.json.Decoder(VoteCast).decode)

            await compare(f"(d) ordered read + decode ({total} events)", copro_read, peer_read, raw_read)

            where = f"{urlsplit(url).hostname}:{urlsplit(url).port}"
            print(f"\ncopro event store vs the Python peer (eventsourcing, gap-safe) vs raw asyncpg,"
                  f" PostgreSQL at {where}, one run, median of {ROUNDS}, load average {os.getloadavg()[0]:.2f}")
            print(f"{'measure':<42} {'copro ev/s':>11} {'peer ev/s':>10} {'raw ev/s':>10} {'copro/raw':>10}"
                  f" {'copro/peer':>11} {'bench cpu (raw)':>16}")
            for label, copro, other, limit, cpu in rows:
                print(f"{label:<42} {copro:>11,.0f} {other:>10,.0f} {limit:>10,.0f} {copro / limit:>9.2f}x"
                      f" {copro / other:>10.2f}x {cpu:>15.0%}")
            peer.close()
            await store.close()
            await gathered.close()
            await raw.close()
            for conn in raw_conns:
                await conn.close()
        finally:
            if sealer is not None:
                sealer.terminate()
                sealer.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smaller run (seconds, not a minute)")
    asyncio.run(main(parser.parse_args().quick))
