"""HTTP: a group's members (added, changed, removed, forgotten) and their API tokens."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from litestar import Controller, Response, delete, get, patch, post

from services.decisions.context import Decisions
from services.decisions.domain.group import (
    AddMember,
    ForgetMember,
    IssueToken,
    RemoveMember,
    RevokeToken,
    UpdateMember,
)
from services.decisions.events import MemberAdded, TokenIssued
from services.decisions.http.groups import group_out, managed, member_out
from services.decisions.http.schemas import (
    ForgetIn,
    MemberIn,
    MemberOut,
    MemberPatch,
    OrganisationOut,
    TokenIn,
    TokenOut,
)
from shared.access.principals import Authenticated
from shared.access.roster import member_token
from shared.access.tokens import token_digest
from shared.domain.errors import Forbidden, InvalidCommand
from shared.domain.ids import new_id, utc_now
from shared.eventlog.forgetting import forget
from shared.eventlog.handler import Idempotency
from shared.web.kernel import Kernel

TAGS = ["groups"]


class MemberController(Controller):
    path = "/groups/{group_id:uuid}/members"
    tags = TAGS

    @get("/", summary="The group's members, per partner organisation")
    async def list_members(self, principal: Authenticated, service: Decisions, group_id: uuid.UUID
                           ) -> list[OrganisationOut]:
        return group_out(await service.admitted(principal, group_id)).organisations

    @post("/", summary="Add a member (facilitator)")
    async def add_member(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        data: MemberIn,
    ) -> MemberOut:
        await managed(service, principal, group_id)
        command = AddMember(member_id=new_id(), name=data.name, organisation_id=data.organisation_id,
                            lived_experience=data.lived_experience, roles=tuple(data.roles), at=utc_now())
        group, events = await service.on_group(group_id, command, once)
        added = next(e for e in events if isinstance(e, MemberAdded))
        return member_out(group.members[added.member_id])

    @patch("/{member_id:uuid}", summary="Change a member (facilitator)")
    async def update_member(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        member_id: uuid.UUID, data: MemberPatch,
    ) -> MemberOut:
        await managed(service, principal, group_id)
        command = UpdateMember(member_id=member_id, at=utc_now(), name=data.name, organisation_id=data.organisation_id,
                               lived_experience=data.lived_experience,
                               roles=tuple(data.roles) if data.roles is not None else None)
        group, _ = await service.on_group(group_id, command, once)
        return member_out(group.members[member_id])

    @delete("/{member_id:uuid}", summary="Remove a member (facilitator)", status_code=204)
    async def remove_member(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        member_id: uuid.UUID,
    ) -> None:
        await managed(service, principal, group_id)
        await service.on_group(group_id, RemoveMember(member_id=member_id, at=utc_now()), once)

    @post("/{member_id:uuid}/forget", status_code=200,
          summary="Forget a member's personal data, with their consent recorded (facilitator)")
    async def forget_member(
        self, once: Idempotency, principal: Authenticated, service: Decisions, kernel: Kernel,
        group_id: uuid.UUID, member_id: uuid.UUID, data: ForgetIn,
    ) -> MemberOut:
        await managed(service, principal, group_id)
        command = ForgetMember(member_id=member_id, by=principal.member_id, consent=data.consent, at=utc_now())
        group, _ = await service.on_group(group_id, command, once)
        await forget(kernel.store, member_id)
        return member_out(group.members[member_id])


def _expiry(data: TokenIn, now: datetime) -> datetime | None:
    if data.expires_in_days is not None and data.expires_at is not None:
        raise InvalidCommand("give expires_in_days or expires_at, not both", field="expires_at")
    if data.expires_in_days is not None:
        return now + timedelta(days=data.expires_in_days)
    return data.expires_at


class TokenController(Controller):
    path = "/groups/{group_id:uuid}"
    tags = TAGS

    @post("/members/{member_id:uuid}/tokens",
          summary="Issue an API token for a member (facilitator), optionally expiring; the token is shown once")
    async def issue_token(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID, member_id: uuid.UUID,
        data: TokenIn | None = None,
    ) -> Response[TokenOut]:
        await managed(service, principal, group_id)
        token = member_token(group_id, secrets.token_urlsafe(32))
        now = utc_now()
        command = IssueToken(member_id=member_id, token_id=new_id(), token_hash=token_digest(token), at=now,
                             expires_at=_expiry(data or TokenIn(), now))
        if once.key:
            raise Forbidden("tokens are shown once: issue them without an Idempotency-Key", field="Idempotency-Key")
        _, events = await service.on_group(group_id, command, once)
        issued = next(e for e in events if isinstance(e, TokenIssued))
        body = TokenOut(token_id=issued.token_id, member_id=member_id, token=token, expires_at=issued.expires_at)
        return Response(body, status_code=201, headers={"Cache-Control": "no-store"})

    @delete("/tokens/{token_id:uuid}", summary="Revoke a token (facilitator)", status_code=204)
    async def revoke_token(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        token_id: uuid.UUID,
    ) -> None:
        await managed(service, principal, group_id)
        await service.on_group(group_id, RevokeToken(token_id=token_id, at=utc_now()), once)
