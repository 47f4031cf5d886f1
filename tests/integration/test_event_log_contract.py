"""One test suite for every event log: the in-memory store of the unit tests and the PostgreSQL store.

The handler's semantics (expected version, idempotency by event ids and by
key, stream order) must be the same whichever log it runs on, or a handler
test on the in-memory store would prove nothing about production.
"""

from __future__ import annotations

import uuid

import msgspec
import pytest

from shared.domain.errors import ConcurrencyConflict, IdempotencyMismatch
from shared.eventlog.envelope import NewEvent
from shared.eventlog.memory import InMemoryEventStore
from shared.eventlog.store import EventLog, EventStore


class Noted(msgspec.Struct, tag="test.Noted"):
    text: str


@pytest.fixture(params=["memory", "postgres"])
def log(request: pytest.FixtureRequest, store: EventStore) -> EventLog:
    return InMemoryEventStore() if request.param == "memory" else store


def _events(*texts: str) -> list[NewEvent]:
    return [NewEvent(id=uuid.uuid4(), type="test.Noted", data=Noted(text=t)) for t in texts]


async def test_appends_keep_stream_order_and_versions(log: EventLog) -> None:
    group, stream = uuid.uuid4(), f"test.{uuid.uuid4()}"
    first = await log.append(group_id=group, stream_id=stream, events=_events("a", "b"), expected_version=0)
    second = await log.append(group_id=group, stream_id=stream, events=_events("c"), expected_version=2)
    assert (first.stream_version, second.stream_version) == (2, 3)
    read = await log.read_stream(stream)
    assert [msgspec.json.decode(r.data, type=Noted).text for r in read] == ["a", "b", "c"]
    assert [r.stream_version for r in read] == [1, 2, 3]
    assert [r.stream_version for r in await log.read_stream(stream, after_version=2)] == [3]


async def test_a_stale_append_is_a_conflict_and_stores_nothing(log: EventLog) -> None:
    group, stream = uuid.uuid4(), f"test.{uuid.uuid4()}"
    await log.append(group_id=group, stream_id=stream, events=_events("a"), expected_version=0)
    with pytest.raises(ConcurrencyConflict):
        await log.append(group_id=group, stream_id=stream, events=_events("stale"), expected_version=0)
    assert len(await log.read_stream(stream)) == 1


async def test_resending_the_same_events_stores_them_once(log: EventLog) -> None:
    group, stream = uuid.uuid4(), f"test.{uuid.uuid4()}"
    events = _events("once")
    first = await log.append(group_id=group, stream_id=stream, events=events, expected_version=0)
    again = await log.append(group_id=group, stream_id=stream, events=events, expected_version=0)
    assert not first.duplicate and again.duplicate
    assert again.stream_version == first.stream_version == 1
    assert len(await log.read_stream(stream)) == 1


async def test_an_idempotency_key_answers_the_first_result_and_refuses_another_request(log: EventLog) -> None:
    group, stream = uuid.uuid4(), f"test.{uuid.uuid4()}"
    key = f"key-{uuid.uuid4()}"
    first = await log.append(group_id=group, stream_id=stream, events=_events("x"), expected_version=0,
                             idempotency_key=key, idempotency_scope="s", request_hash=b"h1")
    again = await log.append(group_id=group, stream_id=stream, events=_events("x"), expected_version=None,
                             idempotency_key=key, idempotency_scope="s", request_hash=b"h1")
    assert again.duplicate and again.event_ids == first.event_ids
    prior = await log.idempotent_result("s", key, b"h1")
    assert prior is not None and prior.event_ids == first.event_ids
    with pytest.raises(IdempotencyMismatch):
        await log.idempotent_result("s", key, b"another request")
    assert len(await log.read_stream(stream)) == 1


async def test_a_guarded_append_is_a_conflict_once_the_guard_stream_moved(log: EventLog) -> None:
    group, proposal, ballots = uuid.uuid4(), f"test.{uuid.uuid4()}", f"test.{uuid.uuid4()}"
    with pytest.raises(ConcurrencyConflict):  # the guard stream does not exist: only 0 passes
        await log.append(group_id=group, stream_id=ballots, events=_events("b"), expected_version=None,
                         guard=(proposal, 1))
    await log.append(group_id=group, stream_id=proposal, events=_events("opened"), expected_version=0)
    await log.append(group_id=group, stream_id=proposal, events=_events("closed"), expected_version=1)
    with pytest.raises(ConcurrencyConflict):
        await log.append(group_id=group, stream_id=ballots, events=_events("late"), expected_version=0,
                         guard=(proposal, 1))
    assert await log.read_stream(ballots) == []


async def test_a_guarded_append_goes_through_while_the_guard_stream_stands(log: EventLog) -> None:
    group, proposal, ballots = uuid.uuid4(), f"test.{uuid.uuid4()}", f"test.{uuid.uuid4()}"
    first = await log.append(group_id=group, stream_id=ballots, events=_events("before"), expected_version=0,
                             guard=(proposal, 0))
    await log.append(group_id=group, stream_id=proposal, events=_events("opened"), expected_version=0)
    second = await log.append(group_id=group, stream_id=ballots, events=_events("b"), expected_version=1,
                              guard=(proposal, 1))
    assert (first.stream_version, second.stream_version) == (1, 2)
    assert [msgspec.json.decode(r.data, type=Noted).text for r in await log.read_stream(ballots)] == ["before", "b"]
    assert len(await log.read_stream(proposal)) == 1
