"""Meetings: a time proposal decided in decisions becomes a meeting and a calendar entry, through real NATS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import make_group, soon


async def test_a_closed_time_proposal_becomes_a_meeting_and_a_calendar_event(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    tuesday = (datetime.now(UTC) + timedelta(days=7)).replace(hour=10, minute=30, second=0, microsecond=0)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "time", "title": "Weekly working group", "closes_at": soon(days=2), "options": [
            {"id": "tue", "label": "Tuesday", "starts_at": tuesday.isoformat(),
             "ends_at": (tuesday + timedelta(minutes=90)).isoformat()},
            {"id": "thu", "label": "Thursday", "starts_at": (tuesday + timedelta(days=2)).isoformat(),
             "ends_at": (tuesday + timedelta(days=2, minutes=90)).isoformat()}]})
    assert made.status_code == 201, made.text
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    for who in ("member", "facilitator"):
        await api.post(f"{url}/ballots", headers=group.tokens[who], json={"choice": {"availability": {"tue": "yes"}}})
    closed = await api.post(f"{url}/close", headers=group.tokens["facilitator"])
    assert closed.json()["outcome"]["chosen"] == ["tue"]

    meetings: list = []  # type: ignore[type-arg]
    for _ in range(600):
        meetings = (await scheduling.get(f"{group.base}/meetings", headers=group.tokens["member"])).json()
        if meetings:
            break
        await asyncio.sleep(0.1)
    assert [m["title"] for m in meetings] == ["Weekly working group"]
    assert datetime.fromisoformat(meetings[0]["next"][0]["starts_at"]) == tuesday
    assert meetings[0]["source_proposal_id"] == made.json()["proposal_id"]

    feed = await scheduling.post(f"{group.base}/calendar-feeds", headers=group.tokens["facilitator"])
    assert feed.status_code == 201, feed.text
    path = feed.json()["url"].split("testserver.local", 1)[-1]
    calendar = Calendar.from_ical((await scheduling.get(path)).content)
    [event] = [c for c in calendar.walk("VEVENT")]
    assert str(event["summary"]) == "Weekly working group" and event.decoded("dtstart") == tuesday
    await scheduling.delete(f"{group.base}/calendar-feeds/{feed.json()['feed_id']}", headers=group.tokens["facilitator"])
    assert (await scheduling.get(path)).status_code == 404


async def test_a_weekly_series_with_a_cancelled_and_a_moved_occurrence_and_rsvps(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=14, minute=0, second=0, microsecond=0)
    made = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Working group", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "location": "Community centre, step-free", "rrule": "FREQ=WEEKLY;COUNT=26"})
    assert made.status_code == 201, made.text
    base = f"{group.base}/meetings/{made.json()['meeting_id']}"
    second, third = start + timedelta(weeks=1), start + timedelta(weeks=2)
    assert (await scheduling.post(f"{base}/cancel", headers=group.tokens["facilitator"],
                                  json={"occurrence": second.isoformat(), "reason": "bank holiday"})).status_code == 200
    moved = await scheduling.post(f"{base}/move", headers=group.tokens["facilitator"], json={
        "occurrence": third.isoformat(), "starts_at": (third + timedelta(hours=2)).isoformat(),
        "ends_at": (third + timedelta(hours=3)).isoformat()})
    assert moved.status_code == 200
    answered = await scheduling.post(f"{base}/rsvp", headers=group.tokens["member"], json={
        "occurrence": start.isoformat(), "answer": "yes", "access_needs": "a quiet corner"})
    assert answered.json()["next"][0]["answers"] == {group.members["member"]: "yes"}
    occurrences = [datetime.fromisoformat(o["starts_at"]) for o in answered.json()["next"]]
    assert second not in occurrences and third + timedelta(hours=2) in occurrences
    refused = await scheduling.post(f"{base}/rsvp", headers=group.tokens["member"],
                                    json={"occurrence": (start + timedelta(minutes=5)).isoformat(), "answer": "yes"})
    assert refused.status_code == 422 and refused.json()["field"] == "occurrence"
    assert (await scheduling.post(f"{group.base}/meetings", headers=group.tokens["member"], json={
        "title": "x", "starts_at": start.isoformat(), "ends_at": start.isoformat()})).status_code == 403
    bad_rule = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "x", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "rrule": "FREQ=WEEKLY"})
    assert bad_rule.status_code == 422 and bad_rule.json()["field"] == "rrule"

    feed = (await scheduling.post(f"{group.base}/calendar-feeds?personal=true", headers=group.tokens["member"])).json()
    calendar = Calendar.from_ical((await scheduling.get(feed["url"].split("testserver.local", 1)[-1])).content)
    events = list(calendar.walk("VEVENT"))
    assert str(events[0]["rrule"].to_ical().decode()) == "FREQ=WEEKLY;COUNT=26"
    exdates = events[0]["exdate"] if isinstance(events[0]["exdate"], list) else [events[0]["exdate"]]
    assert second in [d.dt for x in exdates for d in x.dts]
    assert any("recurrence-id" in e for e in events)


async def test_a_meeting_further_off_than_ninety_days_still_says_when_it_is(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    """It answered ``next: []`` and no time at all (the newcomer's find)."""
    group = await make_group(api, operator)
    start = (datetime.now(UTC) + timedelta(days=200)).replace(hour=9, minute=0, second=0, microsecond=0)
    made = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Annual review", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
        "location": "Town hall"})
    assert made.status_code == 201, made.text
    assert made.json()["next"] == []
    assert datetime.fromisoformat(made.json()["starts_at"]) == start
    assert datetime.fromisoformat(made.json()["ends_at"]) == start + timedelta(hours=2)
