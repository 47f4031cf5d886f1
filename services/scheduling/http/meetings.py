"""Meetings: facilitators schedule, cancel, move and record attendance; members answer for themselves."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from litestar import Controller, get, post

from services.scheduling.context import Scheduling
from services.scheduling.domain.meetings import (
    Cancel,
    Move,
    RecordAttendance,
    Rsvp,
    Schedule,
    meeting_decider,
    meeting_stream,
)
from services.scheduling.http.schemas import AttendanceIn, MeetingIn, MeetingOut, MoveIn, OccurrenceIn, RsvpIn, meeting_out
from shared.access.guards import acting_member, sees_private
from shared.access.principals import FACILITATORS, Authenticated, Principal
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import handle

TAGS = ["meetings"]


def needs_seen_by(principal: Principal) -> Callable[[uuid.UUID], bool]:
    """Whose access needs a reader sees: everyone's for a facilitator (and the operator), who plans with them;
    their own for a member; none for anyone else (a private field: health and disability in their words)."""
    if sees_private(principal):
        return lambda member: True
    return lambda member: member == principal.member_id


class MeetingController(Controller):
    """A group's meetings; every route answers 404 for another group's meetings."""

    path = "/groups/{group_id:uuid}/meetings"
    tags = TAGS

    @post("/", summary="Schedule a meeting or a series in the group's time zone (facilitator)")
    async def schedule_meeting(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       data: MeetingIn) -> MeetingOut:
        roster = await service.members.admit(principal, group_id, FACILITATORS, "schedule a meeting")
        meeting_id = new_id()
        done = await handle(service.store, meeting_decider, Schedule(
            meeting_id=meeting_id, group_id=group_id, title=data.title, starts_at=data.starts_at, ends_at=data.ends_at,
            location=data.location, rrule=data.rrule, source_proposal_id=None, by=principal.member_id, at=utc_now(),
            time_zone=roster.time_zone),
            group_id=group_id, stream_id=meeting_stream(meeting_id), cache=service.meetings)
        return meeting_out(done.state, utc_now(), sees_needs=needs_seen_by(principal))

    @get("/", summary="The group's meetings and their next occurrences")
    async def list_meetings(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID) -> list[MeetingOut]:
        await service.members.admit(principal, group_id)
        now = utc_now()
        return [meeting_out(m, now, sees_needs=needs_seen_by(principal)) for m in await service.group_meetings(group_id)]

    @post("/{meeting_id:uuid}/cancel", status_code=200, summary="Cancel one occurrence (facilitator)")
    async def cancel_occurrence(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
                     data: OccurrenceIn) -> MeetingOut:
        await service.members.admit(principal, group_id, FACILITATORS, "cancel a meeting")
        meeting = await service.on_meeting(group_id, meeting_id, Cancel(
            occurrence=data.occurrence, reason=data.reason, by=principal.member_id, at=utc_now()))
        return meeting_out(meeting, utc_now(), sees_needs=needs_seen_by(principal))

    @post("/{meeting_id:uuid}/move", status_code=200, summary="Move one occurrence (facilitator)")
    async def move_occurrence(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
                   data: MoveIn) -> MeetingOut:
        await service.members.admit(principal, group_id, FACILITATORS, "move a meeting")
        meeting = await service.on_meeting(group_id, meeting_id, Move(
            occurrence=data.occurrence, starts_at=data.starts_at, ends_at=data.ends_at, location=data.location,
            at=utc_now()))
        return meeting_out(meeting, utc_now(), sees_needs=needs_seen_by(principal))

    @post("/{meeting_id:uuid}/rsvp", status_code=200,
          summary="Answer yes, no or maybe for yourself, with any access needs")
    async def answer_rsvp(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
                   data: RsvpIn) -> MeetingOut:
        await service.members.admit(principal, group_id)
        member = acting_member(principal, "answer for themselves")  # observers and auditors only read
        meeting = await service.on_meeting(group_id, meeting_id, Rsvp(
            occurrence=data.occurrence, member_id=member, answer=data.answer, access_needs=data.access_needs,
            at=utc_now()))
        return meeting_out(meeting, utc_now(), sees_needs=needs_seen_by(principal))

    @post("/{meeting_id:uuid}/attendance", status_code=200, summary="Record who came (facilitator)")
    async def record_attendance(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                         meeting_id: uuid.UUID, data: AttendanceIn) -> MeetingOut:
        roster = await service.members.admit(principal, group_id, FACILITATORS, "record attendance")
        for member in data.present:
            roster.named(member)
        meeting = await service.on_meeting(group_id, meeting_id, RecordAttendance(
            occurrence=data.occurrence, present=tuple(data.present), at=utc_now()))
        return meeting_out(meeting, utc_now(), sees_needs=needs_seen_by(principal))
