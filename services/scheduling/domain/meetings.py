"""Meetings: one-off or recurring (an RFC 5545 rule), with occurrences cancelled or moved, RSVPs and attendance.

Occurrences are computed from the rule, never stored one by one: a weekly
meeting for six months is one event, and cancelling or moving one occurrence
is another. A meeting lives in the time zone its group had when it was
scheduled: the rule is expanded in local wall-clock time, so a weekly 10:30
stays 10:30 across a daylight-saving change (its UTC time moves instead).
Times arrive with any offset and are compared as instants.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from itertools import islice
from typing import assert_never

import msgspec
from dateutil.rrule import rrulestr
from msgspec.structs import replace

from services.scheduling.events import (
    Answer,
    AttendanceRecorded,
    MeetingEvent,
    MeetingScheduled,
    OccurrenceCancelled,
    OccurrenceMoved,
    RsvpGiven,
)
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound
from shared.domain.input import offset_problem, outside_the_calendar, recorded_as_utc
from shared.domain.zones import is_time_zone, local


def meeting_stream(meeting_id: uuid.UUID) -> str:
    return f"scheduling.meeting.{meeting_id}"


# --- commands ----------------------------------------------------------------------------------


class Schedule(msgspec.Struct, frozen=True, kw_only=True):
    meeting_id: uuid.UUID
    group_id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    rrule: str | None
    source_proposal_id: uuid.UUID | None
    by: uuid.UUID | None
    at: datetime
    time_zone: str


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    """``by``: the facilitator cancelling, whose own words the reason is (None: the operator)."""

    occurrence: datetime
    reason: str
    by: uuid.UUID | None
    at: datetime


class Move(msgspec.Struct, frozen=True, kw_only=True):
    occurrence: datetime
    starts_at: datetime
    ends_at: datetime
    at: datetime
    location: str | None = None


class Rsvp(msgspec.Struct, frozen=True, kw_only=True):
    occurrence: datetime
    member_id: uuid.UUID
    answer: Answer
    access_needs: str | None
    at: datetime


class RecordAttendance(msgspec.Struct, frozen=True, kw_only=True):
    occurrence: datetime
    present: tuple[uuid.UUID, ...]
    at: datetime


MeetingCommand = Schedule | Cancel | Move | Rsvp | RecordAttendance

# --- state -------------------------------------------------------------------------------------


class Moved(msgspec.Struct, frozen=True, kw_only=True):
    """Where one occurrence went: its new times (local) and place (None: the meeting's own)."""

    starts_at: datetime
    ends_at: datetime
    location: str | None = None


class Meeting(msgspec.Struct, frozen=True, kw_only=True):
    """``scheduled`` holds its times in the meeting's zone (as recorded, for a meeting without one), and so
    do ``cancelled`` and ``moved``: everything the calendar shows is already local time."""

    scheduled: MeetingScheduled | None = None
    cancelled: frozenset[datetime] = frozenset()
    moved: tuple[tuple[datetime, Moved], ...] = ()  # (occurrence, where it went)
    rsvps: tuple[tuple[datetime, uuid.UUID, str], ...] = ()
    needs: tuple[tuple[datetime, uuid.UUID, str], ...] = ()
    """Access needs given with an answer (a private field: scheduling reads it, for organisers to plan with)."""
    attendance: tuple[tuple[datetime, tuple[uuid.UUID, ...]], ...] = ()

    @property
    def time_zone(self) -> str | None:
        """The meeting's IANA zone; None for a meeting recorded before meetings had one."""
        return self.scheduled.time_zone if self.scheduled else None

    def placed(self, moment: datetime) -> datetime:
        """A recorded time as this meeting shows it: local time in its zone."""
        moment = recorded_as_utc(moment)
        return local(moment, self.time_zone) if self.time_zone else moment

    def moves(self) -> dict[datetime, Moved]:
        return dict(self.moved)

    def occurrences(self, start: datetime, end: datetime) -> list[datetime]:
        """The rule's occurrence starts in [start, end), cancelled ones left out."""
        assert self.scheduled is not None
        first = self.scheduled.starts_at
        if self.scheduled.rrule is None:
            found = [first] if start <= first < end else []
        else:
            found = list(rrulestr(self.scheduled.rrule, dtstart=first).between(start, end, inc=True))
            found = [o for o in found if o < end]
        return [o for o in found if o not in self.cancelled]

    def last_start(self) -> datetime:
        """When the last occurrence of the rule starts (a rule always has COUNT or UNTIL)."""
        assert self.scheduled is not None
        if self.scheduled.rrule is None:
            return self.scheduled.starts_at
        last: datetime = max(rrulestr(self.scheduled.rrule, dtstart=self.scheduled.starts_at))
        return last

    def is_occurrence(self, moment: datetime) -> bool:
        return moment in self.occurrences(moment, moment + timedelta(seconds=1))

    def answers(self, occurrence: datetime) -> dict[uuid.UUID, str]:
        return {member: answer for at, member, answer in self.rsvps if at == occurrence}

    def needs_at(self, occurrence: datetime) -> dict[uuid.UUID, str]:
        """Who said what they need to take part in this occurrence."""
        return {member: needs for at, member, needs in self.needs if at == occurrence}


# --- decide ------------------------------------------------------------------------------------

MAX_OCCURRENCES = 1000
_ONE_RULE = re.compile(r"(RRULE:)?[A-Z]+=[A-Z0-9,+-]+(;[A-Z]+=[A-Z0-9,+-]+)*", re.IGNORECASE)
"""One RRULE value and nothing else: dateutil also reads whole iCalendar text (DTSTART, EXDATE, more rules),
which placed a meeting in year 9999 or broke the group's calendar for good."""


def _check_rule(rule: str, start: datetime) -> None:
    """``start``: local time in the meeting's zone, where the rule is expanded."""
    if not _ONE_RULE.fullmatch(rule):
        raise InvalidCommand("give one RFC 5545 RRULE value, such as FREQ=WEEKLY;COUNT=26", field="rrule")
    try:
        occurrences = rrulestr(rule, dtstart=start)
        first = occurrences.after(start, inc=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidCommand(f"not an RFC 5545 recurrence rule: {exc}", field="rrule") from None
    if first is None:
        raise InvalidCommand("the rule has no occurrence", field="rrule")
    if "COUNT" not in rule.upper() and "UNTIL" not in rule.upper():
        raise InvalidCommand("a recurring meeting needs COUNT or UNTIL in its rule", field="rrule")
    # taken one by one up to the cap: counting them all first walked a year of seconds (minutes of CPU)
    found = list(islice(occurrences, MAX_OCCURRENCES + 1))
    if len(found) > MAX_OCCURRENCES:
        raise InvalidCommand(f"at most {MAX_OCCURRENCES} occurrences", field="rrule")
    if outside_the_calendar(found[-1]):
        raise InvalidCommand("the last occurrence must be before the year 3000", field="rrule")


def _schedule(command: Schedule, meeting: Meeting) -> list[MeetingEvent]:
    if meeting.scheduled is not None:
        raise CommandRejected("this meeting is scheduled already")
    if (naive := offset_problem(starts_at=command.starts_at, ends_at=command.ends_at)) is not None:
        raise InvalidCommand("a time needs an offset (Z or +hh:mm)", field=naive)
    if command.ends_at <= command.starts_at:
        raise InvalidCommand("ends_at must be after starts_at", field="ends_at")
    if not command.title.strip():
        raise InvalidCommand("a meeting needs a title", field="title")
    if not is_time_zone(command.time_zone):
        raise InvalidCommand(f"{command.time_zone!r} is not an IANA time zone name", field="time_zone")
    if command.rrule is not None:
        _check_rule(command.rrule, local(command.starts_at, command.time_zone))
    return [MeetingScheduled(**msgspec.structs.asdict(command))]


def _meeting_at(meeting: Meeting, occurrence: datetime) -> uuid.UUID:
    """The meeting's id, for a command about one of its occurrences (which must be one)."""
    if meeting.scheduled is None:
        raise NotFound("no such meeting")
    if not meeting.is_occurrence(occurrence):
        raise InvalidCommand("the meeting has no occurrence at that time", field="occurrence")
    return meeting.scheduled.meeting_id


def decide(command: MeetingCommand, meeting: Meeting) -> list[MeetingEvent]:
    match command:
        case Schedule():
            return _schedule(command, meeting)
        case Cancel():
            meeting_id = _meeting_at(meeting, command.occurrence)
            if command.by is None and command.reason:
                # a reason is kept as a person's words, encrypted for them so it can be erased; the
                # operator is no member of the group, so nothing could ever erase theirs
                raise InvalidCommand("an operator cancels without a reason: a facilitator can give one",
                                     field="reason")
            return [OccurrenceCancelled(meeting_id=meeting_id, occurrence=command.occurrence,
                                        reason=command.reason or None, by=command.by, at=command.at)]
        case Move():
            meeting_id = _meeting_at(meeting, command.occurrence)
            if (naive := offset_problem(starts_at=command.starts_at, ends_at=command.ends_at)) is not None:
                raise InvalidCommand("a time needs an offset (Z or +hh:mm)", field=naive)
            if command.ends_at <= command.starts_at:
                raise InvalidCommand("ends_at must be after starts_at", field="ends_at")
            return [OccurrenceMoved(meeting_id=meeting_id, occurrence=command.occurrence, starts_at=command.starts_at,
                                    ends_at=command.ends_at, at=command.at, location=command.location)]
        case Rsvp():
            meeting_id = _meeting_at(meeting, command.occurrence)
            return [RsvpGiven(meeting_id=meeting_id, occurrence=command.occurrence, member_id=command.member_id,
                              answer=command.answer, access_needs=command.access_needs, at=command.at)]
        case RecordAttendance():
            meeting_id = _meeting_at(meeting, command.occurrence)
            return [AttendanceRecorded(meeting_id=meeting_id, occurrence=command.occurrence, present=command.present,
                                       at=command.at)]
        case _:
            assert_never(command)


# --- evolve ------------------------------------------------------------------------------------


def evolve(meeting: Meeting, event: MeetingEvent) -> Meeting:
    match event:
        case MeetingScheduled():
            new = Meeting(scheduled=event)
            return Meeting(scheduled=replace(event, starts_at=new.placed(event.starts_at),
                                             ends_at=new.placed(event.ends_at)))
        case OccurrenceCancelled():
            return replace(meeting, cancelled=meeting.cancelled | {meeting.placed(event.occurrence)})
        case OccurrenceMoved():
            occurrence = meeting.placed(event.occurrence)
            kept = tuple(m for m in meeting.moved if m[0] != occurrence)
            moved = Moved(starts_at=meeting.placed(event.starts_at), ends_at=meeting.placed(event.ends_at),
                          location=event.location)
            return replace(meeting, moved=(*kept, (occurrence, moved)))
        case RsvpGiven():
            kept_rsvps = tuple(r for r in meeting.rsvps if (r[0], r[1]) != (event.occurrence, event.member_id))
            kept_needs = tuple(n for n in meeting.needs if (n[0], n[1]) != (event.occurrence, event.member_id))
            said = ((event.occurrence, event.member_id, event.access_needs),) if event.access_needs else ()
            return replace(meeting, rsvps=(*kept_rsvps, (event.occurrence, event.member_id, event.answer)),
                           needs=(*kept_needs, *said))
        case AttendanceRecorded():
            return replace(meeting, attendance=(*meeting.attendance, (event.occurrence, event.present)))
        case _:
            assert_never(event)


meeting_decider: Decider[MeetingCommand, Meeting, MeetingEvent] = Decider(
    initial_state=Meeting, decide=decide, evolve=evolve, event_type=MeetingEvent
)
