"""A partner's webhook URL stays out of the log: it may carry the partner's own token, every event
reaches partners and audit exports, and nothing in the log can be erased. The registration event
names the URL by its fingerprint; publishing keeps the URL encrypted and still delivers to it, and
the URLs of registrations recorded before (version 1) move to its table the same way."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from litestar.testing import AsyncTestClient

from services.publishing.domain.webhooks import webhook_stream
from services.publishing.jobs import Delivery, body_of
from shared.access.secrets import SecretBox, secrets_key
from shared.domain.fingerprints import fingerprint
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from shared.runtime.settings import Settings
from shared.web.log import log_event
from tests.integration.decisions_client import make_group
from tests.integration.events import noted
from tests.integration.receiver import Receiver
from tests.integration.test_publishing_delivery import numbers, until

TOKEN = "partners-own-token-4f1c"


async def test_the_url_is_in_no_event_yet_deliveries_reach_it_and_only_facilitators_see_it(
    api: AsyncTestClient, operator: dict[str, str], publishing: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
    receiver: Receiver,
) -> None:
    group = await make_group(api, operator)
    url = f"{receiver.url}?token={TOKEN}"
    made = await publishing.post(f"{group.base}/webhooks", headers=group.tokens["facilitator"],
                                 json={"url": url, "event_types": ["test.*"]})
    assert made.status_code == 201, made.text
    assert made.json()["url"] == url and made.json()["endpoint_fingerprint"] == fingerprint(url)
    gid = uuid.UUID(group.id)
    await store.append(group_id=gid, stream_id=f"endpoint-{gid}", expected_version=0, events=[noted(n) for n in range(3)])
    await until(lambda: numbers(receiver) == [0, 1, 2])

    head = await store.head_position()
    for decrypt in (False, True):  # as NATS and exports carry them, and as services read them
        events = await store.read_all(0, head + 10, decrypt=decrypt)
        registration = [e for e in events if e.stream_id == webhook_stream(uuid.UUID(made.json()["subscription_id"]))]
        assert len(registration) == 1 and b"endpoint_fingerprint" in bytes(registration[0].data)
        leaking = [e.type for e in events if TOKEN.encode() in bytes(e.data) or str(receiver.port).encode() in bytes(e.data)]
        assert leaking == [], leaking
    kept = await store.pool.fetchrow("SELECT url, fingerprint FROM webhook_endpoints WHERE subscription_id = $1",
                                     uuid.UUID(made.json()["subscription_id"]))
    assert kept["fingerprint"] == fingerprint(url) and TOKEN.encode() not in bytes(kept["url"])  # encrypted

    seen = {role: (await publishing.get(f"{group.base}/webhooks", headers=group.tokens[role])).json()[0]
            for role in ("facilitator", "auditor")}
    assert seen["facilitator"]["url"] == url
    assert seen["auditor"]["url"] is None and seen["auditor"]["endpoint_fingerprint"] == fingerprint(url)


async def test_a_version_1_registrations_url_moves_to_the_table_and_reads_back(store: EventStore, tmp_path: Path) -> None:
    subscription, group = new_id(), new_id()
    url = f"https://partner.example.org/copro?token={TOKEN}"
    v1 = {"type": "publishing.WebhookRegistered", "subscription_id": str(subscription), "group_id": str(group),
          "url": url, "event_types": ["*"],
          "secret_fingerprint": None, "start_after": 0, "by": None, "at": "2026-10-01T12:00:00Z"}
    await store.append(group_id=group, stream_id=webhook_stream(subscription), expected_version=0,
                       events=[NewEvent(id=new_id(), type="publishing.WebhookRegistered", data=v1)])
    await store.pool.execute("INSERT INTO webhook_cursors (subscription_id, group_id, position) VALUES ($1, $2, 0)",
                             subscription, group)
    box = SecretBox(secrets_key(tmp_path))
    delivery = Delivery(store, box)
    try:
        assert await delivery.adopt_legacy() >= 1
        assert await delivery.adopt_legacy() == 0  # once
        kept = await store.pool.fetchrow("SELECT url, fingerprint FROM webhook_endpoints WHERE subscription_id = $1",
                                         subscription)
        assert kept["fingerprint"] == fingerprint(url) and box.open(subscription, bytes(kept["url"])) == url
        assert (await delivery.webhook(subscription)).registered.endpoint_fingerprint == fingerprint(url)  # type: ignore[union-attr]
    finally:
        await delivery.close()
    fresh = Delivery(store, box)  # nothing cached: the URL comes back from the table
    try:
        assert await fresh.endpoint(subscription) == url
    finally:
        await fresh.close()
    # the stored version 1 event keeps it (the log never changes); no general reader shows it
    (recorded,) = await store.read_stream(webhook_stream(subscription))
    assert TOKEN.encode() in bytes(recorded.data)
    assert TOKEN.encode() not in body_of(recorded) and TOKEN not in str(log_event(recorded).data)

    # removed, it gives nothing up again, however often delivery starts
    removed = {"type": "publishing.WebhookRemoved", "subscription_id": str(subscription), "by": None,
               "at": "2026-10-02T12:00:00Z"}
    await store.append(group_id=group, stream_id=webhook_stream(subscription), expected_version=1,
                       events=[NewEvent(id=new_id(), type="publishing.WebhookRemoved", data=removed)])
    await store.pool.execute("DELETE FROM webhook_endpoints WHERE subscription_id = $1", subscription)
    again = Delivery(store, box)
    try:
        await again.adopt_legacy()
        assert await again.endpoint(subscription) is None
        assert await store.pool.fetchval("SELECT count(*) FROM webhook_endpoints WHERE subscription_id = $1",
                                         subscription) == 0
    finally:
        await again.close()


async def test_a_process_with_another_installations_secrets_key_delivers_nothing(
    store: EventStore, settings: Settings, tmp_path: Path
) -> None:
    """Every delivery would fail and end dead-lettered: it waits instead, and leaves the lead to the right key."""
    right, wrong = SecretBox(secrets_key(settings.home)), SecretBox(secrets_key(tmp_path / "another"))
    subscription = new_id()
    await Delivery(store, right).secrets.keep(subscription, "whsec_kept")
    assert await Delivery(store, right).secrets.opens()
    misfit = Delivery(store, wrong)
    try:
        assert not await misfit.secrets.opens()
        tried: list[object] = []

        async def lead(*args: object) -> None:
            tried.append(args)

        misfit._leadership.run = lead  # type: ignore[method-assign]
        stop = asyncio.Event()
        running = asyncio.create_task(misfit.run(stop))
        await asyncio.sleep(0.5)
        assert tried == []  # it does not even try for the lead
        stop.set()
        await asyncio.wait_for(running, 5)
    finally:
        await misfit.close()
        await store.pool.execute("DELETE FROM webhook_secrets WHERE subscription_id = $1", subscription)
