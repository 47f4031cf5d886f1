"""The generic command handler, and invariant 7: nothing acknowledged is lost on a crash."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import msgspec
import pytest

from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected
from shared.domain.ids import new_id
from shared.eventlog.handler import handle
from shared.eventlog.migrate import migrate_url
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from shared.runtime.credentials import user_of
from shared.runtime.embedded import PG_SYSTEM_USER, EmbeddedPostgres
from tests.conftest import wait_sealed
from tests.integration.events import noted


class Added(msgspec.Struct, tag="test.Added"):
    amount: int


@dataclass(frozen=True)
class Add:
    amount: int
    limit: int = 1_000


def decide(command: Add, total: int) -> list[Added]:
    if total + command.amount > command.limit:
        raise CommandRejected(f"the total may not pass {command.limit}")
    return [Added(command.amount)] if command.amount else []


def evolve(total: int, event: Added) -> int:
    return total + event.amount


counter: Decider[Add, int, Added] = Decider(initial_state=lambda: 0, decide=decide, evolve=evolve, event_type=Added)


def fragile(total: int, event: Added) -> int:
    if event.amount == 13:
        raise OverflowError("the state cannot take this event")
    return total + event.amount


async def test_an_event_the_state_cannot_take_is_refused_before_anything_is_written(store: EventStore) -> None:
    """The handler folds the new events before appending them: an answer of 500 then writes nothing, as it says."""
    brittle: Decider[Add, int, Added] = Decider(initial_state=lambda: 0, decide=decide, evolve=fragile, event_type=Added)
    group, stream = new_id(), f"brittle-{new_id()}"
    await handle(store, brittle, Add(1), group_id=group, stream_id=stream)
    with pytest.raises(OverflowError):
        await handle(store, brittle, Add(13), group_id=group, stream_id=stream)
    assert [counter.decode(e).amount for e in await store.read_stream(stream)] == [1]


async def test_concurrent_commands_all_land_through_retries(store: EventStore) -> None:
    group, stream = new_id(), f"counter-{new_id()}"
    results = await asyncio.gather(
        *(handle(store, counter, Add(1), group_id=group, stream_id=stream, attempts=20) for _ in range(10))
    )
    assert sorted(r.version for r in results) == list(range(1, 11))
    history = [counter.decode(e) for e in await store.read_stream(stream)]
    assert counter.fold(history) == 10


async def test_rejections_and_empty_decisions_append_nothing(store: EventStore) -> None:
    group, stream = new_id(), f"counter-{new_id()}"
    await handle(store, counter, Add(5, limit=6), group_id=group, stream_id=stream)
    with pytest.raises(CommandRejected):
        await handle(store, counter, Add(5, limit=6), group_id=group, stream_id=stream)
    nothing = await handle(store, counter, Add(0), group_id=group, stream_id=stream)
    assert nothing.result is None and nothing.state == 5
    assert len(await store.read_stream(stream)) == 1


@pytest.fixture
def crash_cluster() -> Iterator[EmbeddedPostgres]:
    home = Path(tempfile.mkdtemp(prefix="copro-crash-"))
    cluster = EmbeddedPostgres(home, 54349)
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(home, ignore_errors=True)


def _crash(cluster: EmbeddedPostgres) -> None:
    """Kill PostgreSQL without a clean shutdown, as a power cut would."""
    import subprocess

    user = {"user": PG_SYSTEM_USER} if os.geteuid() == 0 else {}
    subprocess.run([cluster._bin("pg_ctl"), "-D", str(cluster.pgdata), "-m", "immediate", "stop"],
                   check=True, capture_output=True, **user)  # type: ignore[call-overload]


async def test_acknowledged_appends_survive_a_database_crash(crash_cluster: EmbeddedPostgres) -> None:
    url = crash_cluster.url  # the app role, as the services
    await migrate_url(crash_cluster.owner_url, app_role=user_of(url))
    store = await EventStore.connect(url, min_size=1, max_size=8)
    group = new_id()
    acknowledged = []

    async def writer(w: int) -> None:
        for i in range(50):
            result = await store.append(group_id=group, stream_id=f"crash-{w}", events=[noted(i)],
                                        expected_version=i)
            acknowledged.extend(result.event_ids)

    await asyncio.gather(*(writer(w) for w in range(4)))
    await store.close()
    _crash(crash_cluster)
    crash_cluster.start()

    conn = await asyncpg.connect(url)
    stored = {r["id"] for r in await conn.fetch("SELECT id FROM events")}
    await conn.close()
    assert set(acknowledged) <= stored and len(acknowledged) == 200

    store = await EventStore.connect(url, min_size=1, max_size=2)
    stop = asyncio.Event()
    sealing = asyncio.create_task(Sealer(url).run(stop))
    await wait_sealed(store, 200)
    stop.set()
    await sealing
    await store.close()
