"""Local time, on the real services: a group's zone set and changed in decisions, learnt by scheduling from the
log, and the group's and a member's .ics feeds read by calendar libraries across both clock changes.

The feeds are parsed with icalendar and expanded with recurring-ical-events, as a calendar app would: every
occurrence must be at 10:30 in London, before and after the clocks go forward (31 March 2030) and back
(27 October 2030), and so at different UTC times. A series anchored in UTC, or a TZID without its VTIMEZONE
(which clients read as floating time), fails here.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import recurring_ical_events
from icalendar import Calendar
from litestar.testing import AsyncTestClient

from services.scheduling.domain.meetings import meeting_stream
from services.scheduling.events import MeetingScheduled
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from tests.integration.decisions_client import Group, make_group

LONDON = ZoneInfo("Europe/London")
FIRST = datetime(2030, 3, 5, 10, 30, tzinfo=UTC)  # a Tuesday, 10:30 GMT
WEEKS = 36  # to 5 November 2030: across the spring and the autumn change
CANCELLED = datetime(2030, 4, 16, 9, 30, tzinfo=UTC)  # 10:30 BST, named in UTC
MOVED = datetime(2030, 4, 23, 10, 30, tzinfo=LONDON)  # moved to Wednesday 14:00, same place
MOVED_AWAY = datetime(2030, 4, 30, 10, 30, tzinfo=LONDON)  # moved to the library
DECLINED = datetime(2030, 11, 5, 10, 30, tzinfo=LONDON)  # the member said no: not in their own feed
PLACE = "Community centre (step-free)"


def _path(url: str) -> str:
    return url.split("testserver.local", 1)[-1]


async def _zoned_group(api: AsyncTestClient, operator: dict[str, str]) -> Group:  # type: ignore[type-arg]
    group = await make_group(api, operator)
    assert (await api.get(group.base, headers=operator)).json()["time_zone"] == "Europe/London"  # the default
    return group


async def _series(scheduling: AsyncTestClient, group: Group) -> dict[str, Any]:  # type: ignore[type-arg]
    facilitator = group.tokens["facilitator"]
    made = await scheduling.post(f"{group.base}/meetings", headers=facilitator, json={
        "title": "Working group", "starts_at": FIRST.isoformat(), "ends_at": (FIRST + timedelta(minutes=90)).isoformat(),
        "location": PLACE, "rrule": f"FREQ=WEEKLY;COUNT={WEEKS}"})
    assert made.status_code == 201, made.text
    base = f"{group.base}/meetings/{made.json()['meeting_id']}"
    assert (await scheduling.post(f"{base}/cancel", headers=facilitator, json={
        "occurrence": CANCELLED.isoformat(), "reason": "Easter"})).status_code == 200
    wednesday = MOVED.replace(hour=14, minute=0) + timedelta(days=1)
    assert (await scheduling.post(f"{base}/move", headers=facilitator, json={
        "occurrence": MOVED.isoformat(), "starts_at": wednesday.isoformat(),
        "ends_at": (wednesday + timedelta(hours=1)).isoformat()})).status_code == 200
    moved = await scheduling.post(f"{base}/move", headers=facilitator, json={
        "occurrence": MOVED_AWAY.isoformat(), "starts_at": MOVED_AWAY.isoformat(),
        "ends_at": (MOVED_AWAY + timedelta(minutes=90)).isoformat(), "location": "Library, room 2"})
    assert moved.status_code == 200, moved.text
    answered = await scheduling.post(f"{base}/rsvp", headers=group.tokens["member"], json={
        "occurrence": DECLINED.astimezone(UTC).isoformat(), "answer": "no"})
    assert answered.status_code == 200, answered.text
    return made.json()  # type: ignore[no-any-return]


async def _feed(scheduling: AsyncTestClient, group: Group, who: str, personal: bool) -> tuple[str, Calendar]:  # type: ignore[type-arg]
    issued = await scheduling.post(f"{group.base}/calendar-feeds?personal={str(personal).lower()}",
                                   headers=group.tokens[who])
    assert issued.status_code == 201, issued.text
    text = (await scheduling.get(_path(issued.json()["url"]))).text
    return text, Calendar.from_ical(text)


def _expected(declined: bool) -> dict[datetime, tuple[datetime, str]]:
    """Each occurrence (its RECURRENCE-ID, in London) and where and when a calendar must show it."""
    out = {}
    for week in range(WEEKS):
        day = (FIRST + timedelta(weeks=week)).date()
        occurrence = datetime(day.year, day.month, day.day, 10, 30, tzinfo=LONDON)
        if occurrence == CANCELLED or (declined and occurrence == DECLINED):
            continue
        out[occurrence] = (occurrence, PLACE)
    out[MOVED] = (MOVED.replace(hour=14, minute=0) + timedelta(days=1), PLACE)
    out[MOVED_AWAY] = (MOVED_AWAY, "Library, room 2")
    return out


def _read(calendar: Calendar) -> dict[datetime, tuple[datetime, str]]:
    """What a calendar app shows, from recurring-ical-events: start and place of every occurrence."""
    shown = {}
    for event in recurring_ical_events.of(calendar).between(date(2030, 1, 1), date(2031, 1, 1)):
        start = event.decoded("dtstart")
        assert isinstance(start, datetime) and start.utcoffset() is not None, f"floating time: {start!r}"
        recurrence = event.get("recurrence-id")
        key = recurrence.dt if recurrence is not None else start
        shown[key.astimezone(LONDON)] = (start.astimezone(LONDON), str(event.get("location", "")))
    return shown


async def test_group_and_member_feeds_show_every_occurrence_at_local_time_across_both_clock_changes(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await _zoned_group(api, operator)
    made = await _series(scheduling, group)
    assert made["time_zone"] == "Europe/London"

    text, calendar = await _feed(scheduling, group, "facilitator", personal=False)
    assert 'TZID="UTC' not in text and "TZID=UTC+" not in text
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "Europe/London"
    assert {c.name for c in zone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    for event in calendar.walk("VEVENT"):  # every time names the zone the VTIMEZONE defines
        for name in ("dtstart", "dtend", "recurrence-id"):
            if name in event:
                assert event[name].params["TZID"] == "Europe/London", event.to_ical()

    shown = _read(calendar)
    assert shown == _expected(declined=False)
    regular = [start for occurrence, (start, _) in shown.items() if occurrence == start]
    assert {(s.hour, s.minute) for s in regular} == {(10, 30)}  # local time never moves ...
    assert {s.astimezone(UTC).hour for s in regular} == {9, 10}  # ... so the UTC time does
    assert shown[datetime(2030, 3, 26, 10, 30, tzinfo=LONDON)][0].astimezone(UTC).hour == 10  # GMT
    assert shown[datetime(2030, 4, 2, 10, 30, tzinfo=LONDON)][0].astimezone(UTC).hour == 9  # BST
    assert shown[datetime(2030, 10, 29, 10, 30, tzinfo=LONDON)][0].astimezone(UTC).hour == 10  # GMT again
    assert shown[MOVED][1] == PLACE  # a moved occurrence keeps its place ...
    assert shown[MOVED_AWAY][1] == "Library, room 2"  # ... or shows the new one

    _, own = await _feed(scheduling, group, "member", personal=True)
    assert _read(own) == _expected(declined=True)


async def test_the_zone_is_learnt_from_decisions_a_facilitator_changes_it_and_each_meeting_keeps_its_own(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await _zoned_group(api, operator)
    url = f"{group.base}/time-zone"
    assert (await api.put(url, headers=group.tokens["member"], json={"time_zone": "UTC"})).status_code == 403
    refused = await api.put(url, headers=group.tokens["facilitator"], json={"time_zone": "Europe/Atlantis"})
    assert refused.status_code == 422 and refused.json()["field"] == "time_zone"
    london = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "Before", "starts_at": FIRST.isoformat(), "ends_at": (FIRST + timedelta(hours=1)).isoformat()})
    changed = await api.put(url, headers=group.tokens["facilitator"], json={"time_zone": "America/New_York"})
    assert changed.status_code == 200 and changed.json()["time_zone"] == "America/New_York"
    start = datetime(2030, 3, 5, 10, 30, tzinfo=ZoneInfo("America/New_York"))
    made = await scheduling.post(f"{group.base}/meetings", headers=group.tokens["facilitator"], json={
        "title": "After", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "rrule": "FREQ=WEEKLY;COUNT=3"})
    assert made.status_code == 201, made.text
    assert made.json()["time_zone"] == "America/New_York"
    listed = {m["title"]: m for m in (await scheduling.get(f"{group.base}/meetings", headers=group.tokens["member"])).json()}
    assert listed["Before"]["time_zone"] == "Europe/London" == london.json()["time_zone"]

    _, calendar = await _feed(scheduling, group, "facilitator", personal=False)
    assert {str(z["tzid"]) for z in calendar.walk("VTIMEZONE")} == {"Europe/London", "America/New_York"}
    after = [e for e in recurring_ical_events.of(calendar).between(date(2030, 3, 1), date(2030, 4, 1))
             if str(e["summary"]) == "After"]
    # New York's clocks change on 10 March 2030: 10:30 local throughout, 15:30 then 14:30 UTC
    assert [e.decoded("dtstart").astimezone(UTC).hour for e in after] == [15, 14, 14]
    assert {e.decoded("dtstart").astimezone(ZoneInfo("America/New_York")).hour for e in after} == {10}


async def test_a_meeting_recorded_before_zones_keeps_its_times_and_its_feed_is_valid(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient, store: EventStore  # type: ignore[type-arg]
) -> None:
    """Recorded at a fixed offset, with no zone: the same instants as before, written in UTC (never the
    ``TZID="UTC+01:00"`` with no VTIMEZONE it used to be)."""
    group = await _zoned_group(api, operator)
    meeting_id = uuid.uuid4()
    legacy = {"meeting_id": str(meeting_id), "group_id": group.id, "title": "Legacy",
              "starts_at": "2030-06-04T11:30:00+02:00", "ends_at": "2030-06-04T12:30:00+02:00", "location": "Hall",
              "rrule": "FREQ=WEEKLY;COUNT=2", "source_proposal_id": None, "by": None, "at": "2030-01-01T00:00:00Z"}
    recorded = msgspec.json.decode(msgspec.json.encode(legacy), type=MeetingScheduled)
    assert recorded.time_zone is None and recorded.starts_at.utcoffset() == timedelta(hours=2)
    await store.append(group_id=uuid.UUID(group.id), stream_id=meeting_stream(meeting_id), expected_version=0,
                       events=[NewEvent(id=uuid.uuid4(), type="scheduling.MeetingScheduled", data=recorded)])
    listed = (await scheduling.get(f"{group.base}/meetings", headers=group.tokens["member"])).json()
    [shown] = [m for m in listed if m["meeting_id"] == str(meeting_id)]
    assert shown["time_zone"] is None
    text, calendar = await _feed(scheduling, group, "facilitator", personal=False)
    assert "UTC+" not in text and "DTSTART:20300604T093000Z" in text
    starts = [e.decoded("dtstart") for e in recurring_ical_events.of(calendar).between(date(2030, 6, 1), date(2030, 7, 1))]
    assert starts == [datetime(2030, 6, 4, 9, 30, tzinfo=UTC), datetime(2030, 6, 11, 9, 30, tzinfo=UTC)]
