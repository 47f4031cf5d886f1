"""What scheduling does when decisions records something: a `time` proposal closed becomes a meeting, and a
member forgotten takes the gathering registrations they made with them, once each, whatever the redeliveries.

The chosen slot's times are read from the proposal's own events in the log
(decisions' ProposalOpened, with small structs of just these fields: this
service never imports decisions); the meeting's id is derived from the
proposal's, so scheduling it twice is a no-op.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg
import msgspec

from services.scheduling.context import Scheduling
from services.scheduling.domain.meetings import Meeting, Schedule, meeting_decider, meeting_stream
from shared.domain.contract import type_name
from shared.domain.errors import CommandRejected
from shared.domain.ids import utc_now
from shared.eventlog.forgetting import forget_on
from shared.eventlog.handler import StateCache, handle
from shared.eventlog.store import EventLog
from shared.fanout.cloudevents import Delivered
from shared.fanout.consumer import Handler, Reaction

MEETINGS = uuid.UUID("5c4e0c1e-7d3a-4c55-9a36-0b5f7e1a2c01")  # namespace: meeting id from proposal id
DECISIONS_PROPOSAL_STREAM = "decisions.proposal."  # decisions' stream of one proposal: this prefix and its id


class _Outcome(msgspec.Struct):
    result: str
    chosen: tuple[str, ...]


class _Closed(msgspec.Struct):
    proposal_id: uuid.UUID
    group_id: uuid.UUID
    outcome: _Outcome


class _Slot(msgspec.Struct):
    id: str
    label: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class _Opened(msgspec.Struct, tag="decisions.ProposalOpened"):
    kind: str
    title: str
    options: tuple[_Slot, ...]


def meeting_for(proposal_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(MEETINGS, str(proposal_id))


ZoneOf = Callable[[uuid.UUID], Awaitable[str]]
"""The group's time zone, as decisions' group events say now (the kernel's roster)."""


async def schedule_chosen_slot(store: EventLog, meetings: StateCache[Meeting] | None, delivered: Delivered,
                               zone_of: ZoneOf) -> None:
    """The meeting a closed `time` proposal chose, scheduled once in the group's time zone; any other outcome
    changes nothing."""
    closed = delivered.decode(_Closed)
    if closed.outcome.result != "chosen" or not closed.outcome.chosen:
        return
    history = await store.read_stream(f"{DECISIONS_PROPOSAL_STREAM}{closed.proposal_id}", after_version=0)
    opened = next((msgspec.json.decode(e.data, type=_Opened) for e in history
                   if e.type == type_name(_Opened)), None)
    if opened is None or opened.kind != "time":
        return
    slot = next((o for o in opened.options if o.id == closed.outcome.chosen[0]), None)
    if slot is None or slot.starts_at is None or slot.ends_at is None:
        return
    meeting_id = meeting_for(closed.proposal_id)
    command = Schedule(meeting_id=meeting_id, group_id=closed.group_id, title=opened.title,
                       starts_at=slot.starts_at, ends_at=slot.ends_at, location="", rrule=None,
                       source_proposal_id=closed.proposal_id, by=None, at=utc_now(),
                       time_zone=await zone_of(closed.group_id))
    with contextlib.suppress(CommandRejected):  # scheduled already: a redelivery
        await handle(store, meeting_decider, command, group_id=closed.group_id,
                     stream_id=meeting_stream(meeting_id), cache=meetings)


def make_handler(service: Scheduling) -> Handler:
    async def zone_of(group_id: uuid.UUID) -> str:
        return (await service.members.roster(group_id)).time_zone

    async def on_proposal_closed(conn: asyncpg.Connection, delivered: Delivered) -> None:
        await schedule_chosen_slot(service.store, service.meetings, delivered, zone_of)

    return on_proposal_closed


class _Forgotten(msgspec.Struct):
    group_id: uuid.UUID
    member_id: uuid.UUID


_REGISTERED_BY = (
    "SELECT DISTINCT (convert_from(payload, 'UTF8')::jsonb ->> 'attendee_id')::uuid FROM events"
    " WHERE group_id = $1 AND type = 'scheduling.AttendeeRegistered'"
    " AND convert_from(payload, 'UTF8')::jsonb ->> 'by' = $2"
)


async def forget_registrations(conn: asyncpg.Connection, delivered: Delivered) -> None:
    """A member forgotten in decisions: the gathering registrations they made are forgotten with them (their name
    and access needs are theirs, encrypted for each registration's attendee id, not for the member)."""
    forgotten = delivered.decode(_Forgotten)
    attendees = [row[0] for row in await conn.fetch(_REGISTERED_BY, forgotten.group_id, str(forgotten.member_id))]
    await forget_on(conn, attendees)


def forgetting_handler(service: Scheduling) -> Handler:
    return forget_registrations


REACTIONS = [Reaction[Scheduling](name="time-proposals", subjects=("copro.*.decisions.ProposalClosed",),
                                  make_handler=make_handler),
             Reaction[Scheduling](name="forgotten-members", subjects=("copro.*.decisions.MemberForgotten",),
                                  make_handler=forgetting_handler)]
