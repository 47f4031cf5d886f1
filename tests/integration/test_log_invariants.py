"""The invariants of the log (DESIGN.md 1-4), against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from dataclasses import fields

import asyncpg
import pytest

from shared.domain.errors import ConcurrencyConflict, IdempotencyMismatch
from shared.domain.ids import new_id
from shared.eventlog.batching import PreparedAppend
from shared.eventlog.follow import follow
from shared.eventlog.store import EventStore
from tests.conftest import Servers, _admin_url, wait_sealed
from tests.integration.events import Noted, noted


async def test_events_table_refuses_update_delete_truncate(store: EventStore, owner_database_url: str) -> None:
    """The triggers refuse change whoever asks: even the owner role, which the app role's grants do not reach."""
    group = new_id()
    await store.append(group_id=group, stream_id=f"inv1-{group}", events=[noted(1)], expected_version=0)
    await wait_sealed(store, 1)
    for statement in (
        "UPDATE events SET type = 'x'",
        "DELETE FROM events",
        "TRUNCATE events CASCADE",
        "UPDATE events SET type = 'x' WHERE false",
        "DELETE FROM events WHERE false",
        "UPDATE log SET position = position + 100",
        "DELETE FROM log",
        "TRUNCATE log CASCADE",
    ):
        owner = await asyncpg.connect(owner_database_url)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await owner.execute(statement)
        finally:
            await owner.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # and the app role has no such privilege at all
            await store.pool.execute(statement)
    assert await store.pool.fetchval("SELECT count(*) FROM events") >= 1


async def test_stale_append_is_a_conflict_and_overwrites_nothing(store: EventStore) -> None:
    stream, group = f"inv2-{new_id()}", new_id()
    await store.append(group_id=group, stream_id=stream, events=[noted(1)], expected_version=0)
    with pytest.raises(ConcurrencyConflict):
        await store.append(group_id=group, stream_id=stream, events=[noted(99)], expected_version=0)
    events = await store.read_stream(stream)
    assert [e.decode(Noted).n for e in events] == [1]


@pytest.mark.parametrize("writer", ["store", "lanes"])
async def test_racing_appends_at_one_version_have_one_winner(store: EventStore, lanes: EventStore, writer: str) -> None:
    """Whether the racers gather into a batch (one lane) or each go alone at once (``lanes``)."""
    store = lanes if writer == "lanes" else store
    stream, group = f"inv2b-{new_id()}", new_id()
    await store.append(group_id=group, stream_id=stream, events=[noted(0)], expected_version=0)

    async def attempt(n: int) -> bool:
        try:
            await store.append(group_id=group, stream_id=stream, events=[noted(n)], expected_version=1)
        except ConcurrencyConflict:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(n) for n in range(1, 11)))
    assert outcomes.count(True) == 1
    versions = [e.stream_version for e in await store.read_stream(stream)]
    assert versions == [1, 2]


async def test_same_event_ids_are_stored_once_and_answered_the_same(store: EventStore) -> None:
    stream, group = f"inv3-{new_id()}", new_id()
    batch = [noted(1), noted(2)]
    first = await store.append(group_id=group, stream_id=stream, events=batch, expected_version=0)
    again = await store.append(group_id=group, stream_id=stream, events=batch, expected_version=0)
    assert not first.duplicate and again.duplicate
    assert (again.stream_version, again.event_ids) == (first.stream_version, first.event_ids)
    assert len(await store.read_stream(stream)) == 2


async def test_same_idempotency_key_is_stored_once(store: EventStore) -> None:
    stream, group = f"inv3b-{new_id()}", new_id()
    kwargs = {"group_id": group, "stream_id": stream, "expected_version": None,
              "idempotency_key": "vote-1", "idempotency_scope": str(group), "request_hash": b"h1"}
    first = await store.append(events=[noted(1)], **kwargs)  # type: ignore[arg-type]
    # a retry of the same request carries new event ids, yet nothing new is stored
    again = await store.append(events=[noted(1)], **kwargs)  # type: ignore[arg-type]
    assert again.duplicate and again.event_ids == first.event_ids
    assert await store.idempotent_result(str(group), "vote-1", b"h1") == again
    with pytest.raises(IdempotencyMismatch):
        await store.append(events=[noted(2)], **{**kwargs, "request_hash": b"other"})  # type: ignore[arg-type]
    assert len(await store.read_stream(stream)) == 1


