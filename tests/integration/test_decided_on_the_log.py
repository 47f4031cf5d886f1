"""Writes decided on a cached roster are checked by their append, and run again on fresh state.

A ballot does not read the group's stream when this process's roster of it is
current as far as it knows: its append checks, in the same round trip, that
the group is still at that version (``trace.assume``, the append's guard). When
another process changed the group meanwhile, the request runs again on what the
log says now, so what a member is told was always decided on the log as it is.
Two decisions apps on one database stand for two replicas with their own caches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from shared.web.kernel import provide_kernel
from tests.integration.decisions_client import Group, add, make_group, soon


@pytest.fixture(scope="module")
async def replica(api: AsyncTestClient) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A second decisions process on the same database and NATS, with caches of its own."""
    from services.decisions.app import create_app

    async with AsyncTestClient(app=create_app()) as client:
        yield client


async def proposal(api: AsyncTestClient, group: Group) -> str:  # type: ignore[type-arg]
    opened = await api.post(f"{group.base}/proposals", headers=group.tokens["facilitator"], json={
        "kind": "choice", "title": "Where we meet", "closes_at": soon(days=1),
        "options": [{"id": "hall", "label": "The hall"}, {"id": "park", "label": "The park"}]})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["proposal_id"])


async def vote(api: AsyncTestClient, group: Group, label: str, pid: str, option: str = "hall") -> Any:  # type: ignore[type-arg]
    return await api.post(f"{group.base}/proposals/{pid}/ballots", headers=group.tokens[label],
                          json={"choice": {"option": option}})


async def ballots(database_url: str, pid: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events WHERE stream_id = $1 AND type = $2",
                                       f"decisions.proposal.{pid}", "decisions.BallotCast"))
    finally:
        await conn.close()


async def test_a_ballot_does_not_read_the_group_again_while_nothing_changed_it(
    api: AsyncTestClient, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch,  # type: ignore[type-arg]
    database_url: str,
) -> None:
    group = await make_group(api, operator)
    pid = await proposal(api, group)
    assert (await vote(api, group, "member", pid)).status_code == 201
    store = provide_kernel(api.app.state).store
    reads: list[str] = []
    original = store.read_stream

    async def counted(stream_id: str, *args: Any, **kwargs: Any) -> Any:
        reads.append(stream_id)
        return await original(stream_id, *args, **kwargs)

    monkeypatch.setattr(store, "read_stream", counted)
    for option in ("park", "hall", "park"):
        assert (await vote(api, group, "member", pid, option)).status_code == 201
    assert [r for r in reads if r.startswith("decisions.group.")] == []
    assert await ballots(database_url, pid) == 4


async def test_a_member_removed_by_another_replica_cannot_vote_here(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    database_url: str,
) -> None:
    group = await make_group(api, operator)
    pid = await proposal(api, group)
    assert (await vote(api, group, "member", pid)).status_code == 201  # this replica's roster has the member
    removed = await replica.delete(f"{group.base}/members/{group.members['member']}", headers=operator)
    assert removed.status_code == 204, removed.text
    refused = await vote(api, group, "member", pid, "park")
    assert refused.status_code == 401, refused.text
    assert await ballots(database_url, pid) == 1


async def test_a_token_issued_by_another_replica_works_here_at_once(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    database_url: str,
) -> None:
    group = await make_group(api, operator)
    pid = await proposal(api, group)
    assert (await vote(api, group, "member", pid)).status_code == 201
    await add(replica, operator, group, "newcomer", "member", org=1)  # member and token made over there
    cast = await vote(api, group, "newcomer", pid)
    assert cast.status_code == 201, cast.text
    assert cast.headers["x-request-id"]
    assert await ballots(database_url, pid) == 2  # once, though it ran twice here
