"""Random interleavings of concurrent appends keep the log's promises."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.errors import ConcurrencyConflict
from shared.domain.ids import new_id
from shared.eventlog.store import EventStore
from tests.conftest import wait_sealed
from tests.integration.events import noted

operation = st.tuples(st.integers(0, 2), st.integers(1, 3), st.booleans())  # stream, batch size, yield first
plans = st.lists(st.lists(operation, min_size=1, max_size=6), min_size=2, max_size=5)  # one list per writer


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=plans)
async def test_concurrent_appends_keep_versions_contiguous_and_reads_complete(
    store: EventStore, plans: list[list[tuple[int, int, bool]]]
) -> None:
    group = new_id()
    start = await store.head_position()
    streams = [f"prop-{group}-{k}" for k in range(3)]
    appended: list[object] = []

    async def writer(plan: list[tuple[int, int, bool]]) -> None:
        for stream_index, size, pause in plan:
            events = [noted(i) for i in range(size)]
            while True:
                if pause:
                    await asyncio.sleep(0)
                current = await store.read_stream(streams[stream_index])
                try:
                    await store.append(group_id=group, stream_id=streams[stream_index], events=events,
                                       expected_version=len(current))
                    break
                except ConcurrencyConflict:
                    continue
            appended.extend(e.id for e in events)

    await asyncio.gather(*(writer(plan) for plan in plans))
    for stream in streams:
        versions = [e.stream_version for e in await store.read_stream(stream)]
        assert versions == list(range(1, len(versions) + 1))
    await wait_sealed(store, start + len(appended))
    read = await store.read_all(start, 10_000, group_id=group)
    assert sorted(e.id for e in read) == sorted(appended)  # type: ignore[type-var]
    positions = [e.position for e in await store.read_all(start, 10_000)]
    assert positions == list(range(start + 1, start + len(positions) + 1))
