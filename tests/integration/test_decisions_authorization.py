"""Every route, every role, and a token of another group: the exact status each gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import Group, make_group, soon

WHO = ("operator", "facilitator", "member", "observer", "auditor", "other", "anonymous")


@pytest.fixture(scope="module")
async def world(api: AsyncTestClient, operator: dict[str, str]) -> dict[str, Any]:  # type: ignore[type-arg]
    group = await make_group(api, operator)
    other = await make_group(api, operator)
    headers = {**group.tokens, "operator": operator, "other": other.tokens["member"], "anonymous": {}}
    return {"group": group, "headers": headers}


async def new_proposal(api: AsyncTestClient, group: Group) -> str:  # type: ignore[type-arg]
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"],
                          json={"kind": "consent", "title": "Use the quiet room", "closes_at": soon(days=3)})
    assert made.status_code == 201, made.text
    return f"{group.base}/proposals/{made.json()['proposal_id']}"


Action = Callable[[AsyncTestClient, Group, dict[str, str]], Awaitable[Any]]  # type: ignore[type-arg]


async def _new_member(api, group, operator):  # type: ignore[no-untyped-def]
    return (await api.post(f"{group.base}/members", headers=operator, json={
        "name": "Temp", "organisation_id": group.orgs[0]})).json()["member_id"]


ROUTES: dict[str, tuple[Action, dict[str, int]]] = {}


def route(name: str, **expected: int) -> Callable[[Action], Action]:
    def register(action: Action) -> Action:
        ROUTES[name] = (action, expected)
        return action
    return register


READERS = {"operator": 200, "facilitator": 200, "member": 200, "observer": 200, "auditor": 200}
MANAGERS = {"operator": 200, "facilitator": 200, "member": 403, "observer": 403, "auditor": 403}
VOTERS = {"operator": 403, "facilitator": 201, "member": 201, "observer": 403, "auditor": 403}


@route("create group", operator=201, facilitator=403, member=403, observer=403, auditor=403, other=403)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post("/groups", headers=h, json={"name": "x", "organisations": [{"name": "a"}]})


@route("read group", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(group.base, headers=h)


@route("list members", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(f"{group.base}/members", headers=h)


@route("add member", **{**MANAGERS, "operator": 201, "facilitator": 201})
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{group.base}/members", headers=h, json={"name": "N", "organisation_id": group.orgs[1]})


@route("update member", **MANAGERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    member = await _new_member(api, group, op)
    return await api.patch(f"{group.base}/members/{member}", headers=h, json={"lived_experience": True})


@route("remove member", **{**MANAGERS, "operator": 204, "facilitator": 204})
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    member = await _new_member(api, group, op)
    return await api.delete(f"{group.base}/members/{member}", headers=h)


@route("issue token", **{**MANAGERS, "operator": 201, "facilitator": 201})
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{group.base}/members/{group.members['member']}/tokens", headers=h)


@route("revoke token", **{**MANAGERS, "operator": 204, "facilitator": 204})
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    member = await _new_member(api, group, op)
    token = (await api.post(f"{group.base}/members/{member}/tokens", headers=op)).json()["token_id"]
    return await api.delete(f"{group.base}/tokens/{token}", headers=h)


@route("adopt rule", **MANAGERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.put(f"{group.base}/rule", headers=h, json={"counting": "organisation_parity"})


@route("open proposal", **VOTERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{group.base}/proposals", headers=h,
                          json={"kind": "consent", "title": "t", "closes_at": soon(days=1)})


@route("list proposals", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(f"{group.base}/proposals", headers=h)


@route("read proposal", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(await new_proposal(api, group), headers=h)


@route("proposal history", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(f"{await new_proposal(api, group)}/history", headers=h)


@route("cast ballot", **VOTERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{await new_proposal(api, group)}/ballots", headers=h, json={"choice": {"stance": "agree"}})


@route("retract ballot", **{**VOTERS, "facilitator": 204, "member": 204})
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    url = await new_proposal(api, group)
    for label in ("facilitator", "member"):
        await api.post(f"{url}/ballots", headers=group.tokens[label], json={"choice": {"stance": "agree"}})
    return await api.delete(f"{url}/ballots", headers=h)


@route("close early", operator=403, facilitator=200, member=403, observer=403, auditor=403)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{await new_proposal(api, group)}/close", headers=h)


@route("amend", operator=403, facilitator=200, member=200, observer=403, auditor=403)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{await new_proposal(api, group)}/amend", headers=h, json={"title": "Clearer"})


@route("withdraw", operator=403, facilitator=200, member=200, observer=403, auditor=403)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{await new_proposal(api, group)}/withdraw", headers=h, json={"reason": "r"})


@route("comment", **VOTERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.post(f"{await new_proposal(api, group)}/comments", headers=h, json={"text": "Good idea"})


@route("member history", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(f"{group.base}/members/{group.members['member']}/history", headers=h)


@route("group as of a time", **READERS)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get(f"{group.base}/as-of", params={"time": soon(seconds=0)}, headers=h)


@route("read the whole log", operator=200, facilitator=403, member=403, observer=403, auditor=403, other=403)
async def _(api, group, h, op):  # type: ignore[no-untyped-def]
    return await api.get("/log", headers=h)


CASES = [(name, who) for name in ROUTES for who in WHO]


@pytest.mark.parametrize(("name", "who"), CASES, ids=[f"{n}-{w}" for n, w in CASES])
async def test_route_answers_each_role_exactly(
    api: AsyncTestClient, world: dict[str, Any], operator: dict[str, str], name: str, who: str  # type: ignore[type-arg]
) -> None:
    action, expected = ROUTES[name]
    want = expected.get(who, 401 if who == "anonymous" else 404)
    response = await action(api, world["group"], world["headers"][who], operator)
    assert response.status_code == want, f"{name} as {who}: {response.status_code} {response.text}"
    if want >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
