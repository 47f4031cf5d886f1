"""iCalendar (.ics) feeds of a group's meetings, built with the icalendar library.

A recurring meeting is one VEVENT with its RRULE, in local time with the
meeting's ``TZID`` and a VTIMEZONE that defines it (RFC 5545 requires one for
every TZID, and without it clients read the times as floating, an hour off
after the clocks change). Cancelled occurrences are EXDATEs; a moved one is a
VEVENT with a RECURRENCE-ID that repeats every property of the series (its
title, place, description) with the new times and, when it moved, the new place.
A meeting recorded before meetings had a zone is written in UTC.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from services.scheduling.domain.meetings import Meeting
from services.scheduling.events import MeetingScheduled
from shared.domain.ids import utc_now
from shared.domain.input import EARLIEST, LATEST

log = logging.getLogger(__name__)
MARGIN = timedelta(days=366)
"""How far the VTIMEZONE definitions reach beyond the first and last meeting."""


def _written(moment: datetime) -> datetime:
    """A time as the feed writes it: local with its zone's TZID, or UTC (never a bare fixed offset, which
    icalendar would name ``UTC+01:00`` with no VTIMEZONE to define it)."""
    return moment if isinstance(moment.tzinfo, ZoneInfo) else moment.astimezone(UTC)


def _event(scheduled: MeetingScheduled, stamp: datetime, starts_at: datetime, ends_at: datetime,
           location: str) -> Event:
    """The properties every instance of the meeting carries, the series and each moved occurrence alike."""
    event = Event()
    event.add("uid", f"{scheduled.meeting_id}@copro")
    event.add("dtstamp", stamp)
    event.add("summary", scheduled.title)
    event.add("dtstart", _written(starts_at))
    event.add("dtend", _written(ends_at))
    if location:
        event.add("location", location)
    return event


def calendar_of(meetings: Iterable[Meeting], name: str, declined: set[tuple[uuid.UUID, datetime]] | None = None) -> bytes:
    """The feed; ``declined`` (meeting, occurrence) pairs are left out, for a member's own feed."""
    calendar = Calendar()
    calendar.add("prodid", "-//copro//scheduling//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    stamp = utc_now()
    span: list[datetime] = []
    for meeting in meetings:
        scheduled = meeting.scheduled
        if scheduled is None:
            continue
        event = _event(scheduled, stamp, scheduled.starts_at, scheduled.ends_at, scheduled.location)
        last = scheduled.starts_at
        if scheduled.rrule:
            try:
                event.add("rrule", vRecur.from_ical(re.sub(r"(?i)^RRULE:", "", scheduled.rrule)))
                last = meeting.last_start()
            except (ValueError, OverflowError):  # recorded before a rule was held to one RRULE value within 2999
                log.warning("meeting %s: its recurrence rule cannot be written to a calendar; its first occurrence"
                            " only", scheduled.meeting_id)
        skipped = meeting.cancelled | {meeting.placed(o) for m, o in (declined or set()) if m == scheduled.meeting_id}
        for occurrence in sorted(skipped):
            event.add("exdate", _written(occurrence))
        calendar.add_component(event)
        span += [scheduled.starts_at, last]
        for occurrence, moved in meeting.moved:
            if occurrence in skipped:
                continue
            instance = _event(scheduled, stamp, moved.starts_at, moved.ends_at,
                              scheduled.location if moved.location is None else moved.location)
            instance.add("recurrence-id", _written(occurrence))
            calendar.add_component(instance)
            span.append(moved.ends_at)
    if span:
        # clamped: a meeting recorded before times were held to 1900-2999 may sit at the calendar's edge
        calendar.add_missing_timezones(first_date=max(min(span), EARLIEST + MARGIN).date() - MARGIN,
                                       last_date=min(max(span), LATEST - MARGIN).date() + MARGIN)
    return bytes(calendar.to_ical())
