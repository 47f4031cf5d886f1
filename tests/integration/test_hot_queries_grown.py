"""A plan made while the log was small must not scan it once it has grown.

A follower's connection lives for months, and PostgreSQL keeps the generic plan of each of its
prepared statements until the statistics change: a plan chosen for a log of a few rows (a hash
join over a sequential scan of ``events``, say) would then read the whole log on every poll.
Under load that cost a projection runner 2 ms a step before its queries took the form they have
now. Each hot query is prepared and run while the log holds a few events, the log then grows to
12,000 events with no ANALYZE in between, and the plan the statement kept is examined.
"""

from __future__ import annotations

import asyncio

import asyncpg

from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from tests.conftest import wait_sealed
from tests.integration.events import noted
from tests.integration.test_hot_queries import APPENDS_PER_STREAM, GROUPS, PER_APPEND, STREAMS, TOTAL, _literal, hot


async def test_plans_made_on_a_small_log_stay_index_plans_as_it_grows(store: EventStore, owner_database_url: str) -> None:
    owner = await asyncpg.connect(owner_database_url)
    try:
        await owner.execute("ALTER TABLE events SET (autovacuum_enabled = false);"
                            " ALTER TABLE log SET (autovacuum_enabled = false)")
    finally:
        await owner.close()
    group = new_id()
    await store.append(group_id=group, stream_id=f"small-{group}", events=[noted(i) for i in range(20)],
                       expected_version=0)
    await wait_sealed(store, 20)
    row = await store.pool.fetchrow("SELECT id, tx_id::text::bigint AS xid, seq FROM events ORDER BY seq DESC LIMIT 1")
    queries = hot(group, f"small-{group}", row["id"], row["xid"], row["seq"])
    conn = await asyncpg.connect(store.url)
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        names = {}
        for n, (name, (query, params)) in enumerate(queries.items()):
            names[name] = (f"hot_{n}", f"({', '.join(_literal(p) for p in params)})" if params else "")
            await conn.execute(f"PREPARE hot_{n} AS {query}")
            await conn.fetch(f"EXPLAIN EXECUTE {names[name][0]}{names[name][1]}")  # made and kept

        streams = [(g, f"grown-{g}-{s}") for g in (new_id() for _ in range(GROUPS)) for s in range(STREAMS)]

        async def fill(g: object, stream: str) -> None:
            for version in range(APPENDS_PER_STREAM):
                await store.append(group_id=g, stream_id=stream,  # type: ignore[arg-type]
                                   events=[noted(i) for i in range(PER_APPEND)], expected_version=version * PER_APPEND)

        for start in range(0, len(streams), 16):
            await asyncio.gather(*(fill(g, s) for g, s in streams[start:start + 16]))
        await wait_sealed(store, TOTAL + 20, timeout=60)
        scans = {}
        for name, (prepared, args) in names.items():
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE {prepared}{args}"))
            if "Seq Scan on events" in plan or "Seq Scan on log" in plan:
                scans[name] = plan
        assert not scans, "\n\n".join(f"{name}:\n{plan}" for name, plan in scans.items())
    finally:
        await conn.close()
