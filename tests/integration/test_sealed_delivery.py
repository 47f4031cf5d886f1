"""What leaves copro for members and partners: Server-Sent Events and `*` webhooks carry sealed ballots until
the close, and no webhook signing secret travels in any event, message, delivery or export."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from standardwebhooks.webhooks import Webhook

from shared.access.secrets import fingerprint
from shared.audit.export import export_lines
from shared.domain.ids import new_id, utc_now
from shared.eventlog import sealing
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.runtime.embedded import EmbeddedNats
from shared.runtime.settings import Settings
from tests.conftest import until, wait_sealed
from tests.integration.decisions_client import Group, make_group
from tests.integration.receiver import Receiver
from tests.integration.served import served
from tests.integration.test_sealed_ballots import REASON, Sealed, assert_sealed, sealed_vote


@pytest.fixture
def publishing_served(database_url: str, own_nats: EmbeddedNats, settings: Settings) -> Iterator[str]:
    """The publishing service under uvicorn in its own process (a stream needs a real connection),
    with the same COPRO_HOME (so the same secrets key) as the in-process services."""
    with served("publishing", database_url, own_nats, settings.home) as base:
        yield base


async def read_sse(base: str, path: str, headers: dict[str, str], until: str, wanted: int = 1) -> list[str]:
    """The data lines a stream sends until ``wanted`` events of type ``until`` came, then disconnect."""
    got: list[str] = []
    seen = 0
    async with httpx.AsyncClient(base_url=base, timeout=20) as client, client.stream(
            "GET", path, headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                got.append(line[5:].strip())
                seen += msgspec.json.decode(got[-1])["type"] == until
                if seen == wanted:
                    break
    return got


def of_type(lines: list[str] | list[bytes], event_type: str) -> list[dict[str, Any]]:
    events = [msgspec.json.decode(line) for line in lines]
    return [e for e in events if e.get("type") == event_type]


async def register(client: httpx.AsyncClient | AsyncTestClient, group: Group, url: str,  # type: ignore[type-arg]
                   **extra: Any) -> dict[str, Any]:
    made = await client.post(f"{group.base}/webhooks", headers=group.tokens["facilitator"], json={"url": url, **extra})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    assert body["secret"].startswith("whsec_") and body["secret_fingerprint"] == fingerprint(body["secret"])
    return body


async def test_server_sent_events_carry_sealed_ballots_and_no_webhook_secret_until_the_close(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, publishing_served: str  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    start = await store.head_position()
    async with httpx.AsyncClient(base_url=publishing_served, timeout=20) as client:
        hook = await register(client, group, "https://crm.example.org/hooks")
    vote = await sealed_vote(api, operator, group=group)
    path = f"{group.base}/events/stream?after={start}"
    for who in ("member", "observer"):  # the voter and someone who did not vote: sealed for both
        lines = await asyncio.wait_for(read_sse(publishing_served, path, group.tokens[who], "decisions.BallotCast", 2), 30)
        assert_sealed([e["data"] for e in of_type(lines, "decisions.BallotCast")])
        assert not any(REASON in line or hook["secret"] in line for line in lines)
        [registered] = of_type(lines, "publishing.WebhookRegistered")
        assert registered["data"]["secret_fingerprint"] == hook["secret_fingerprint"]
        assert "secret" not in registered["data"]

    assert (await api.post(f"{vote.url}/close", headers=group.tokens["facilitator"])).status_code == 200
    lines = await asyncio.wait_for(read_sse(publishing_served, path, group.tokens["observer"], "decisions.ProposalClosed"), 30)
    opened = [e["data"] for e in of_type(lines, "decisions.BallotCast")]
    assert {(b["choice"]["option"], b["reason"]) for b in opened} == {(vote.library, REASON), (vote.hall, None)}
    assert not any(hook["secret"] in line for line in lines)


def bodies(receiver: Receiver) -> list[bytes]:
    return [body for _, body in receiver.received]




async def test_a_star_webhook_gets_sealed_ballots_and_no_other_partners_secret(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, receiver: Receiver,  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    mine = await register(publishing, group, receiver.url, event_types=["*"])
    theirs = await register(publishing, group, "https://other-partner.example.org/hooks", event_types=["*"])
    vote: Sealed = await sealed_vote(api, operator, group=group)
    await until(lambda: len(of_type(bodies(receiver), "decisions.BallotCast")) == 2)
    assert_sealed([e["data"] for e in of_type(bodies(receiver), "decisions.BallotCast")])
    assert not any(REASON.encode() in body for body in bodies(receiver))
    # the other partner's registration arrives, with its fingerprint and never its secret (nor ours)
    [registered] = [e for e in of_type(bodies(receiver), "publishing.WebhookRegistered")
                    if e["data"]["subscription_id"] == theirs["subscription_id"]]
    assert registered["data"]["secret_fingerprint"] == theirs["secret_fingerprint"]
    for secret in (mine["secret"], theirs["secret"]):
        assert not any(secret.encode() in body for body in bodies(receiver))
    verifier = Webhook(mine["secret"])  # deliveries are still signed with the secret shown once
    for headers, body in receiver.received:
        verifier.verify(body.decode(), headers)

    assert (await api.post(f"{vote.url}/close", headers=group.tokens["facilitator"])).status_code == 200
    await until(lambda: len(of_type(bodies(receiver), "decisions.ProposalClosed")) == 1)
    [closing] = of_type(bodies(receiver), "decisions.ProposalClosed")
    released = sealing.released_key(msgspec.json.encode(closing["data"]))
    assert released is not None
    keys = dict([released])  # the partner opens the ballots it received sealed, with the key the close released
    opened = [msgspec.json.decode(sealing.unseal(msgspec.json.encode(e["data"]), uuid.UUID(e["id"]), keys))
              for e in of_type(bodies(receiver), "decisions.BallotCast")]
    assert {o["choice"]["option"] for o in opened} == {vote.hall, vote.library}
    listed = (await publishing.get(f"{group.base}/webhooks", headers=group.tokens["facilitator"])).json()
    assert {w["secret"] for w in listed} == {None}  # shown once, at creation
    assert {w["secret_fingerprint"] for w in listed} == {mine["secret_fingerprint"], theirs["secret_fingerprint"]}


async def test_no_webhook_secret_is_in_any_stored_event_decrypted_read_or_export(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    hook = await register(publishing, group, "https://crm.example.org/hooks")
    secret = hook["secret"].encode()
    total = await store.pool.fetchval("SELECT count(*) FROM events")
    await wait_sealed(store, total)
    for row in await store.pool.fetch("SELECT payload FROM events"):
        assert secret not in row["payload"]
    assert not any(secret in bytes(e.data) for e in await store.read_all(0, 100_000))  # what SSE and webhooks send
    lines = [chunk async for chunk in export_lines(store)]
    assert not any(secret in chunk for chunk in lines)
    for table in [r["tablename"] for r in await store.pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]:  # kept encrypted, even in its table
        for row in await store.pool.fetch(f'SELECT * FROM "{table}"'):
            assert not any(secret in (v if isinstance(v, bytes) else str(v).encode()) for v in row.values()), table


class LegacyRegistered(msgspec.Struct, kw_only=True, tag="publishing.WebhookRegistered"):
    """A registration as it was recorded before the secret left the log: the secret in the event,
    encrypted with a data key of the subscription's own."""

    __personal__ = ("secret",)
    __subject__ = "subscription_id"
    subscription_id: uuid.UUID
    group_id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    secret: str | None
    start_after: int
    by: uuid.UUID | None
    at: Any


