"""iCalendar (.ics) feeds of a group's meetings, built with the icalendar library.

A recurring meeting is one VEVENT with its RRULE; cancelled occurrences are
EXDATEs and moved ones are VEVENTs with a RECURRENCE-ID, so calendar apps
show exactly what the log says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event, vRecur

from services.scheduling.domain.meetings import Meeting
from shared.domain.ids import utc_now


def calendar_of(meetings: Iterable[Meeting], name: str, declined: set[tuple[uuid.UUID, datetime]] | None = None) -> bytes:
    """The feed; ``declined`` (meeting, occurrence) pairs are left out, for a member's own feed."""
    calendar = Calendar()
    calendar.add("prodid", "-//copro//scheduling//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    stamp = utc_now()
    for meeting in meetings:
        scheduled = meeting.scheduled
        if scheduled is None:
            continue
        event = Event()
        event.add("uid", f"{scheduled.meeting_id}@copro")
        event.add("dtstamp", stamp)
        event.add("summary", scheduled.title)
        event.add("dtstart", scheduled.starts_at)
        event.add("dtend", scheduled.ends_at)
        if scheduled.location:
            event.add("location", scheduled.location)
        if scheduled.rrule:
            event.add("rrule", vRecur.from_ical(scheduled.rrule.removeprefix("RRULE:")))
        skipped = sorted(meeting.cancelled | {o for m, o in (declined or set()) if m == scheduled.meeting_id})
        for occurrence in skipped:
            event.add("exdate", occurrence)
        calendar.add_component(event)
        for occurrence, starts_at, ends_at in meeting.moved:
            if occurrence in skipped:
                continue
            moved = Event()
            moved.add("uid", f"{scheduled.meeting_id}@copro")
            moved.add("dtstamp", stamp)
            moved.add("recurrence-id", occurrence)
            moved.add("summary", scheduled.title)
            moved.add("dtstart", starts_at)
            moved.add("dtend", ends_at)
            calendar.add_component(moved)
    return bytes(calendar.to_ical())
