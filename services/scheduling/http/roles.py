"""The gathering's roles: facilitators add them; members sign up, withdraw and swap, for themselves only."""

from __future__ import annotations

import uuid
from collections import Counter

from litestar import Controller, get, post, put

from services.scheduling.context import Scheduling
from services.scheduling.domain.sign_ups import AddRole, CloseSignUps, DeclareCapacity, SignUp, Swap, Withdraw
from services.scheduling.events import RoleSpec
from services.scheduling.http.access import member_and_organisation
from services.scheduling.http.gatherings import GATHERING, TAGS
from services.scheduling.http.schemas import CapacityIn, Fairness, GatheringOut, RoleIn, SwapIn, gathering_out
from shared.access.principals import FACILITATORS, Authenticated
from shared.domain.ids import new_id, utc_now


class RoleController(Controller):
    """Roles and sign-ups of one gathering of the group."""

    path = GATHERING
    tags = TAGS

    @post("/roles", summary="Add a role with its places (facilitator)")
    async def add_role(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID, data: RoleIn) -> GatheringOut:
        await service.members.admit(principal, group_id, FACILITATORS, "add a role")
        role = RoleSpec(role_id=str(new_id()), name=data.name, places=data.places, description=data.description)
        return gathering_out(await service.on_gathering(group_id, gathering_id, AddRole(role=role, at=utc_now())))

    @put("/capacity", summary="Say how many roles you can take, at most")
    async def declare_capacity(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                               gathering_id: uuid.UUID, data: CapacityIn) -> GatheringOut:
        await service.members.admit(principal, group_id)
        member, organisation = member_and_organisation(principal, "say how many roles they can take")
        return gathering_out(await service.on_gathering(group_id, gathering_id, DeclareCapacity(
            member_id=member, organisation_id=organisation, max_roles=data.max_roles, at=utc_now())))

    @post("/roles/{role_id:str}/sign-ups", summary="Sign up for a role (or its waitlist)")
    async def sign_up(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                      gathering_id: uuid.UUID, role_id: str) -> GatheringOut:
        await service.members.admit(principal, group_id)
        member, organisation = member_and_organisation(principal, "sign up for a role")
        return gathering_out(await service.on_gathering(group_id, gathering_id, SignUp(
            role_id=role_id, member_id=member, organisation_id=organisation, at=utc_now())))

    @post("/roles/{role_id:str}/withdraw", status_code=200, summary="Withdraw from a role")
    async def withdraw_from_role(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID, role_id: str) -> GatheringOut:
        await service.members.admit(principal, group_id)
        member, _ = member_and_organisation(principal, "withdraw from a role")
        return gathering_out(await service.on_gathering(group_id, gathering_id, Withdraw(
            role_id=role_id, member_id=member, at=utc_now())))

    @post("/roles/{role_id:str}/swap", status_code=200, summary="Hand your role to another member")
    async def swap_role(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
                   role_id: str, data: SwapIn) -> GatheringOut:
        roster = await service.members.admit(principal, group_id)
        member, _ = member_and_organisation(principal, "hand on a role")
        other = roster.named(data.to_member)
        return gathering_out(await service.on_gathering(group_id, gathering_id, Swap(
            role_id=role_id, member_id=member, to_member=data.to_member, to_organisation=other.organisation_id,
            at=utc_now())))

    @post("/sign-ups/close", status_code=200, summary="Close sign-ups (facilitator)")
    async def close_sign_ups(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                             gathering_id: uuid.UUID) -> GatheringOut:
        await service.members.admit(principal, group_id, FACILITATORS, "close sign-ups")
        return gathering_out(await service.on_gathering(group_id, gathering_id, CloseSignUps(at=utc_now())))

    @get("/fairness", summary="Roles held per person and per organisation")
    async def read_fairness(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID) -> Fairness:
        roster = await service.members.admit(principal, group_id)
        s = (await service.gathering(group_id, gathering_id)).sign_ups
        per_member = Counter(str(m) for holders in s.holders.values() for m in holders)
        per_org = Counter(roster.organisations.get(s.organisations.get(uuid.UUID(m), uuid.UUID(int=0)), "unknown")
                          for m in per_member.elements())
        return Fairness(per_member=dict(per_member), per_organisation=dict(per_org))
