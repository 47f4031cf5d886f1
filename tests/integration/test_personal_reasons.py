"""A member's own words on withdrawing (a proposal, an item) or cancelling (a meeting) are personal: stored
encrypted for them, so a partner on NATS or an export never holds them in plain text, and forgetting the
member erases them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from services.scheduling.domain.meetings import meeting_stream
from services.scheduling.events import OccurrenceCancelled
from shared.eventlog.personal import MARKER
from shared.eventlog.store import EventStore
from tests.integration.decisions_client import make_group, soon

REASON = "Ada is in hospital this month; we will bring it back"


async def test_a_withdrawal_reason_is_stored_encrypted_and_forgotten_with_its_member(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Move the meeting", "closes_at": soon(days=2)})
    assert made.status_code == 201, made.text
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    withdrawn = await api.post(f"{url}/withdraw", headers=group.tokens["member"], json={"reason": REASON})
    assert withdrawn.status_code == 200, withdrawn.text

    raw = await store.pool.fetchval(
        "SELECT payload FROM events WHERE type = 'decisions.ProposalWithdrawn' AND stream_id = $1",
        f"decisions.proposal.{made.json()['proposal_id']}")
    assert MARKER in raw and REASON.encode() not in raw  # what NATS and exports carry
    history = (await api.get(f"{url}/history", headers=group.tokens["auditor"])).json()
    [event] = [e for e in history if e["type"] == "decisions.ProposalWithdrawn"]
    assert event["data"]["reason"] == REASON  # opened for the group's readers

    member = uuid.UUID(group.members["member"])
    forgotten = await api.post(f"{group.base}/members/{member}/forget", headers=group.tokens["facilitator"],
                               json={"consent": "asked in person, agreed"})
    assert forgotten.status_code == 200, forgotten.text
    history = (await api.get(f"{url}/history", headers=group.tokens["auditor"])).json()
    [event] = [e for e in history if e["type"] == "decisions.ProposalWithdrawn"]
    assert event["data"]["reason"] is None

    # nobody gives a forgotten member a way back in, and forgetting them again records nothing
    for way_in in ("tokens", "sign-in-links"):
        refused = await api.post(f"{group.base}/members/{member}/{way_in}", headers=group.tokens["facilitator"],
                                 json={})
        assert refused.status_code == 410 and refused.json()["field"] == "member_id", refused.text
    again = await api.post(f"{group.base}/members/{member}/forget", headers=group.tokens["facilitator"],
                           json={"consent": "asked again"})
    assert again.status_code == 200, again.text
    assert await store.pool.fetchval("SELECT count(*) FROM events WHERE type = 'decisions.MemberForgotten'"
                                     " AND convert_from(payload, 'UTF8')::jsonb->>'member_id' = $1", str(member)) == 1


async def test_a_cancellation_reason_is_the_facilitators_own_words_and_goes_with_them(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient, store: EventStore  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    made = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Working group", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "location": "Community centre", "rrule": "FREQ=WEEKLY;COUNT=4"})
    assert made.status_code == 201, made.text
    meeting = uuid.UUID(made.json()["meeting_id"])
    base = f"{group.base}/meetings/{meeting}"
    words = "Sam is unwell and cannot chair this week"
    cancelled = await scheduling.post(f"{base}/cancel", headers=group.tokens["facilitator"], json={
        "occurrence": (start + timedelta(weeks=1)).isoformat(), "reason": words})
    assert cancelled.status_code == 200, cancelled.text
    # the operator is nobody's member: their words could never be erased, so they give none
    unnamed = await scheduling.post(f"{base}/cancel", headers=operator, json={
        "occurrence": (start + timedelta(weeks=2)).isoformat(), "reason": words})
    assert unnamed.status_code == 422 and unnamed.json()["field"] == "reason", unnamed.text

    raw = await store.pool.fetchval("SELECT payload FROM events WHERE type = 'scheduling.OccurrenceCancelled'"
                                    " AND stream_id = $1", meeting_stream(meeting))
    assert MARKER in raw and words.encode() not in raw  # what NATS and exports carry
    [event] = [e for e in await store.read_stream(meeting_stream(meeting)) if e.type == "scheduling.OccurrenceCancelled"]
    facilitator = uuid.UUID(group.members["facilitator"])
    assert event.decode(OccurrenceCancelled).reason == words
    assert event.decode(OccurrenceCancelled).by == facilitator

    forgotten = await api.post(f"{group.base}/members/{facilitator}/forget", headers=operator,
                               json={"consent": "asked in person, agreed"})
    assert forgotten.status_code == 200, forgotten.text
    store.forget_cached_key(facilitator)
    [event] = [e for e in await store.read_stream(meeting_stream(meeting)) if e.type == "scheduling.OccurrenceCancelled"]
    assert event.decode(OccurrenceCancelled).reason is None


async def test_nothing_new_names_a_forgotten_member_in_any_service(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient,  # type: ignore[type-arg]
    publishing: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """A co-author or an attendance naming a forgotten member was recorded (the partner's find)."""
    group = await make_group(api, operator)
    gone = group.members["observer"]
    forgotten = await api.post(f"{group.base}/members/{gone}/forget", headers=operator, json={"consent": "asked"})
    assert forgotten.status_code == 200, forgotten.text
    item = await publishing.post(f"{group.base}/items", headers=group.tokens["member"], json={
        "kind": "reflection", "title": "What we learnt"})
    assert item.status_code == 201, item.text
    author = await publishing.post(f"{group.base}/items/{item.json()['item_id']}/authors",
                                   headers=group.tokens["member"], json={"member_id": gone})
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    meeting = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Working group", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()})
    came = await scheduling.post(f"{group.base}/meetings/{meeting.json()['meeting_id']}/attendance",
                                 headers=group.tokens["facilitator"],
                                 json={"occurrence": start.isoformat(), "present": [gone]})
    for refused in (author, came):
        assert refused.status_code == 410 and refused.json()["field"] == "member_id", refused.text


async def test_a_forgotten_members_gathering_registration_goes_with_them(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient, store: EventStore,  # type: ignore[type-arg]
) -> None:
    """A registration is encrypted for its attendee, not for the member who made it: their name and access needs
    stayed readable after they were forgotten (the attacker's find). Scheduling now hears of the forgetting."""
    from services.scheduling.domain.gathering import gathering_stream
    from services.scheduling.events import AttendeeRegistered

    group = await make_group(api, operator)
    start = (datetime.now(UTC) + timedelta(days=20)).replace(hour=10, minute=0, second=0, microsecond=0)
    made = await scheduling.post(f"{group.base}/gatherings", headers=group.tokens["facilitator"], json={
        "title": "Gathering", "venue": "Hall", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=6)).isoformat(), "capacity": 10})
    gathering = uuid.UUID(made.json()["gathering_id"])
    for who, name in (("member", "Member X"), ("facilitator", "Fran Facilitator")):
        registered = await scheduling.post(f"{group.base}/gatherings/{gathering}/attendees", headers=group.tokens[who],
                                           json={"name": name, "perspective": "lived_experience",
                                                 "organisation": "Org", "needs": ["step_free"]})
        assert registered.status_code == 201, registered.text
    member = group.members["member"]
    assert (await api.post(f"{group.base}/members/{member}/forget", headers=operator,
                           json={"consent": "asked"})).status_code == 200

    async def names() -> dict[str, str | None]:
        reader = EventStore(store.pool, store.url)  # no cached keys, as a fresh process
        registered = [e.decode(AttendeeRegistered) for e in await reader.read_stream(gathering_stream(gathering))
                      if e.type == "scheduling.AttendeeRegistered"]
        return {str(r.by): r.name for r in registered}

    for _ in range(600):
        if (await names())[member] is None:
            break
        await asyncio.sleep(0.05)
    assert await names() == {member: None, group.members["facilitator"]: "Fran Facilitator"}
