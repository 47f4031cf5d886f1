"""The gathering itself: planned by a facilitator, read by every member of the group."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post

from services.scheduling.context import Scheduling
from services.scheduling.domain.gathering import Plan, gathering_decider, gathering_stream
from services.scheduling.http.schemas import GatheringIn, GatheringOut, gathering_out
from shared.access.principals import FACILITATORS, Authenticated
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import handle

TAGS = ["gathering"]
GATHERING = "/groups/{group_id:uuid}/gatherings/{gathering_id:uuid}"
"""The path of one gathering: its roles, attendees and table plan are routes below it."""


class GatheringController(Controller):
    """A group's gatherings; every route answers 404 for another group's gathering."""

    path = "/groups/{group_id:uuid}/gatherings"
    tags = TAGS

    @post("/", summary="Plan the gathering (facilitator)")
    async def plan_gathering(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                             data: GatheringIn) -> GatheringOut:
        await service.members.admit(principal, group_id, FACILITATORS, "plan the gathering")
        gathering_id = new_id()
        done = await handle(service.store, gathering_decider, Plan(
            gathering_id=gathering_id, group_id=group_id, title=data.title, venue=data.venue, starts_at=data.starts_at,
            ends_at=data.ends_at, capacity=data.capacity, accessibility=data.accessibility,
            sessions=data.session_specs(), at=utc_now()),
            group_id=group_id, stream_id=gathering_stream(gathering_id), cache=service.gatherings)
        return gathering_out(done.state)

    @get("/", summary="The group's gatherings, in the order they were planned")
    async def list_gatherings(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID
                              ) -> list[GatheringOut]:
        await service.members.admit(principal, group_id)
        return [gathering_out(g) for g in await service.group_gatherings(group_id)]

    @get("/{gathering_id:uuid}", summary="The gathering: roles, sign-ups, registrations, plan")
    async def read_gathering(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                             gathering_id: uuid.UUID) -> GatheringOut:
        await service.members.admit(principal, group_id)
        return gathering_out(await service.gathering(group_id, gathering_id))