async def _append_late(store: EventStore, stream: str, group: object, hold: float) -> None:
    """Append inside a transaction that stays open: its insert commits late."""
    async with store.pool.acquire() as conn, conn.transaction():
        event = noted(-1)
        payload = b'{"type":"test.Noted","n":-1}'
        await conn.execute(
            "SELECT * FROM copro_append($1, $2, NULL, $3, $4, $5, $6, NULL, NULL, NULL, NULL, now(), '', NULL, ''::bytea)",
            group, stream, [event.id], [event.type], [payload], [b"\x00" * 32],
        )
        await asyncio.sleep(hold)
    store.signal.poke()


async def test_tailing_reader_never_skips_a_late_commit(store: EventStore) -> None:
    """8 concurrent writers plus transactions that commit late; the follower sees all, in order, once."""
    start = await store.head_position()
    group = new_id()
    writers, per_writer, late = 8, 150, 6
    expected = writers * per_writer + late
    seen: list[int] = []

    async def tail() -> None:
        async for event in follow(store, start):
            assert event.position is not None
            seen.append(event.position)
            if len(seen) == expected:
                return

    async def writer(w: int) -> None:
        for i in range(per_writer):
            await store.append(group_id=group, stream_id=f"gap-{group}-{w}", events=[noted(i)],
                               expected_version=i)
            if random.random() < 0.05:
                await asyncio.sleep(0)

    follower = asyncio.create_task(tail())
    await asyncio.gather(
        *(writer(w) for w in range(writers)),
        *(_append_late(store, f"late-{group}-{k}", group, 0.05 * (k + 1)) for k in range(late)),
    )
    await asyncio.wait_for(follower, 20)
    assert seen == list(range(start + 1, start + expected + 1))
    stored = await store.pool.fetchval("SELECT count(*) FROM events WHERE group_id = $1", group)
    assert stored == expected


async def test_read_all_pages_and_group_filter(store: EventStore) -> None:
    start = await store.head_position()
    a, b = new_id(), new_id()
    for i in range(5):
        await store.append(group_id=a if i % 2 == 0 else b, stream_id=f"pg-{a}-{i}", events=[noted(i)],
                           expected_version=0)
    await wait_sealed(store, start + 5)
    first = await store.read_all(start, 2)
    rest = await store.read_all(first[-1].position or 0, 10)
    assert [e.decode(Noted).n for e in first + rest][-5:] == [0, 1, 2, 3, 4]
    only_a = await store.read_all(start, 10, group_id=a)
    assert [e.decode(Noted).n for e in only_a] == [0, 2, 4]


async def test_pages_read_every_position_once_up_to_the_last(store: EventStore) -> None:
    """``pages`` asks for the next page before the caller is done with this one: still each position once,
    in order, cut at ``last``; a caller that stops early leaves the store working."""
    start = await store.head_position()
    group = new_id()
    await store.append(group_id=group, stream_id=f"pages-{group}", events=[noted(i) for i in range(11)],
                       expected_version=0)
    await wait_sealed(store, start + 11)
    head = await store.head_position()
    read = [e.position async for page in store.pages(start, 3) for e in page]
    assert read == list(range(start + 1, head + 1))
    cut = [[e.position for e in page] async for page in store.pages(start, 4, last=start + 6)]
    assert cut == [[start + 1, start + 2, start + 3, start + 4], [start + 5, start + 6]]
    async for _page in store.pages(start, 2):
        break  # the next page is already on its way
    assert [e.decode(Noted).n for e in await store.read_all(start, 11)] == list(range(11))


