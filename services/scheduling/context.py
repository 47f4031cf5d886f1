"""What scheduling's routes and reaction share, built once at start-up by ``app.start``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from services.scheduling.domain.gathering import Gathering, GatheringCommand, gathering_decider, gathering_stream
from services.scheduling.domain.meetings import Meeting, MeetingCommand, meeting_decider, meeting_stream
from services.scheduling.events import GatheringPlanned, MeetingScheduled
from shared.access.roster import Members
from shared.domain.contract import type_name
from shared.eventlog.handler import StateCache, handle_in_group, load, load_in_group
from shared.eventlog.store import EventStore


def _meeting_group(meeting: Meeting) -> uuid.UUID | None:
    return meeting.scheduled.group_id if meeting.scheduled else None


def _gathering_group(gathering: Gathering) -> uuid.UUID | None:
    return gathering.planned.group_id if gathering.planned else None


@dataclass(frozen=True)
class Scheduling:
    """The log, the group rosters, and the meeting and gathering states recently used."""

    store: EventStore
    members: Members
    meetings: StateCache[Meeting] = field(default_factory=StateCache)
    gatherings: StateCache[Gathering] = field(default_factory=StateCache)

    def forget_cached(self) -> None:
        """After anyone was forgotten: cached states may still hold their access needs or name."""
        self.meetings.clear()
        self.gatherings.clear()

    async def group_meetings(self, group_id: uuid.UUID) -> list[Meeting]:
        """Every meeting of the group, in the order they were scheduled."""
        rows = await self.store.pool.fetch(
            "SELECT stream_id FROM events WHERE group_id = $1 AND type = $2 ORDER BY seq",
            group_id, type_name(MeetingScheduled))
        out = []
        for row in rows:
            meeting, _ = await load(self.store, meeting_decider, row["stream_id"], self.meetings)
            out.append(meeting)
        return out

    async def group_gatherings(self, group_id: uuid.UUID) -> list[Gathering]:
        """Every gathering of the group, in the order they were planned."""
        rows = await self.store.pool.fetch(
            "SELECT stream_id FROM events WHERE group_id = $1 AND type = $2 ORDER BY seq",
            group_id, type_name(GatheringPlanned))
        return [(await load(self.store, gathering_decider, row["stream_id"], self.gatherings))[0] for row in rows]

    async def on_meeting(self, group_id: uuid.UUID, meeting_id: uuid.UUID, command: MeetingCommand) -> Meeting:
        """A command on a meeting of this group (404 for none, or another group's); the meeting after it."""
        return await handle_in_group(self.store, meeting_decider, command, stream_id=meeting_stream(meeting_id),
                                     cache=self.meetings, group_id=group_id, group_of=_meeting_group, what="meeting")

    async def gathering(self, group_id: uuid.UUID, gathering_id: uuid.UUID) -> Gathering:
        """A gathering of this group (404 for none, or another group's)."""
        return await load_in_group(self.store, gathering_decider, gathering_stream(gathering_id), self.gatherings,
                                   group_id, _gathering_group, "gathering")

    async def on_gathering(self, group_id: uuid.UUID, gathering_id: uuid.UUID, command: GatheringCommand) -> Gathering:
        """A command on a gathering of this group (404 for none, or another group's); the gathering after it."""
        return await handle_in_group(self.store, gathering_decider, command, stream_id=gathering_stream(gathering_id),
                                     cache=self.gatherings, group_id=group_id, group_of=_gathering_group,
                                     what="gathering")
