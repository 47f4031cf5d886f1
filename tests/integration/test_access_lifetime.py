"""How long access lasts: tokens that expire, streams that end when their token stops working, and what an
auditor may see of partner webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from shared.runtime.embedded import EmbeddedNats
from tests.conftest import eventually
from tests.integration.decisions_client import Group, add, bearer, make_group
from tests.integration.served import served


async def issue(api: AsyncTestClient, operator: dict[str, str], group: Group, member: str,  # type: ignore[type-arg]
                **body: Any) -> httpx.Response:
    return await api.post(f"{group.base}/members/{group.members[member]}/tokens", headers=operator,
                          json=body or None)


async def test_a_token_issued_with_an_expiry_stops_working_then_in_every_service(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient,  # type: ignore[type-arg]
    publishing: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    month = await issue(api, operator, group, "member", expires_in_days=30)
    assert month.status_code == 201, month.text
    until = datetime.fromisoformat(month.json()["expires_at"])
    assert timedelta(days=29, hours=23) < until - datetime.now(UTC) <= timedelta(days=30)
    assert (await api.get(group.base, headers=bearer(month.json()["token"]))).status_code == 200
    forever = await issue(api, operator, group, "member")
    assert forever.status_code == 201 and forever.json()["expires_at"] is None

    for body, field in (({"expires_in_days": 1, "expires_at": "2100-01-01T00:00:00+00:00"}, "expires_at"),
                        ({"expires_at": "2000-01-01T00:00:00+00:00"}, "expires_at"),
                        ({"expires_at": "2100-01-01T00:00:00"}, "expires_at"),
                        ({"expires_in_days": 0}, "expires_in_days")):
        refused = await issue(api, operator, group, "member", **body)
        assert refused.status_code in (400, 422), refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert field in refused.text, refused.text

    soon = await issue(api, operator, group, "member", expires_at=(datetime.now(UTC) + timedelta(seconds=2)).isoformat())
    headers = bearer(soon.json()["token"])
    reads = ((api, group.base), (scheduling, f"{group.base}/meetings"), (publishing, f"{group.base}/webhooks"))
    assert [(await c.get(path, headers=headers)).status_code for c, path in reads] == [200, 200, 403]

    async def expired() -> bool:
        return [(await c.get(path, headers=headers)).status_code for c, path in reads] == [401, 401, 401]

    await eventually(expired, 60, "the token expiring in every service")
    refused = await api.get(group.base, headers=headers)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await api.get(group.base, headers=bearer(forever.json()["token"]))).status_code == 200


@pytest.fixture(scope="module")
def served_publishing(api: AsyncTestClient, database_url: str, own_nats: EmbeddedNats,  # type: ignore[type-arg]
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served("publishing", database_url, own_nats, tmp_path_factory.mktemp("served")) as base:
        yield base


async def hold_stream(base: str, path: str, headers: dict[str, str], opened: asyncio.Event,
                      seen: list[str] | None = None) -> int:
    """Read a Server-Sent Events stream, as a browser's EventSource would, until the server ends it;
    how many events it delivered (their types go into ``seen`` as they come)."""
    count = 0
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)) as client, client.stream(
            "GET", path, headers={**headers, "Accept": "text/event-stream"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        opened.set()
        async for line in response.aiter_lines():
            count += line.startswith("data:")
            if seen is not None and line.startswith("event:"):
                seen.append(line.split(":", 1)[1].strip())
    return count


async def test_revoking_a_token_or_removing_or_forgetting_a_member_ends_their_open_streams(
    api: AsyncTestClient, operator: dict[str, str], served_publishing: str  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    for who in ("ada", "ben", "cai"):
        await add(api, operator, group, who, "member", org=1)
    expiring = await issue(api, operator, group, "observer",
                           expires_at=(datetime.now(UTC) + timedelta(seconds=4)).isoformat())
    group.tokens["expiring"] = bearer(expiring.json()["token"])
    path = f"{group.base}/events/stream"
    streams: dict[str, asyncio.Task[int]] = {}
    bystander_saw: list[str] = []
    for who in ("ada", "ben", "cai", "member", "expiring"):
        opened = asyncio.Event()
        streams[who] = asyncio.create_task(hold_stream(served_publishing, path, group.tokens[who], opened,
                                                       bystander_saw if who == "member" else None))
        await asyncio.wait_for(opened.wait(), 20)

    async def ended(who: str, within: float) -> float:
        """Seconds until the stream ended (the server closed it), at most ``within``."""
        began = asyncio.get_running_loop().time()
        await asyncio.wait_for(asyncio.shield(streams[who]), within)
        return asyncio.get_running_loop().time() - began

    tokens = (await api.get(f"{group.base}/members/{group.members['ada']}/history", headers=operator)).json()
    ada_token = next(e["data"]["token_id"] for e in tokens if e["type"] == "decisions.TokenIssued")
    assert (await api.delete(f"{group.base}/tokens/{ada_token}", headers=operator)).status_code == 204
    assert await ended("ada", 10) < 10
    assert not any(streams[who].done() for who in ("ben", "cai", "member"))
    assert (await api.delete(f"{group.base}/members/{group.members['ben']}", headers=operator)).status_code == 204
    assert await ended("ben", 10) < 10
    assert not any(streams[who].done() for who in ("cai", "member"))
    forgotten = await api.post(f"{group.base}/members/{group.members['cai']}/forget", headers=operator,
                               json={"consent": "asked in person"})
    assert forgotten.status_code == 200, forgotten.text
    assert await ended("cai", 10) < 10
    assert await ended("expiring", 15) < 15
    assert not streams["member"].done()  # everyone else's stream goes on, and sees all of it
    wanted = {"decisions.TokenRevoked", "decisions.MemberRemoved", "decisions.MemberForgotten"}
    await eventually(lambda: _saw(bystander_saw, wanted), 30, "the bystander's stream sees every change")
    for who in ("ada", "ben", "cai"):  # and they cannot open a new one
        refused = await httpx.AsyncClient(base_url=served_publishing).get(path, headers=group.tokens[who])
        assert refused.status_code == 401
    streams["member"].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await streams["member"]


async def test_an_auditor_reads_webhooks_and_deliveries_without_partner_endpoints_or_their_errors(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    url = "http://127.0.0.1:9/partner-secret-path"
    made = await publishing.post(f"{group.base}/webhooks", headers=group.tokens["facilitator"],
                                 json={"url": url, "start": "beginning"})
    assert made.status_code == 201, made.text
    hook = f"{group.base}/webhooks/{made.json()['subscription_id']}"

    async def attempted() -> bool:
        return bool((await publishing.get(f"{hook}/deliveries", headers=group.tokens["facilitator"])).json())

    await eventually(attempted, 60, "a delivery attempt to the closed port")
    full = (await publishing.get(f"{group.base}/webhooks", headers=group.tokens["facilitator"])).json()
    assert full[0]["url"] == url
    deliveries = (await publishing.get(f"{hook}/deliveries", headers=group.tokens["facilitator"])).json()
    assert any(d["error"] for d in deliveries)

    seen = (await publishing.get(f"{group.base}/webhooks", headers=group.tokens["auditor"])).json()
    assert [(w["subscription_id"], w["url"], w["last_error"]) for w in seen] == [(full[0]["subscription_id"], None, None)]
    assert seen[0]["status"] == full[0]["status"] and seen[0]["secret"] is None
    audited = (await publishing.get(f"{hook}/deliveries", headers=group.tokens["auditor"])).json()
    assert len(audited) >= len(deliveries) and all(d["error"] is None for d in audited)
    assert [d["attempt"] for d in audited[-len(deliveries):]] == [d["attempt"] for d in deliveries]
    letters = await publishing.get(f"{hook}/dead-letters", headers=group.tokens["auditor"])
    assert letters.status_code == 200 and all(d["error"] is None for d in letters.json())
    for body in (seen, audited, letters.json()):
        assert "127.0.0.1" not in str(body) and "partner-secret-path" not in str(body)
    for who in ("member", "observer"):
        assert (await publishing.get(f"{group.base}/webhooks", headers=group.tokens[who])).status_code == 403


async def test_a_calendar_feed_is_revoked_by_its_member_or_a_facilitator_and_ends_when_they_leave(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    await add(api, operator, group, "leaver", "member", org=2)
    base = f"{group.base}/calendar-feeds"
    mine = (await scheduling.post(base, params={"personal": "true"}, headers=group.tokens["member"])).json()
    shared = (await scheduling.post(base, headers=group.tokens["facilitator"])).json()
    for who in ("leaver", "observer", "auditor"):  # not theirs: someone else's, or the group's
        for feed in (mine, shared):
            refused = await scheduling.delete(f"{base}/{feed['feed_id']}", headers=group.tokens[who])
            assert refused.status_code == 403 and refused.json()["type"].endswith("forbidden"), refused.text
    assert (await scheduling.delete(f"{base}/{shared['feed_id']}", headers=group.tokens["member"])).status_code == 403
    assert (await scheduling.get(mine["url"])).status_code == 200  # still working: nobody else could revoke it
    assert (await scheduling.delete(f"{base}/{mine['feed_id']}", headers=group.tokens["member"])).status_code == 204
    assert (await scheduling.get(mine["url"])).status_code == 404

    theirs = (await scheduling.post(base, params={"personal": "true"}, headers=group.tokens["leaver"])).json()
    assert (await scheduling.get(theirs["url"])).status_code == 200
    assert (await api.delete(f"{group.base}/members/{group.members['leaver']}", headers=operator)).status_code == 204
    assert (await scheduling.get(theirs["url"])).status_code == 404
    assert (await scheduling.get(shared["url"])).status_code == 200


async def _saw(seen: list[str], wanted: set[str]) -> bool:
    return wanted <= set(seen)
