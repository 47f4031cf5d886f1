"""Partner delivery: signed webhooks in order through failures and outages, 410, dead letters; SSE resume."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from standardwebhooks.webhooks import Webhook

from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.eventlog.trace import system_actor
from shared.runtime.version import USER_AGENT
from tests.conftest import eventually, until
from tests.integration.decisions_client import Group, make_group
from tests.integration.events import PersonJoined, noted
from tests.integration.receiver import Receiver
from tests.integration.served import served


async def subscribe(publishing: AsyncTestClient, group: Group, url: str, **extra: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    made = await publishing.post(f"{group.base}/webhooks", headers=group.tokens["facilitator"], json={"url": url, **extra})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def append(store: EventStore, group: Group, count: int, start: int = 0) -> None:
    gid = uuid.UUID(group.id)
    for n in range(start, start + count, 50):
        await store.append(group_id=gid, stream_id=f"hook-{gid}-{n}", expected_version=0,
                           events=[noted(i) for i in range(n, min(n + 50, start + count))])


def numbers(receiver: Receiver) -> list[int]:
    seen, out = set(), []
    for headers, body in receiver.received:
        if headers["webhook-id"] in seen:
            continue  # what a receiver does with a repeat: ignore it by webhook-id
        seen.add(headers["webhook-id"])
        event = msgspec.json.decode(body)
        if event["type"] == "test.Noted":
            out.append(event["data"]["n"])
    return out


async def test_signed_deliveries_arrive_once_in_order_after_failures(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    group = await make_group(api, operator)
    hook = await subscribe(publishing, group, receiver.url, event_types=["test.*"])
    assert hook["secret"].startswith("whsec_")
    receiver.fail_next = 3
    await append(store, group, 20)
    await until(lambda: len(numbers(receiver)) == 20)
    assert numbers(receiver) == list(range(20))
    person = new_id()
    await store.append(group_id=uuid.UUID(group.id), stream_id=f"person-{person}", expected_version=0, events=[
        NewEvent(id=new_id(), type="test.PersonJoined", data=PersonJoined(person_id=person, name="Ama Mensah"))])
    await until(lambda: any(msgspec.json.decode(b)["type"] == "test.PersonJoined" for _, b in receiver.received))
    verifier = Webhook(hook["secret"])
    for headers, body in receiver.received:
        verifier.verify(body, headers)  # raises if a signature is wrong
        assert headers["content-type"] == "application/cloudevents+json"  # a structured-mode CloudEvent
        assert headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("copro/")
        event = msgspec.json.decode(body)
        assert event["specversion"] == "1.0" and event["source"] == "/copro/test"  # as on NATS and in exports
        # the name is decrypted for the partner, so that data no longer hashes to contenthash, and says so
        assert event["dataopened"] is (event["type"] == "test.PersonJoined"), event
    log = (await publishing.get(f"{group.base}/webhooks/{hook['subscription_id']}/deliveries",
                                headers=group.tokens["facilitator"])).json()
    assert sum(1 for d in log if d["status"] == 503) == 3 and sum(1 for d in log if d["status"] == 200) == 21


async def test_an_endpoint_down_while_1000_events_are_appended_gets_them_all_in_order(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    group = await make_group(api, operator)
    await subscribe(publishing, group, receiver.url, event_types=["test.*"])
    receiver.stop()
    await append(store, group, 1000)
    await asyncio.sleep(1.0)
    receiver.start()
    await until(lambda: len(numbers(receiver)) == 1000, 60)
    assert numbers(receiver) == list(range(1000))


async def test_410_gone_disables_the_webhook(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    group = await make_group(api, operator)
    hook = await subscribe(publishing, group, receiver.url)
    receiver.status = 410
    await append(store, group, 3)

    async def disabled() -> bool:
        hooks = (await publishing.get(f"{group.base}/webhooks", headers=group.tokens["facilitator"])).json()
        return bool(hooks) and hooks[0]["status"] == "disabled"

    for _ in range(1200):
        if await disabled():
            break
        await asyncio.sleep(0.05)
    assert await disabled()
    receiver.status = 200
    await append(store, group, 3, start=100)
    await asyncio.sleep(0.5)
    assert numbers(receiver) == []
    assert hook["subscription_id"]
    # the delivery job disabled it, caused by the one delivery the endpoint refused for good
    [disabling] = [r for r in await store.read_stream(f"publishing.webhook.{hook['subscription_id']}")
                   if r.type == "publishing.WebhookDisabled"]
    assert disabling.metadata.actor_id == system_actor("delivery")
    refused_group = await store.pool.fetchval("SELECT group_id FROM events WHERE id = $1 AND id <> $2",
                                              disabling.metadata.causation_id, disabling.id)
    assert refused_group == disabling.group_id


async def test_webhooks_are_for_facilitators_and_invisible_to_other_groups(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, receiver: Receiver  # type: ignore[type-arg]
) -> None:
    group, other = await make_group(api, operator), await make_group(api, operator)
    body = {"url": receiver.url}
    assert (await publishing.post(f"{group.base}/webhooks", headers=group.tokens["member"], json=body)).status_code == 403
    assert (await publishing.post(f"{group.base}/webhooks", headers=other.tokens["facilitator"],
                                  json=body)).status_code == 404
    bad = await publishing.post(f"{group.base}/webhooks", headers=group.tokens["facilitator"], json={"url": "ftp://x.y/z"})
    assert bad.status_code == 422 and bad.json()["field"] == "url"
    assert (await publishing.get(f"{group.base}/webhooks", headers=operator)).status_code == 200


@pytest.fixture
def served_publishing(database_url: str, own_nats: Any, tmp_path: Any) -> Iterator[str]:
    """The publishing service under uvicorn in its own process: streams need a real connection to close."""
    with served("publishing", database_url, own_nats, tmp_path) as base:
        yield base


async def read_sse(base: str, path: str, headers: dict[str, str], count: int) -> list[tuple[int, int]]:
    """(position, n) of the first ``count`` events the stream sends, then disconnect."""
    got: list[tuple[int, int]] = []
    event_id = None
    async with httpx.AsyncClient(base_url=base, timeout=20) as client, client.stream(
            "GET", path, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:"):
                data = msgspec.json.decode(line[5:].strip())
                if data["type"] != "test.Noted":
                    continue  # the group's own decisions events travel too
                got.append((event_id or 0, data["data"]["n"]))
                if len(got) == count:
                    break
    return got


async def test_server_sent_events_resume_after_last_event_id_without_gap_or_repeat(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, served_publishing: str  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    start = await store.head_position()
    await append(store, group, 30)
    path = f"{group.base}/events/stream?after={start}"
    first = await asyncio.wait_for(read_sse(served_publishing, path, group.tokens["member"], 12), 30)
    resumed = await asyncio.wait_for(read_sse(served_publishing, f"{group.base}/events/stream",
                                              {**group.tokens["member"], "Last-Event-ID": str(first[-1][0])}, 18), 30)
    assert [n for _, n in first + resumed] == list(range(30))
    positions = [p for p, _ in first + resumed]
    assert positions == sorted(positions) and len(set(positions)) == 30


async def test_retry_after_is_honoured_and_what_keeps_failing_is_dead_lettered_then_redriven(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    group = await make_group(api, operator)
    hook = await subscribe(publishing, group, receiver.url, event_types=["test.*"])
    base = f"{group.base}/webhooks/{hook['subscription_id']}"
    receiver.fail_next, receiver.retry_after = 1, "1"
    await append(store, group, 1)
    await until(lambda: len(numbers(receiver)) == 1)
    log = (await publishing.get(f"{base}/deliveries", headers=group.tokens["facilitator"])).json()
    times = sorted(datetime.fromisoformat(d["at"]) for d in log)
    assert len(times) == 2 and (times[1] - times[0]).total_seconds() >= 0.9  # waited as the endpoint asked

    receiver.retry_after, receiver.status = None, 500
    await append(store, group, 3, start=10)

    async def dead() -> list[Any]:
        return (await publishing.get(f"{base}/dead-letters", headers=group.tokens["facilitator"])).json()  # type: ignore[no-any-return]

    for _ in range(1200):
        if len(await dead()) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(await dead()) == 3  # given up after COPRO_WEBHOOK_GIVE_UP_AFTER seconds each, in order
    receiver.status = 200
    redriven = await publishing.post(f"{base}/dead-letters/redrive", headers=group.tokens["facilitator"])
    assert redriven.status_code == 200 and redriven.json() == {"delivered": 3, "still_failing": 0}
    assert numbers(receiver) == [0, 10, 11, 12]
    assert all(d["redriven_at"] for d in await dead())


def _tail(base: str, group: Group, operator_token: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.runtime.cli", "tail", group.id, "--url", base, "--token", operator_token,
         "--after", "0", *extra], capture_output=True, text=True, timeout=60)


async def test_copro_tail_shows_a_groups_events_filtered_and_resumable(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, served_publishing: str  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    await append(store, group, 5)
    token = operator["Authorization"].split()[1]
    await eventually(lambda: _sealed_noted(store, uuid.UUID(group.id), 5), what="the five events sealed")

    shown = await asyncio.to_thread(_tail, served_publishing, group, token, "--type", "test.Noted", "--count", "5")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 5 and all("test.Noted" in line for line in lines)
    assert [json.loads(line.split("  by ", 1)[1].split("  ", 1)[1])["n"] for line in lines] == [0, 1, 2, 3, 4]

    decisions_only = await asyncio.to_thread(_tail, served_publishing, group, token, "--service", "decisions",
                                             "--json", "--count", "3")
    events = [json.loads(line) for line in decisions_only.stdout.splitlines()]
    assert [e["type"].split(".")[0] for e in events] == ["decisions"] * 3
    resumed = await asyncio.to_thread(_tail, served_publishing, group, token, "--json", "--count", "1",
                                      "--after", str(events[0]["position"]))
    assert json.loads(resumed.stdout)["position"] > events[0]["position"]
    refused = await asyncio.to_thread(_tail, served_publishing, group, "not-a-token", "--count", "1")
    assert refused.returncode == 1 and "401" in refused.stderr


async def _sealed_noted(store: EventStore, group: uuid.UUID, count: int) -> bool:
    return len([e for e in await store.read_all(0, 10_000, group_id=group) if e.type == "test.Noted"]) >= count
