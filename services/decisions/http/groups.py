"""HTTP: working groups, their default rule, and how a group is shown (partners with their members)."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post, put

from services.decisions.context import Decisions
from services.decisions.domain.group import (
    AdoptRule,
    ChangeTimeZone,
    CreateGroup,
    Group,
    Member,
    group_decider,
    group_stream,
)
from services.decisions.domain.rules import RuleIn
from services.decisions.events import Organisation
from services.decisions.http.schemas import CreateGroupIn, GroupOut, MemberOut, OrganisationOut, TimeZoneIn
from shared.access.guards import require_role
from shared.access.principals import FACILITATORS, Authenticated, Principal
from shared.domain.errors import Forbidden
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import Idempotency, handle

TAGS = ["groups"]


def group_out(group: Group) -> GroupOut:
    assert group.group_id is not None
    return GroupOut(
        group_id=group.group_id, name=group.name, rule=group.rule, time_zone=group.time_zone,
        organisations=[
            OrganisationOut(id=o.id, name=o.name, members=[
                member_out(m) for m in group.members.values() if m.organisation_id == o.id
            ])
            for o in group.organisations
        ],
    )


def member_out(member: Member) -> MemberOut:
    return MemberOut(member_id=member.member_id, name=member.name, organisation_id=member.organisation_id,
                     lived_experience=member.lived_experience, roles=list(member.roles), forgotten=member.forgotten)


async def managed(service: Decisions, principal: Principal, group_id: uuid.UUID) -> Group:
    """The group, for a caller who manages it: the operator or one of its facilitators (404 / 403 otherwise)."""
    group = await service.admitted(principal, group_id)
    require_role(principal, FACILITATORS, "manage the group")
    return group


class GroupController(Controller):
    path = "/groups"
    tags = TAGS

    @post("/", summary="Create a working group with its partner organisations (operator)")
    async def create_group(self, principal: Authenticated, service: Decisions, data: CreateGroupIn) -> GroupOut:
        if not principal.is_operator:
            raise Forbidden("only the operator creates groups")
        group_id = new_id()
        command = CreateGroup(
            group_id=group_id, name=data.name, rule=data.rule.resolve(), at=utc_now(), time_zone=data.time_zone,
            organisations=tuple(Organisation(id=new_id(), name=o.name) for o in data.organisations),
        )
        done = await handle(service.store, group_decider, command, group_id=group_id,
                            stream_id=group_stream(group_id), cache=service.groups)
        return group_out(done.state)

    @get("/{group_id:uuid}", summary="A group: its rule, partners and members per organisation")
    async def read_group(self, principal: Authenticated, service: Decisions, group_id: uuid.UUID) -> GroupOut:
        return group_out(await service.admitted(principal, group_id))


class TimeZoneController(Controller):
    path = "/groups/{group_id:uuid}/time-zone"
    tags = TAGS

    @put("/", summary="Change the group's time zone: meetings scheduled from now on are in it (facilitator)")
    async def change_time_zone(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID, data: TimeZoneIn,
    ) -> GroupOut:
        await managed(service, principal, group_id)
        group, _ = await service.on_group(group_id, ChangeTimeZone(time_zone=data.time_zone, at=utc_now()), once)
        return group_out(group)


class RuleController(Controller):
    path = "/groups/{group_id:uuid}/rule"
    tags = TAGS

    @put("/", summary="Adopt the group's default decision rule (facilitator)")
    async def adopt_rule(
        self, once: Idempotency, principal: Authenticated, service: Decisions,
        group_id: uuid.UUID, data: RuleIn,
    ) -> GroupOut:
        await managed(service, principal, group_id)
        group, _ = await service.on_group(group_id, AdoptRule(rule=data.resolve(), at=utc_now()), once)
        return group_out(group)
