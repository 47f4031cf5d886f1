"""The request and response bodies of scheduling's API (unknown fields are refused in every request)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from services.scheduling.domain.gathering import Gathering
from services.scheduling.domain.meetings import Meeting
from services.scheduling.events import Answer, Perspective, Session, TableSpec
from shared.domain.input import Body, Instant

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]

# --- meetings and calendar feeds ---------------------------------------------------------------


class MeetingIn(Body):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    starts_at: Instant
    ends_at: Instant
    location: Annotated[str, msgspec.Meta(max_length=500)] = ""
    rrule: Annotated[str, msgspec.Meta(min_length=1, max_length=500, description="an RFC 5545 RRULE")] | None = None


class OccurrenceIn(Body):
    occurrence: Instant
    reason: Annotated[str, msgspec.Meta(
        max_length=2000, description="The facilitator's own words, encrypted for them (the operator gives none)")] = ""


class MoveIn(Body):
    occurrence: Instant
    starts_at: Instant
    ends_at: Instant
    location: Annotated[str, msgspec.Meta(max_length=500, description=(
        "where this occurrence is held instead; left out, it stays at the meeting's location"))] | None = None


class RsvpIn(Body):
    occurrence: Instant
    answer: Answer
    access_needs: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class AttendanceIn(Body):
    occurrence: Instant
    present: Annotated[list[uuid.UUID], msgspec.Meta(max_length=1000)]


class Occurrence(msgspec.Struct):
    """Times in the meeting's time zone, with their offset (``2030-03-31T10:30:00+01:00``)."""

    starts_at: datetime
    ends_at: datetime
    location: str
    moved_from: datetime | None
    answers: dict[str, str]
    needs: Annotated[dict[str, str], msgspec.Meta(description=(
        "access needs given with the answers, by member: a facilitator sees everyone's, a member their own, "
        "others none (health and disability in a person's own words)"))] = msgspec.field(default_factory=dict)


class MeetingOut(msgspec.Struct):
    meeting_id: uuid.UUID
    title: str
    location: str
    rrule: str | None
    time_zone: Annotated[str | None, msgspec.Meta(description=(
        "the IANA zone the meeting is scheduled and expanded in; null for a meeting recorded before meetings "
        "had one (expanded at the offset it was given)"))]
    source_proposal_id: uuid.UUID | None
    next: Annotated[list[Occurrence], msgspec.Meta(description=(
        "the occurrences of the next 90 days (at most 20), as moved, with their answers"))]
    starts_at: Annotated[datetime, msgspec.Meta(description=(
        "when the meeting (its first occurrence) starts, in its zone: a meeting further off than 90 days has "
        "no `next` yet"))]
    ends_at: datetime


class FeedOut(msgspec.Struct):
    feed_id: uuid.UUID
    url: str
    personal: bool


def meeting_out(meeting: Meeting, now: datetime, days: int = 90,
                sees_needs: Callable[[uuid.UUID], bool] = lambda member: False) -> MeetingOut:
    """The meeting with its next occurrences (at most 20 within ``days``), as moved, with their answers and the
    access needs the reader may see (``sees_needs``: everyone's for a facilitator, their own for a member)."""
    scheduled = meeting.scheduled
    assert scheduled is not None
    length = scheduled.ends_at - scheduled.starts_at  # wall-clock length: 90 minutes stay 90 minutes local
    moves = meeting.moves()
    upcoming = []
    for occurrence in meeting.occurrences(now - timedelta(days=1), now + timedelta(days=days)):
        moved = moves.get(occurrence)
        upcoming.append(Occurrence(
            starts_at=moved.starts_at if moved else occurrence, ends_at=moved.ends_at if moved else occurrence + length,
            location=scheduled.location if moved is None or moved.location is None else moved.location,
            moved_from=occurrence if moved else None,
            answers={str(m): a for m, a in meeting.answers(occurrence).items()},
            needs={str(m): n for m, n in meeting.needs_at(occurrence).items() if sees_needs(m)}))
    return MeetingOut(meeting_id=scheduled.meeting_id, title=scheduled.title, location=scheduled.location,
                      rrule=scheduled.rrule, time_zone=scheduled.time_zone,
                      source_proposal_id=scheduled.source_proposal_id, next=upcoming[:20],
                      starts_at=scheduled.starts_at, ends_at=scheduled.ends_at)


# --- the gathering -----------------------------------------------------------------------------


class SessionIn(Body):
    title: Name
    starts_at: Instant
    ends_at: Instant


class TableSpecIn(Body):
    table_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    size: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    features: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=60)]], msgspec.Meta(max_length=10)] = (
        msgspec.field(default_factory=list))


class GatheringIn(Body):
    title: Name
    venue: Name
    starts_at: Instant
    ends_at: Instant
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    accessibility: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    sessions: Annotated[list[SessionIn], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)

    def session_specs(self) -> tuple[Session, ...]:
        return tuple(Session(title=x.title, starts_at=x.starts_at, ends_at=x.ends_at) for x in self.sessions)


class RoleIn(Body):
    name: Name
    places: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class CapacityIn(Body):
    max_roles: Annotated[int, msgspec.Meta(ge=0, le=50)]


class SwapIn(Body):
    to_member: uuid.UUID


class RegistrationOut(msgspec.Struct):
    attendee_id: uuid.UUID
    waitlisted: bool


class AttendeeIn(Body):
    name: Name
    perspective: Perspective
    organisation: Name
    needs: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=60)]], msgspec.Meta(max_length=10)] = (
        msgspec.field(default_factory=list))
    seat_with: Annotated[list[uuid.UUID], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    not_with: Annotated[list[uuid.UUID], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)


class TablesIn(Body):
    tables: Annotated[list[TableSpecIn], msgspec.Meta(min_length=1, max_length=5000)]

    def specs(self) -> tuple[TableSpec, ...]:
        return tuple(TableSpec(table_id=t.table_id, size=t.size, features=tuple(t.features)) for t in self.tables)


class RoleOut(msgspec.Struct):
    role_id: str
    name: str
    places: int
    holders: list[uuid.UUID]
    waitlist: list[uuid.UUID]


class GatheringOut(msgspec.Struct):
    gathering_id: uuid.UUID
    title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accessibility: str
    sessions: list[Session]
    roles: list[RoleOut]
    sign_ups_open: bool
    registered: int
    waitlisted: int
    tables: int
    plan_quality: float | None
    table_quality: dict[str, float]
    plan_locked: bool


class Fairness(msgspec.Struct):
    per_member: dict[str, int]
    per_organisation: dict[str, int]


def gathering_out(g: Gathering) -> GatheringOut:
    p = g.planned
    assert p is not None
    s = g.sign_ups
    return GatheringOut(
        gathering_id=p.gathering_id, title=p.title, venue=p.venue, starts_at=p.starts_at, ends_at=p.ends_at,
        capacity=p.capacity, accessibility=p.accessibility, sessions=list(p.sessions),
        roles=[RoleOut(role_id=r.role_id, name=r.name, places=r.places, holders=list(s.holders.get(r.role_id, ())),
                       waitlist=list(s.waiting.get(r.role_id, ()))) for r in s.roles.values()],
        sign_ups_open=s.open, registered=len(g.attendees.registered), waitlisted=len(g.attendees.waitlist),
        tables=len(g.seating.tables), plan_quality=g.seating.overall, table_quality=dict(g.seating.quality),
        plan_locked=g.seating.locked,
    )