async def test_guards_hold_in_a_batch_of_appends(store: EventStore) -> None:
    """Appends gathered into one ``copro_append_batch`` call each answer their own guard."""
    group, proposal = new_id(), f"guarded-{new_id()}"
    await store.append(group_id=group, stream_id=proposal, events=[noted(0)], expected_version=0)

    async def ballot(i: int, guard_version: int) -> int:
        result = await store.append(group_id=group, stream_id=f"ballot-{proposal}-{i}", events=[noted(i)],
                                    expected_version=0, guard=(proposal, guard_version))
        return result.stream_version

    store.batcher.busy += 1  # as if an append were on its way: every one below goes through the batcher
    try:
        outcomes = await asyncio.gather(*(ballot(i, 1 if i % 2 else 2) for i in range(10)), return_exceptions=True)
    finally:
        store.batcher.busy -= 1
    assert [isinstance(o, ConcurrencyConflict) for o in outcomes] == [i % 2 == 0 for i in range(10)]
    assert [o for o in outcomes if not isinstance(o, Exception)] == [1] * 5
    stored = await store.pool.fetchval("SELECT count(*) FROM events WHERE stream_id LIKE $1", f"ballot-{proposal}-%")
    assert stored == 5


def test_a_prepared_append_passes_every_field_in_order() -> None:
    """``PreparedAppend.args`` is written out by hand (for speed): it must still be every field, in order."""
    values = {f.name: object() for f in fields(PreparedAppend)}
    assert PreparedAppend(**values).args() == tuple(values.values())  # type: ignore[arg-type]


async def test_appends_go_on_after_their_held_connections_are_killed(store: EventStore, servers: Servers) -> None:
    """The connection an append takes alone and the flushers' ones are held from the pool: one killed
    under them is taken again, and at most the appends in flight on it fail."""
    group, stream = new_id(), f"held-{new_id()}"
    await store.append(group_id=group, stream_id=stream, events=[noted(0)], expected_version=0)
    store.batcher.busy += 1  # a batch too, so that a flusher holds its connection
    try:
        await asyncio.gather(*(store.append(group_id=group, stream_id=f"{stream}-{i}", events=[noted(i)],
                                            expected_version=0) for i in range(4)))
    finally:
        store.batcher.busy -= 1
    database, app = await store.pool.fetchrow("SELECT current_database(), current_user")
    admin = await asyncpg.connect(_admin_url(servers))
    try:  # every connection of the app role to this database: the store's, the signal's, the sealer's
        killed = await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                      " WHERE datname = $1 AND usename = $2", database, app)
    finally:
        await admin.close()
    assert killed >= 2
    # each connection the kill left in the pool may fail one append (asyncpg finds out by using it), then
    # the store takes a new one: appends succeed again, three in a row
    version, failures, in_a_row = 1, 0, 0
    while in_a_row < 3:
        try:
            await store.append(group_id=group, stream_id=stream, events=[noted(version)], expected_version=version)
            version, in_a_row = version + 1, in_a_row + 1
        except (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresConnectionError, OSError):
            failures, in_a_row = failures + 1, 0
            assert failures <= killed, "a dead connection is used again"
    store.batcher.busy += 1
    try:
        await asyncio.gather(*(store.append(group_id=group, stream_id=f"{stream}-b{i}", events=[noted(i)],
                                            expected_version=0) for i in range(4)), return_exceptions=True)
        results = await asyncio.gather(*(store.append(group_id=group, stream_id=f"{stream}-c{i}", events=[noted(i)],
                                                      expected_version=0) for i in range(4)))
    finally:
        store.batcher.busy -= 1
    assert [r.stream_version for r in results] == [1] * 4
    assert len(await store.read_stream(stream, unsealed=True)) == version


async def test_a_cancelled_append_leaves_the_next_one_a_working_connection(store: EventStore) -> None:
    """An append cancelled mid-call (a caller that gave up) must not hand its half-used connection on."""
    group = new_id()
    for i in range(20):
        task = asyncio.ensure_future(store.append(group_id=group, stream_id=f"cancelled-{group}-{i}",
                                                  events=[noted(i)], expected_version=0))
        await asyncio.sleep(random.uniform(0, 0.002))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        done = await store.append(group_id=group, stream_id=f"after-{group}-{i}", events=[noted(i)], expected_version=0)
        assert done.stream_version == 1