async def test_a_webhook_registered_with_its_secret_in_the_event_keeps_working_and_that_copy_is_shredded(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    group = await make_group(api, operator)
    gid, subscription = uuid.UUID(group.id), new_id()
    secret = "whsec_" + "bGVnYWN5LXNlY3JldC1mb3ItdGVzdHM="
    start = await store.head_position()
    await store.pool.execute("INSERT INTO webhook_cursors (subscription_id, group_id, position) VALUES ($1, $2, $3)",
                             subscription, gid, start)
    old = LegacyRegistered(subscription_id=subscription, group_id=gid, url=receiver.url, event_types=("decisions.*",),
                           secret=secret, start_after=start, by=None, at=utc_now())
    await store.append(group_id=gid, stream_id=f"publishing.webhook.{subscription}", expected_version=0,
                       events=[NewEvent(id=new_id(), type="publishing.WebhookRegistered", data=old)])
    vote = await sealed_vote(api, operator, group=group)
    await until(lambda: len(of_type(bodies(receiver), "decisions.BallotCast")) == 2)
    verifier = Webhook(secret)
    for headers, body in receiver.received:
        verifier.verify(body.decode(), headers)
    # the secret now lives in the table only: the event's copy reads as null on every path
    reader = EventStore(store.pool, store.url)  # a reader without this test's cached keys, as every service is
    [event] = await reader.read_stream(f"publishing.webhook.{subscription}")
    assert msgspec.json.decode(event.data)["secret"] is None and secret.encode() not in bytes(event.data)
    assert await store.pool.fetchval("SELECT fingerprint FROM webhook_secrets WHERE subscription_id = $1",
                                     subscription) == fingerprint(secret)
    assert (await api.post(f"{vote.url}/close", headers=group.tokens["facilitator"])).status_code == 200
    await until(lambda: len(of_type(bodies(receiver), "decisions.ProposalClosed")) == 1)
    for headers, body in receiver.received:
        verifier.verify(body.decode(), headers)
