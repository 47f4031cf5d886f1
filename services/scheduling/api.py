"""HTTP: meetings (facilitators schedule; members answer for themselves) and calendar feeds."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, post

from services.scheduling.calendar import calendar_of
from services.scheduling.domain.feeds import Issue, Revoke, feeds_decider, feeds_stream
from services.scheduling.domain.meetings import (
    Answer,
    Cancel,
    Meeting,
    Move,
    RecordAttendance,
    Rsvp,
    Schedule,
    meeting_decider,
    meeting_stream,
)
from shared.access.principals import Authenticated, Principal
from shared.access.roster import Members, Roster
from shared.access.tokens import token_digest
from shared.domain.errors import Forbidden, NotFound
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import StateCache, handle, handle_in_group, load

TAGS = ["meetings"]
FEED_PREFIX = "cal_"


class MeetingIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    starts_at: datetime
    ends_at: datetime
    location: Annotated[str, msgspec.Meta(max_length=500)] = ""
    rrule: Annotated[str, msgspec.Meta(min_length=1, max_length=500, description="an RFC 5545 RRULE")] | None = None


class OccurrenceIn(msgspec.Struct, forbid_unknown_fields=True):
    occurrence: datetime
    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    occurrence: datetime
    starts_at: datetime
    ends_at: datetime


class RsvpIn(msgspec.Struct, forbid_unknown_fields=True):
    occurrence: datetime
    answer: Answer
    access_needs: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class AttendanceIn(msgspec.Struct, forbid_unknown_fields=True):
    occurrence: datetime
    present: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)]


class Occurrence(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    moved_from: datetime | None
    answers: dict[str, str]


class MeetingOut(msgspec.Struct):
    meeting_id: uuid.UUID
    title: str
    location: str
    rrule: str | None
    source_proposal_id: uuid.UUID | None
    next: list[Occurrence]


class FeedOut(msgspec.Struct):
    feed_id: uuid.UUID
    url: str
    personal: bool


def _cache(request: Request[Any, Any, Any]) -> StateCache[Meeting]:
    cache: StateCache[Meeting] = request.app.state.meetings
    return cache


async def _roster(request: Request[Any, Any, Any], principal: Principal, group_id: uuid.UUID, manage: bool = False
                  ) -> Roster:
    members: Members = request.app.state.members
    return await members.admit(principal, group_id, ("facilitator",) if manage else ())


def meeting_out(meeting: Meeting, now: datetime, days: int = 90) -> MeetingOut:
    scheduled = meeting.scheduled
    assert scheduled is not None
    length = scheduled.ends_at - scheduled.starts_at
    moved = {o: (s, e) for o, s, e in meeting.moved}
    upcoming = []
    for occurrence in meeting.occurrences(now - timedelta(days=1), now + timedelta(days=days)):
        starts, ends = moved.get(occurrence, (occurrence, occurrence + length))
        upcoming.append(Occurrence(starts_at=starts, ends_at=ends, moved_from=occurrence if occurrence in moved else None,
                                   answers={str(m): a for m, a in meeting.answers(occurrence).items()}))
    return MeetingOut(meeting_id=scheduled.meeting_id, title=scheduled.title, location=scheduled.location,
                      rrule=scheduled.rrule, source_proposal_id=scheduled.source_proposal_id, next=upcoming[:20])


def _group_of(meeting: Meeting) -> uuid.UUID | None:
    return meeting.scheduled.group_id if meeting.scheduled else None


async def _run(request: Request[Any, Any, Any], group_id: uuid.UUID, meeting_id: uuid.UUID, command: Any) -> Meeting:
    return await handle_in_group(request.app.state.store, meeting_decider, command, stream_id=meeting_stream(meeting_id),
                                 cache=_cache(request), group_id=group_id, group_of=_group_of, what="meeting")


async def group_meetings(request: Request[Any, Any, Any], group_id: uuid.UUID) -> list[Meeting]:
    rows = await request.app.state.store.pool.fetch(
        "SELECT stream_id FROM events WHERE group_id = $1 AND type = 'scheduling.MeetingScheduled' ORDER BY seq",
        group_id)
    out = []
    for row in rows:
        meeting, _ = await load(request.app.state.store, meeting_decider, row["stream_id"], _cache(request))
        out.append(meeting)
    return out


@post("/groups/{group_id:uuid}/meetings", tags=TAGS, summary="Schedule a meeting or a series (facilitator)")
async def schedule(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, data: MeetingIn) -> MeetingOut:
    await _roster(request, principal, group_id, manage=True)
    meeting_id = new_id()
    done = await handle(request.app.state.store, meeting_decider, Schedule(
        meeting_id=meeting_id, group_id=group_id, title=data.title, starts_at=data.starts_at, ends_at=data.ends_at,
        location=data.location, rrule=data.rrule, source_proposal_id=None, by=principal.member_id, at=utc_now()),
        group_id=group_id, stream_id=meeting_stream(meeting_id), cache=_cache(request))
    return meeting_out(done.state, utc_now())


@get("/groups/{group_id:uuid}/meetings", tags=TAGS, summary="The group's meetings and their next occurrences")
async def list_meetings(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID) -> list[MeetingOut]:
    await _roster(request, principal, group_id)
    now = utc_now()
    return [meeting_out(m, now) for m in await group_meetings(request, group_id)]


@post("/groups/{group_id:uuid}/meetings/{meeting_id:uuid}/cancel", tags=TAGS, status_code=200,
      summary="Cancel one occurrence (facilitator)")
async def cancel(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
                 data: OccurrenceIn) -> MeetingOut:
    await _roster(request, principal, group_id, manage=True)
    return meeting_out(await _run(request, group_id, meeting_id, Cancel(occurrence=data.occurrence, reason=data.reason,
                                                                         at=utc_now())), utc_now())


@post("/groups/{group_id:uuid}/meetings/{meeting_id:uuid}/move", tags=TAGS, status_code=200,
      summary="Move one occurrence (facilitator)")
async def move(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
               data: MoveIn) -> MeetingOut:
    await _roster(request, principal, group_id, manage=True)
    return meeting_out(await _run(request, group_id, meeting_id, Move(
        occurrence=data.occurrence, starts_at=data.starts_at, ends_at=data.ends_at, at=utc_now())), utc_now())


@post("/groups/{group_id:uuid}/meetings/{meeting_id:uuid}/rsvp", tags=TAGS, status_code=200,
      summary="Answer yes, no or maybe for yourself, with any access needs")
async def rsvp(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
               data: RsvpIn) -> MeetingOut:
    await _roster(request, principal, group_id)
    if principal.member_id is None:
        raise Forbidden("only a member answers for themselves")
    return meeting_out(await _run(request, group_id, meeting_id, Rsvp(
        occurrence=data.occurrence, member_id=principal.member_id, answer=data.answer,
        access_needs=data.access_needs, at=utc_now())), utc_now())


@post("/groups/{group_id:uuid}/meetings/{meeting_id:uuid}/attendance", tags=TAGS, status_code=200,
      summary="Record who came (facilitator)")
async def attendance(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, meeting_id: uuid.UUID,
                     data: AttendanceIn) -> MeetingOut:
    roster = await _roster(request, principal, group_id, manage=True)
    strangers = [m for m in data.present if m not in roster.members]
    if strangers:
        raise NotFound(f"{strangers[0]} is not a member of this group")
    return meeting_out(await _run(request, group_id, meeting_id, RecordAttendance(
        occurrence=data.occurrence, present=tuple(data.present), at=utc_now())), utc_now())


@post("/groups/{group_id:uuid}/calendar-feeds", tags=TAGS,
      summary="A secret .ics address: the group's (facilitator) or your own (personal=true)")
async def issue_feed(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                     personal: bool = False) -> Response[FeedOut]:
    await _roster(request, principal, group_id, manage=not personal)
    if personal and principal.member_id is None:
        raise Forbidden("a personal feed belongs to a member")
    token = f"{FEED_PREFIX}{group_id.hex}_{secrets.token_urlsafe(24)}"
    feed_id = new_id()
    await handle(request.app.state.store, feeds_decider, Issue(
        group_id=group_id, feed_id=feed_id, member_id=principal.member_id if personal else None,
        token_hash=token_digest(token), at=utc_now()),
        group_id=group_id, stream_id=feeds_stream(group_id))
    url = f"{str(request.base_url).rstrip('/')}/calendar/{token}.ics"
    return Response(FeedOut(feed_id=feed_id, url=url, personal=personal), status_code=201,
                    headers={"Cache-Control": "no-store"})


@delete("/groups/{group_id:uuid}/calendar-feeds/{feed_id:uuid}", tags=TAGS, status_code=204,
        summary="Revoke a calendar feed address")
async def revoke_feed(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, feed_id: uuid.UUID) -> None:
    await _roster(request, principal, group_id)
    await handle(request.app.state.store, feeds_decider, Revoke(group_id=group_id, feed_id=feed_id, at=utc_now()),
                 group_id=group_id, stream_id=feeds_stream(group_id))


@get("/calendar/{token:str}", tags=TAGS, summary="A calendar feed (the secret address is the credential)",
     media_type="text/calendar")
async def calendar_feed(request: Request[Any, Any, Any], token: str) -> Response[bytes]:
    secret = token.removesuffix(".ics")
    try:
        group_id = uuid.UUID(hex=secret[len(FEED_PREFIX):].split("_", 1)[0]) if secret.startswith(FEED_PREFIX) else None
    except ValueError:
        group_id = None
    if group_id is None:
        raise NotFound("no such calendar")
    feeds, _ = await load(request.app.state.store, feeds_decider, feeds_stream(group_id))
    found = feeds.by_hash.get(token_digest(secret))
    if found is None:
        raise NotFound("no such calendar (or it was revoked)")
    meetings = await group_meetings(request, group_id)
    member = found[1]
    declined = {(m.scheduled.meeting_id, o) for m in meetings if m.scheduled and member
                for o, who, answer in m.rsvps if who == member and answer == "no"}
    return Response(calendar_of(meetings, "copro meetings", declined), media_type="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})


ROUTES = [schedule, list_meetings, cancel, move, rsvp, attendance, issue_feed, revoke_feed, calendar_feed]
