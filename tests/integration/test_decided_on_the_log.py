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


async def cached(api: AsyncTestClient, operator: dict[str, str]) -> tuple[Group, str]:  # type: ignore[type-arg]
    """A group and an open proposal this replica has cached (its roster, group and proposal), by a first ballot."""
    group = await make_group(api, operator)
    pid = await proposal(api, group)
    assert (await vote(api, group, "member", pid)).status_code == 201
    return group, pid


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
    group, pid = await cached(api, operator)
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
    group, pid = await cached(api, operator)  # this replica's roster has the member
    removed = await replica.delete(f"{group.base}/members/{group.members['member']}", headers=operator)
    assert removed.status_code == 204, removed.text
    refused = await vote(api, group, "member", pid, "park")
    assert refused.status_code == 401, refused.text
    assert await ballots(database_url, pid) == 1


async def test_a_token_issued_by_another_replica_works_here_at_once(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    database_url: str,
) -> None:
    group, pid = await cached(api, operator)
    await add(replica, operator, group, "newcomer", "member", org=1)  # member and token made over there
    cast = await vote(api, group, "newcomer", pid)
    assert cast.status_code == 201, cast.text
    assert cast.headers["x-request-id"]
    assert await ballots(database_url, pid) == 2  # once, though it ran twice here


# -- review: what the re-run must not do ------------------------------------------------------------


async def events_of(database_url: str, pid: str, type_: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch("SELECT id, correlation_id, actor_id FROM events WHERE stream_id = $1"
                                     " AND type = $2 ORDER BY stream_version", f"decisions.proposal.{pid}", type_))
    finally:
        await conn.close()


async def test_an_append_whose_outcome_is_unknown_is_not_run_again(
    api: AsyncTestClient, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch,  # type: ignore[type-arg]
    database_url: str,
) -> None:
    """The first run's append was stored but its answer was lost (the connection dropped after the commit):
    that run did not append "nothing", so the request must not be run again (a second comment)."""
    group, pid = await cached(api, operator)  # the roster and the proposal are cached
    store = provide_kernel(api.app.state).store
    original = store._submit
    lost: list[int] = []

    async def committed_then_lost(prepared: Any) -> Any:
        answer = await original(prepared)
        if not lost:
            lost.append(1)
            raise ConnectionResetError("the connection dropped after the commit")
        return answer

    monkeypatch.setattr(store, "_submit", committed_then_lost)
    said = await api.post(f"{group.base}/proposals/{pid}/comments", headers=group.tokens["member"],
                          json={"text": "Said once"})
    assert lost == [1]
    assert len(await events_of(database_url, pid, "decisions.CommentAdded")) == 1, said.text


async def test_a_repeat_by_a_member_removed_elsewhere_is_refused_not_crashed(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    database_url: str,
) -> None:
    """The first run answers a repeated Idempotency-Key from the stored result (a response that went through
    the route's stack) on a stale roster; the second run must answer its own error, not crash on Litestar's
    "response started" flag the first run left in the scope."""
    group = await make_group(api, operator)
    pid = await proposal(api, group)
    once = {**group.tokens["member"], "Idempotency-Key": "ballot-1"}
    body = {"choice": {"option": "hall"}}
    assert (await api.post(f"{group.base}/proposals/{pid}/ballots", headers=once, json=body)).status_code == 201
    removed = await replica.delete(f"{group.base}/members/{group.members['member']}", headers=operator)
    assert removed.status_code == 204, removed.text
    again = await api.post(f"{group.base}/proposals/{pid}/ballots", headers=once, json=body)
    assert again.status_code == 401, again.text
    assert await ballots(database_url, pid) == 1


async def test_a_duplicate_key_answer_does_not_vouch_for_a_stale_roster(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch, database_url: str,
) -> None:
    """copro_append answers a known key before it checks the guard: that answer checked nothing, so a member
    removed by another replica is not told 201 (here the key's row lands between the handler's look-up and
    its append, as when the same request races itself)."""
    group = await make_group(api, operator)
    pid = await proposal(api, group)
    once = {**group.tokens["member"], "Idempotency-Key": "ballot-2"}
    body = {"choice": {"option": "hall"}}
    assert (await api.post(f"{group.base}/proposals/{pid}/ballots", headers=once, json=body)).status_code == 201
    removed = await replica.delete(f"{group.base}/members/{group.members['member']}", headers=operator)
    assert removed.status_code == 204, removed.text
    store = provide_kernel(api.app.state).store

    async def not_yet(*_: Any) -> None:
        return None

    monkeypatch.setattr(store, "idempotent_result", not_yet)
    again = await api.post(f"{group.base}/proposals/{pid}/ballots", headers=once, json=body)
    assert again.status_code == 401, again.text
    assert await ballots(database_url, pid) == 1


async def test_the_second_run_records_the_requests_correlation_id(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    database_url: str,
) -> None:
    group, pid = await cached(api, operator)
    await add(replica, operator, group, "newcomer", "member", org=1)  # this replica's roster is now stale
    request_id = "6f1c2a4e-0b7d-4e8a-9c3b-2d5e7f9a1b3c"
    said = await api.post(f"{group.base}/proposals/{pid}/comments", json={"text": "Here"},
                          headers={**group.tokens["newcomer"], "X-Request-Id": request_id})
    assert said.status_code == 201, said.text
    assert said.headers.get_list("x-request-id") == [request_id]
    [comment] = await events_of(database_url, pid, "decisions.CommentAdded")
    assert str(comment["correlation_id"]) == request_id
    assert str(comment["actor_id"]) == group.members["newcomer"]


@pytest.mark.parametrize("change", ["signed-out", "made-observer", "removed"])
async def test_a_change_recorded_by_another_replica_stops_every_flagged_route_here(
    api: AsyncTestClient, replica: AsyncTestClient, operator: dict[str, str],  # type: ignore[type-arg]
    database_url: str, change: str,
) -> None:
    group, pid = await cached(api, operator)  # cached here: roster, group, proposal
    member = group.members["member"]
    if change == "signed-out":
        done = await replica.post(f"{group.base}/sign-out", headers=group.tokens["member"])
    elif change == "made-observer":
        done = await replica.patch(f"{group.base}/members/{member}", headers=operator, json={"roles": ["observer"]})
    else:
        done = await replica.delete(f"{group.base}/members/{member}", headers=operator)
    assert done.status_code in (200, 201, 204), done.text
    refused = 403 if change == "made-observer" else 401
    base = f"{group.base}/proposals/{pid}"
    headers = group.tokens["member"]
    assert (await vote(api, group, "member", pid, "park")).status_code == refused
    assert (await api.post(f"{base}/comments", headers=headers, json={"text": "x"})).status_code == refused
    assert (await api.delete(f"{base}/ballots", headers=headers)).status_code == refused
    assert await ballots(database_url, pid) == 1
    assert await events_of(database_url, pid, "decisions.CommentAdded") == []
    assert await events_of(database_url, pid, "decisions.BallotRetracted") == []
