"""A private personal field (an RSVP's access needs: health and disability in a person's own words)
is read by the service that records it and by no general reader: webhooks to partners, the member
history any member may read and the operator's log view all show it as null, while the meeting's
own stream still holds it, encrypted for its person."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from litestar.testing import AsyncTestClient

from services.scheduling.domain.meetings import meeting_stream
from shared.eventlog.personal import MARKER
from shared.eventlog.store import EventStore
from tests.integration.decisions_client import make_group
from tests.integration.receiver import Receiver
from tests.integration.test_publishing_delivery import until

NEEDS = "step-free access; I use a wheelchair and tire after an hour"


async def test_access_needs_reach_no_general_reader(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient,  # type: ignore[type-arg]
    publishing: AsyncTestClient, store: EventStore, receiver: Receiver,  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    hook = await publishing.post(f"{group.base}/webhooks", headers=group.tokens["facilitator"],
                                 json={"url": receiver.url, "event_types": ["scheduling.*"], "start": "beginning"})
    assert hook.status_code == 201, hook.text
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    made = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Working group", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()})
    assert made.status_code == 201, made.text
    meeting = uuid.UUID(made.json()["meeting_id"])
    answered = await scheduling.post(f"{group.base}/meetings/{meeting}/rsvp", headers=group.tokens["member"],
                                     json={"occurrence": start.isoformat(), "answer": "yes", "access_needs": NEEDS})
    assert answered.status_code == 200, answered.text

    def rsvps() -> list[dict[str, object]]:
        bodies = [msgspec.json.decode(body) for _, body in receiver.received]
        return [b["data"] for b in bodies if b["type"] == "scheduling.RsvpGiven"]

    await until(lambda: len(rsvps()) == 1)
    assert rsvps()[0]["access_needs"] is None and rsvps()[0]["answer"] == "yes"

    history = await api.get(f"{group.base}/members/{group.members['member']}/history", headers=group.tokens["observer"])
    assert history.status_code == 200, history.text
    [given] = [e for e in history.json() if e["type"] == "scheduling.RsvpGiven"]
    assert given["data"]["access_needs"] is None

    head = await store.head_position()
    page = await api.get("/log", headers=operator, params={"after": max(0, head - 50), "limit": 100})
    assert page.status_code == 200, page.text
    logged = [e for e in page.json()["events"] if e["type"] == "scheduling.RsvpGiven"]
    assert logged and all(e["data"]["access_needs"] is None for e in logged)

    # not lost: the meeting's stream holds it, encrypted for its person, and scheduling reads it
    recorded = [e for e in await store.read_stream(meeting_stream(meeting)) if e.type == "scheduling.RsvpGiven"]
    assert msgspec.json.decode(recorded[0].data)["access_needs"] == NEEDS
    raw = await store.pool.fetchval("SELECT payload FROM events WHERE id = $1", recorded[0].id)
    assert MARKER in raw and NEEDS.encode() not in raw

    # an attendee's needs and whom they would sit apart from: the same, and encrypted for the attendee
    planned = await scheduling.post(f"{group.base}/gatherings", headers=group.tokens["facilitator"], json={
        "title": "Gathering", "venue": "Hall", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=6)).isoformat(), "capacity": 10})
    gathering = f"{group.base}/gatherings/{planned.json()['gathering_id']}"
    first = await scheduling.post(f"{gathering}/attendees", headers=group.tokens["member"], json={
        "name": "Sam Attendee", "perspective": "lived_experience", "organisation": "Partner 0"})
    apart = first.json()["attendee_id"]
    second = await scheduling.post(f"{gathering}/attendees", headers=group.tokens["member"], json={
        "name": "Kit Attendee", "perspective": "both", "organisation": "Partner 1", "needs": ["hearing_loop"],
        "not_with": [apart]})
    assert second.status_code == 201, second.text

    def registered() -> list[dict[str, object]]:
        bodies = [msgspec.json.decode(body) for _, body in receiver.received]
        return [b["data"] for b in bodies if b["type"] == "scheduling.AttendeeRegistered"]

    await until(lambda: len(registered()) == 2)
    assert all(r["needs"] is None and r["not_with"] is None and r["seat_with"] is None for r in registered())
    raw = await store.pool.fetchval("SELECT payload FROM events WHERE id = (SELECT id FROM events"
                                    " WHERE type = 'scheduling.AttendeeRegistered' ORDER BY seq DESC LIMIT 1)")
    assert b"hearing_loop" not in raw and apart.encode() not in raw


async def test_a_meetings_organisers_see_the_access_needs_they_plan_with_and_no_one_else_does(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    """Recorded for the organisers to plan with, they were shown to no one, and answering again without retyping
    them erased them (the newcomer's find): a facilitator sees everyone's, a member their own."""
    group = await make_group(api, operator)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=14, minute=0, second=0, microsecond=0)
    made = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Working group", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()})
    url = f"{group.base}/meetings/{made.json()['meeting_id']}/rsvp"
    await scheduling.post(url, headers=group.tokens["member"],
                          json={"occurrence": start.isoformat(), "answer": "yes", "access_needs": NEEDS})
    member = group.members["member"]

    async def needs(who: str) -> dict[str, str]:
        listed = (await scheduling.get(f"{group.base}/meetings", headers=group.tokens[who])).json()
        [meeting] = [m for m in listed if m["meeting_id"] == made.json()["meeting_id"]]
        return dict(meeting["next"][0]["needs"])

    assert await needs("facilitator") == {member: NEEDS}
    assert await needs("member") == {member: NEEDS}
    assert await needs("observer") == {} and await needs("auditor") == {}
    await scheduling.post(url, headers=group.tokens["member"], json={"occurrence": start.isoformat(), "answer": "maybe"})
    assert await needs("facilitator") == {}  # answered again with none: they said they need nothing now
