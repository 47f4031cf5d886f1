"""Meetings: one-off or recurring (an RFC 5545 rule), with occurrences cancelled or moved, RSVPs and attendance.

Occurrences are computed from the rule, never stored one by one: a weekly
meeting for six months is one event, and cancelling or moving one occurrence
is another.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from dateutil.rrule import rrulestr
from msgspec.structs import replace

from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound

Answer = Literal["yes", "no", "maybe"]


class MeetingScheduled(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.MeetingScheduled"):
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


class OccurrenceCancelled(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.OccurrenceCancelled"):
    meeting_id: uuid.UUID
    occurrence: datetime
    reason: str
    at: datetime


class OccurrenceMoved(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.OccurrenceMoved"):
    meeting_id: uuid.UUID
    occurrence: datetime
    starts_at: datetime
    ends_at: datetime
    at: datetime


class RsvpGiven(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.RsvpGiven"):
    __personal__ = ("access_needs",)
    __subject__ = "member_id"
    meeting_id: uuid.UUID
    occurrence: datetime
    member_id: uuid.UUID
    answer: Answer
    access_needs: str | None
    at: datetime


class AttendanceRecorded(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.AttendanceRecorded"):
    meeting_id: uuid.UUID
    occurrence: datetime
    present: tuple[uuid.UUID, ...]
    at: datetime


MeetingEvent = MeetingScheduled | OccurrenceCancelled | OccurrenceMoved | RsvpGiven | AttendanceRecorded


class Meeting(msgspec.Struct, frozen=True, kw_only=True):
    scheduled: MeetingScheduled | None = None
    cancelled: frozenset[datetime] = frozenset()
    moved: tuple[tuple[datetime, datetime, datetime], ...] = ()  # (occurrence, new start, new end)
    rsvps: tuple[tuple[datetime, uuid.UUID, str], ...] = ()
    attendance: tuple[tuple[datetime, tuple[uuid.UUID, ...]], ...] = ()

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

    def is_occurrence(self, moment: datetime) -> bool:
        return moment in self.occurrences(moment, moment + timedelta(seconds=1))

    def answers(self, occurrence: datetime) -> dict[uuid.UUID, str]:
        return {member: answer for at, member, answer in self.rsvps if at == occurrence}


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


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    occurrence: datetime
    reason: str
    at: datetime


class Move(msgspec.Struct, frozen=True, kw_only=True):
    occurrence: datetime
    starts_at: datetime
    ends_at: datetime
    at: datetime


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
MAX_OCCURRENCES = 1000


def _check_rule(rule: str, start: datetime) -> None:
    try:
        occurrences = rrulestr(rule, dtstart=start)
        first = occurrences.after(start, inc=True)
    except (ValueError, TypeError) as exc:
        raise InvalidCommand(f"not an RFC 5545 recurrence rule: {exc}", field="rrule") from None
    if first is None:
        raise InvalidCommand("the rule has no occurrence", field="rrule")
    if "COUNT" not in rule.upper() and "UNTIL" not in rule.upper():
        raise InvalidCommand("a recurring meeting needs COUNT or UNTIL in its rule", field="rrule")
    if occurrences.count() > MAX_OCCURRENCES:
        raise InvalidCommand(f"at most {MAX_OCCURRENCES} occurrences", field="rrule")


def decide(command: MeetingCommand, meeting: Meeting) -> list[MeetingEvent]:
    if isinstance(command, Schedule):
        if meeting.scheduled is not None:
            raise CommandRejected("this meeting is scheduled already")
        if command.ends_at <= command.starts_at:
            raise InvalidCommand("ends_at must be after starts_at", field="ends_at")
        if not command.title.strip():
            raise InvalidCommand("a meeting needs a title", field="title")
        if command.rrule is not None:
            _check_rule(command.rrule, command.starts_at)
        return [MeetingScheduled(**msgspec.structs.asdict(command))]
    if meeting.scheduled is None:
        raise NotFound("no such meeting")
    meeting_id = meeting.scheduled.meeting_id
    if not meeting.is_occurrence(command.occurrence):
        raise InvalidCommand("the meeting has no occurrence at that time", field="occurrence")
    if isinstance(command, Cancel):
        return [OccurrenceCancelled(meeting_id=meeting_id, occurrence=command.occurrence, reason=command.reason,
                                    at=command.at)]
    if isinstance(command, Move):
        if command.ends_at <= command.starts_at:
            raise InvalidCommand("ends_at must be after starts_at", field="ends_at")
        return [OccurrenceMoved(meeting_id=meeting_id, occurrence=command.occurrence, starts_at=command.starts_at,
                                ends_at=command.ends_at, at=command.at)]
    if isinstance(command, Rsvp):
        return [RsvpGiven(meeting_id=meeting_id, occurrence=command.occurrence, member_id=command.member_id,
                          answer=command.answer, access_needs=command.access_needs, at=command.at)]
    return [AttendanceRecorded(meeting_id=meeting_id, occurrence=command.occurrence, present=command.present,
                               at=command.at)]


def evolve(meeting: Meeting, event: MeetingEvent) -> Meeting:
    if isinstance(event, MeetingScheduled):
        return Meeting(scheduled=event)
    if isinstance(event, OccurrenceCancelled):
        return replace(meeting, cancelled=meeting.cancelled | {event.occurrence})
    if isinstance(event, OccurrenceMoved):
        kept = tuple(m for m in meeting.moved if m[0] != event.occurrence)
        return replace(meeting, moved=(*kept, (event.occurrence, event.starts_at, event.ends_at)))
    if isinstance(event, RsvpGiven):
        kept_rsvps = tuple(r for r in meeting.rsvps if (r[0], r[1]) != (event.occurrence, event.member_id))
        return replace(meeting, rsvps=(*kept_rsvps, (event.occurrence, event.member_id, event.answer)))
    return replace(meeting, attendance=(*meeting.attendance, (event.occurrence, event.present)))


meeting_decider: Decider[MeetingCommand, Meeting, MeetingEvent] = Decider(
    initial_state=Meeting, decide=decide, evolve=evolve, event_type=MeetingEvent
)


def meeting_stream(meeting_id: uuid.UUID) -> str:
    return f"scheduling.meeting.{meeting_id}"
