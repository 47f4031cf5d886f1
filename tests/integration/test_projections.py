"""Projections: exactly-once effect, rebuild from 0 equal to live, resume after a database outage."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import asyncpg
import pytest

from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent, RecordedEvent
from shared.eventlog.locks import projection_lock
from shared.eventlog.migrate import migrate_url
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.readmodels.projections import ProjectionRunner, ensure_tables, rebuild
from shared.runtime.credentials import user_of
from shared.runtime.embedded import EmbeddedPostgres, free_port
from tests.conftest import eventually, wait_sealed
from tests.integration.events import Noted, StreamTotals, noted


async def rows(conn: asyncpg.Pool | asyncpg.Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await conn.fetch("SELECT * FROM stream_totals ORDER BY stream_id")]


async def test_a_rebuilt_projection_equals_the_live_one_row_by_row(store: EventStore) -> None:
    projection = StreamTotals()
    stop = asyncio.Event()
    runner = ProjectionRunner(store, projection, batch=300)
    task = asyncio.create_task(runner.run(stop))
    group, rng = new_id(), random.Random(7)
    streams = [f"tot-{group}-{k}" for k in range(40)]
    versions = dict.fromkeys(streams, 0)

    async def writer(count: int) -> None:
        for _ in range(count):
            stream = rng.choice(streams)
            size = rng.randint(1, 4)
            version = versions[stream]
            versions[stream] += size
            await store.append(group_id=group, stream_id=stream, expected_version=version,
                               events=[noted(rng.randint(-50, 100)) for _ in range(size)])

    await writer(1200)  # about 3,000 events
    total = await store.pool.fetchval("SELECT count(*) FROM events")
    await wait_sealed(store, total)
    head = await store.head_position()
    await eventually(lambda: _at(runner, head), 60, "live projection caught up")
    live = await rows(store.pool)
    assert sum(r[1] for r in live) == sum(versions.values())  # type: ignore[misc]

    reported: list[tuple[int, int]] = []
    rebuilt_at = await rebuild(store, projection, batch=500, progress=lambda p, h: reported.append((p, h)))
    assert rebuilt_at == head and reported[-1][0] == head
    assert await rows(store.pool) == live
    indexes = {r["indexname"] for r in await store.pool.fetch(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'stream_totals'")}
    assert indexes == {"stream_totals_pkey", "stream_totals_by_total"}

    await writer(50)  # the live runner carries on on the swapped-in table, from the rebuild's checkpoint
    await wait_sealed(store, await store.pool.fetchval("SELECT count(*) FROM events"))
    head = await store.head_position()
    await eventually(lambda: _at(runner, head), 60, "live projection caught up after the swap")
    after = await rows(store.pool)
    assert sum(r[1] for r in after) == sum(versions.values())  # type: ignore[misc]
    await rebuild(store, projection)  # a second rebuild (index names free again) gives the same rows
    assert await rows(store.pool) == after
    stop.set()
    await task


async def test_a_stretch_without_the_projections_types_costs_no_transaction(store: EventStore) -> None:
    """Ballots concern no other service's read model: the runner moves over them without taking its lock
    (so without a transaction), and takes it as soon as an event of its types is in the stretch."""
    projection = StreamTotals()
    runner = ProjectionRunner(store, projection)
    async with store.pool.acquire() as conn:
        await ensure_tables(conn, projection)
    runner.position = await store.head_position()
    group = new_id()
    others = [NewEvent(id=new_id(), type="test.Other", data=Noted(n=1)) for _ in range(30)]
    await store.append(group_id=group, stream_id=f"other-{group}", events=others, expected_version=0)
    await wait_sealed(store, runner.position + 30)
    holder = await asyncpg.connect(store.url)
    await holder.execute("SELECT pg_advisory_lock($1)", projection_lock(projection.name))
    try:
        async with store.pool.acquire() as conn:
            assert await asyncio.wait_for(runner.step(conn), 30) == 30
            assert runner.position == await store.head_position()
            more = [NewEvent(id=new_id(), type="test.Other", data=Noted(n=2)) for _ in range(10)]
            await store.append(group_id=group, stream_id=f"other-{group}", events=more, expected_version=30)
            await wait_sealed(store, runner.position + 10)
            assert await asyncio.wait_for(runner.step(conn), 30) == 10  # too soon after the last to store it
            assert await asyncio.wait_for(runner.step(conn), 30) == 0  # caught up: the stored cursor follows
            assert await store.pool.fetchval(
                "SELECT position FROM projection_cursors WHERE name = $1", projection.name) == runner.position
            await store.append(group_id=group, stream_id=f"tot-{group}", events=[noted(5)], expected_version=0)
            await wait_sealed(store, runner.position + 1)
            step = asyncio.create_task(runner.step(conn))

            async def waiting_for_the_lock() -> bool:
                return bool(await holder.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))

            await eventually(waiting_for_the_lock, 30, "the runner waiting for the projection's lock")
            await holder.execute("SELECT pg_advisory_unlock($1)", projection_lock(projection.name))
            assert await asyncio.wait_for(step, 30) == 1
        assert await store.pool.fetchval(
            "SELECT total FROM stream_totals WHERE stream_id = $1", f"tot-{group}") == 5
    finally:
        await holder.close()


async def _at(runner: ProjectionRunner, position: int) -> bool:
    return runner.position >= position


@pytest.fixture
def outage_cluster() -> Iterator[EmbeddedPostgres]:
    home = Path(tempfile.mkdtemp(prefix="copro-outage-"))
    cluster = EmbeddedPostgres(home, free_port())
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(home, ignore_errors=True)


async def test_projection_resumes_by_itself_after_postgresql_was_away(outage_cluster: EmbeddedPostgres) -> None:
    url = outage_cluster.url  # the app role, as the services
    await migrate_url(outage_cluster.owner_url, app_role=user_of(url))
    store = await EventStore.connect(url, min_size=1, max_size=4)
    stop = asyncio.Event()
    runner = ProjectionRunner(store, StreamTotals(), safety_poll=0.5)
    tasks = [asyncio.create_task(Sealer(url).run(stop)), asyncio.create_task(runner.run(stop))]
    group = new_id()
    for i in range(20):
        await store.append(group_id=group, stream_id=f"o-{i % 3}", expected_version=None, events=[noted(i)])
    await eventually(lambda: _at(runner, 20), 60, "projection at 20")

    outage_cluster.stop()
    await asyncio.sleep(2)
    outage_cluster.start()

    async def appended() -> bool:
        try:
            await store.append(group_id=group, stream_id="o-after", expected_version=None, events=[noted(99)])
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    await eventually(appended, 60, "the store writing again")
    await eventually(lambda: _at(runner, 21), 60, "projection resumed without a restart")
    assert sum(r[1] for r in await rows(store.pool)) == 21  # type: ignore[misc]
    stop.set()
    await asyncio.gather(*tasks)
    await store.close()


async def test_copro_projections_rebuild_from_the_command_line(
    store: EventStore, database_url: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    before = await rows(store.pool)
    assert before, "the rebuild test above leaves rows to compare"
    env = dict(os.environ, COPRO_DATABASE_URL=database_url, COPRO_NATS_URL="nats://127.0.0.1:1",
               COPRO_HOME=str(tmp_path))
    command = [sys.executable, "-m", "shared.runtime.cli", "projections"]
    listed = subprocess.run([*command, "list", "--module", "tests.integration.events"], env=env,
                            capture_output=True, text=True, check=True)
    assert listed.stdout.split() == ["decisions_proposals", "publishing_items", "stream_totals"]
    done = subprocess.run([*command, "rebuild", "stream_totals", "--module", "tests.integration.events"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "stream_totals: rebuilt from 0 to position" in done.stdout and "100%" in done.stderr
    assert await rows(store.pool) == before
    unknown = subprocess.run([*command, "rebuild", "nope"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown projection nope" in unknown.stderr


class CountedDespiteFailures:
    """Counts each stream's test.Noted events; its first applies fail with each of ``errors`` in turn."""

    name = "counted_despite_failures"
    types = frozenset({"test.Noted"})
    tables = MappingProxyType({"noted_counts": "CREATE TABLE {table} (stream_id text PRIMARY KEY, events int NOT NULL)"})

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors

    async def apply(self, conn: asyncpg.Connection, tables: Mapping[str, str], event: RecordedEvent) -> None:
        if self.errors:
            raise self.errors.pop(0)
        await conn.execute(f"INSERT INTO {tables['noted_counts']} AS t VALUES ($1, 1) ON CONFLICT (stream_id)"
                           " DO UPDATE SET events = t.events + 1", event.stream_id)


async def test_a_projection_runner_resumes_after_errors_it_did_not_expect(store: EventStore) -> None:
    """What an outage leaves on a connection (asyncpg's "cannot switch to state", seen when PostgreSQL was
    killed under load) and a plain bug each fail one batch: the runner resumes from its cursor, each event
    takes effect once, and it never stops for good (a stopped runner left a read model behind for ever).
    Last in the module: its events would reach the stream totals the tests above compare."""
    group = new_id()
    await store.append(group_id=group, stream_id=f"survive-{group}", events=[noted(i) for i in range(5)],
                       expected_version=0)
    projection = CountedDespiteFailures([
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        RuntimeError("a bug in a read model"),
    ])
    stop = asyncio.Event()
    task = asyncio.create_task(ProjectionRunner(store, projection, safety_poll=0.2).run(stop))

    async def counted() -> bool:
        with contextlib.suppress(asyncpg.UndefinedTableError):
            return await store.pool.fetchval("SELECT events FROM noted_counts WHERE stream_id = $1",
                                             f"survive-{group}") == 5
        return False

    await eventually(counted, 30, "every event counted once, after both failures")
    assert not projection.errors and not task.done()
    stop.set()
    await task
