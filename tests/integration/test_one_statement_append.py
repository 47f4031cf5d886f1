"""An append of one event is one statement (``shared.eventlog.appending``): it stores what ``copro_append``
stores, inserts nothing when a check fails (the store then asks ``copro_append`` why), and appends going
alone on several lanes at once keep every invariant."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import msgspec
import pytest

from shared.domain.errors import ConcurrencyConflict, Forbidden, StaleState
from shared.domain.ids import new_id, utc_now
from shared.eventlog import integrity
from shared.eventlog.appending import ONE_EVENT, _one_event_args
from shared.eventlog.batching import PreparedAppend
from shared.eventlog.store import EventStore
from tests.conftest import wait_sealed
from tests.integration.events import noted


def prepared(group: uuid.UUID, stream: str, expected: int | None, *, key: str | None = None,
             guard: tuple[str, int] | None = None) -> PreparedAppend:
    event, at = noted(1), utc_now()
    payload = msgspec.json.encode(event.data)
    content = integrity.content_hasher(group_id=group, stream_id=stream, actor_id=None, actor_org=None,
                                       causation_id=None, correlation_id=None, recorded_at=at)(event.id, event.type, payload)
    return PreparedAppend(
        group_id=group, stream_id=stream, expected_version=expected, ids=[event.id], types=[event.type],
        payloads=[payload], hashes=[content], actor_id=None, actor_org=None, causation_id=None, correlation_id=None,
        recorded_at=at, idempotency_scope="scope" if key else "", idempotency_key=key, request_hash=b"h",
        guard_stream=None if guard is None else guard[0], guard_version=None if guard is None else guard[1],
    )


async def one_statement(store: EventStore, append: PreparedAppend) -> int | None:
    """The statement alone, as ``append_on`` sends it: the stream version stored, or None."""
    async with store.pool.acquire() as conn:
        version: int | None = await conn.fetchval(*_one_event_args(append))
        return version


async def stored(store: EventStore, stream: str) -> list[asyncpg.Record]:
    return await store.pool.fetch(
        "SELECT stream_version, content_hash, chain_hash FROM events WHERE stream_id = $1 ORDER BY stream_version", stream)


@pytest.mark.parametrize("guarded", [False, True])
@pytest.mark.parametrize("remembered", [False, True])
async def test_the_statement_stores_the_event_on_its_stream_chain(store: EventStore, guarded: bool,
                                                                  remembered: bool) -> None:
    group, stream, guard_stream = new_id(), f"one-{new_id()}", f"guard-{new_id()}"
    guard = (guard_stream, 0) if guarded else None
    for version in range(3):
        key = f"{stream}-{version}" if remembered else None
        append = prepared(group, stream, version, key=key, guard=guard)
        assert _one_event_args(append)[0] == ONE_EVENT[guarded, remembered]
        assert await one_statement(store, append) == version + 1
    rows = await stored(store, stream)
    assert [r["stream_version"] for r in rows] == [1, 2, 3]
    link = integrity.GENESIS
    for row in rows:  # the chain copro_append computes, extended by the statement
        link = integrity.chain(link, bytes(row["content_hash"]))
        assert bytes(row["chain_hash"]) == link
    # the function goes on from the statement's chain
    after = await store.append(group_id=group, stream_id=stream, events=[noted(1), noted(2)], expected_version=3)
    assert after.stream_version == 5
    rows = await stored(store, stream)
    assert bytes(rows[3]["chain_hash"]) == integrity.chain(link, bytes(rows[3]["content_hash"]))
    remembered_rows = await store.pool.fetchval("SELECT count(*) FROM idempotency WHERE stream_id = $1", stream)
    assert remembered_rows == (3 if remembered else 0)


async def test_a_failed_check_inserts_nothing_and_the_store_says_which(store: EventStore) -> None:
    group, stream, guard_stream = new_id(), f"one-{new_id()}", f"guard-{new_id()}"
    assert await one_statement(store, prepared(group, stream, 0)) == 1
    await store.append(group_id=group, stream_id=guard_stream, events=[noted(0)], expected_version=0)
    refused = {
        "expected version": (prepared(group, stream, 0), ConcurrencyConflict),
        "another group's stream": (prepared(new_id(), stream, 1), Forbidden),
        "a guard stream that moved": (prepared(group, stream, 1, guard=(guard_stream, 0)), StaleState),
    }
    for what, (append, error) in refused.items():
        assert await one_statement(store, append) is None, what
        with pytest.raises(error):
            await store.append(group_id=append.group_id, stream_id=stream, events=[noted(1)],
                               expected_version=append.expected_version,
                               guard=None if append.guard_stream is None else (guard_stream, 0))
    # a repeated idempotency key stores nothing more and answers the first append
    first = await store.append(group_id=group, stream_id=stream, events=[noted(1)], expected_version=None,
                               idempotency_key=f"again-{stream}", idempotency_scope="scope", request_hash=b"h")
    assert await one_statement(store, prepared(group, stream, None, key=f"again-{stream}")) is None
    again = await store.append(group_id=group, stream_id=stream, events=[noted(1)], expected_version=None,
                               idempotency_key=f"again-{stream}", idempotency_scope="scope", request_hash=b"h")
    assert again.duplicate and again.event_ids == first.event_ids
    assert [r["stream_version"] for r in await stored(store, stream)] == [1, 2]


async def test_writers_on_lanes_are_all_sealed_once_in_order(store: EventStore, lanes: EventStore) -> None:
    group, writers, each = new_id(), 8, 25
    before = await store.head_position()

    async def writer(w: int) -> None:
        for version in range(each):
            await lanes.append(group_id=group, stream_id=f"lane-{group}-{w}", events=[noted(version)],
                               expected_version=version)

    await asyncio.gather(*(writer(w) for w in range(writers)))
    await wait_sealed(store, before + writers * each)
    sealed = [e for e in await store.read_all(before, writers * each + 100) if e.group_id == group]
    assert len(sealed) == writers * each
    for w in range(writers):
        mine = [e for e in sealed if e.stream_id == f"lane-{group}-{w}"]
        assert [e.stream_version for e in mine] == list(range(1, each + 1))
        link = integrity.GENESIS
        for event in mine:
            link = integrity.chain(link, event.content_hash)
            assert event.chain_hash == link


async def test_lanes_leave_the_pool_room_to_read(database_url: str) -> None:
    """Each lane keeps a connection: a store whose lanes would take the whole pool is refused, not left to
    wait forever on its first read."""
    with pytest.raises(ValueError, match="lanes need a pool"):
        await EventStore.connect(database_url, min_size=1, max_size=4, lanes=3)
    fits = await EventStore.connect(database_url, min_size=1, max_size=2, lanes=1)  # one lane, as ever
    await fits.close()
