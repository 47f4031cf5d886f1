"""HTTP: groups, their partner organisations, members, tokens and default rule."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from litestar import Request, Response, delete, get, patch, post, put

from services.decisions.access import MANAGE, Caller, caller, execute, state
from services.decisions.domain.events import MemberAdded, Organisation, TokenIssued
from services.decisions.domain.group import (
    AddMember,
    AdoptRule,
    CreateGroup,
    ForgetMember,
    Group,
    IssueToken,
    RegisterKey,
    RemoveMember,
    RevokeToken,
    UpdateMember,
    group_decider,
    group_stream,
)
from services.decisions.domain.rules import Rule
from services.decisions.schemas import (
    CountersignIn,
    CreateGroupIn,
    ForgetIn,
    GroupOut,
    KeyIn,
    MemberIn,
    MemberOut,
    MemberPatch,
    OrganisationOut,
    TokenOut,
)
from shared.access.principals import Authenticated, Principal
from shared.access.roster import member_token
from shared.access.tokens import token_digest
from shared.audit.signing import countersign
from shared.domain.errors import Forbidden, InvalidCommand
from shared.domain.ids import new_id, utc_now
from shared.eventlog.envelope import Metadata
from shared.eventlog.forgetting import forget
from shared.eventlog.handler import handle

TAGS = ["groups"]


def group_out(group: Group) -> GroupOut:
    assert group.group_id is not None
    return GroupOut(
        group_id=group.group_id, name=group.name, rule=group.rule,
        organisations=[
            OrganisationOut(id=o.id, name=o.name, members=[
                member_out(group, m) for m in group.members.values() if m.organisation_id == o.id
            ])
            for o in group.organisations
        ],
    )


def member_out(group: Group, member: Any) -> MemberOut:
    return MemberOut(member_id=member.member_id, name=member.name, organisation_id=member.organisation_id,
                     lived_experience=member.lived_experience, roles=list(member.roles))


async def _managed(request: Request[Any, Any, Any], principal: Principal, group_id: uuid.UUID) -> Caller:
    who = await caller(request, principal, group_id)
    who.require(MANAGE, "manage the group")
    return who


@post("/groups", tags=TAGS, summary="Create a working group with its partner organisations (operator)")
async def create_group(request: Request[Any, Any, Any], principal: Authenticated, data: CreateGroupIn) -> GroupOut:
    if not principal.is_operator:
        raise Forbidden("only the operator creates groups")
    group_id = new_id()
    command = CreateGroup(
        group_id=group_id, name=data.name, rule=data.rule, at=utc_now(),
        organisations=tuple(Organisation(id=new_id(), name=o.name) for o in data.organisations),
    )
    done = await handle(state(request, "store"), group_decider, command, group_id=group_id, stream_id=group_stream(group_id),
                        metadata=Metadata(), cache=state(request, "directory").groups)
    return group_out(done.state)


@get("/groups/{group_id:uuid}", tags=TAGS, summary="A group: its rule, partners and members per organisation")
async def read_group(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID) -> GroupOut:
    return group_out((await caller(request, principal, group_id)).group)


@get("/groups/{group_id:uuid}/members", tags=TAGS, summary="The group's members, per partner organisation")
async def list_members(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID
) -> list[OrganisationOut]:
    return group_out((await caller(request, principal, group_id)).group).organisations


@post("/groups/{group_id:uuid}/members", tags=TAGS, summary="Add a member (facilitator)")
async def add_member(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, data: MemberIn
) -> MemberOut:
    who = await _managed(request, principal, group_id)
    command = AddMember(member_id=new_id(), name=data.name, organisation_id=data.organisation_id,
                        lived_experience=data.lived_experience, roles=tuple(data.roles), at=utc_now())
    group, events = await execute(request, who, group_decider, command, group_stream(group_id),
                                  state(request, "directory").groups)
    added = next(e for e in events if isinstance(e, MemberAdded))
    return member_out(group, group.members[added.member_id])


@patch("/groups/{group_id:uuid}/members/{member_id:uuid}", tags=TAGS, summary="Change a member (facilitator)")
async def update_member(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, member_id: uuid.UUID,
    data: MemberPatch,
) -> MemberOut:
    who = await _managed(request, principal, group_id)
    command = UpdateMember(member_id=member_id, at=utc_now(), name=data.name, organisation_id=data.organisation_id,
                           lived_experience=data.lived_experience,
                           roles=tuple(data.roles) if data.roles is not None else None)
    group, _ = await execute(request, who, group_decider, command, group_stream(group_id),
                             state(request, "directory").groups)
    return member_out(group, group.members[member_id])


@delete("/groups/{group_id:uuid}/members/{member_id:uuid}", tags=TAGS, summary="Remove a member (facilitator)",
        status_code=204)
async def remove_member(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    who = await _managed(request, principal, group_id)
    await execute(request, who, group_decider, RemoveMember(member_id=member_id, at=utc_now()),
                  group_stream(group_id), state(request, "directory").groups)


@post("/groups/{group_id:uuid}/members/{member_id:uuid}/forget", tags=TAGS, status_code=200,
      summary="Forget a member's personal data, with their consent recorded (facilitator)")
async def forget_member(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, member_id: uuid.UUID,
    data: ForgetIn,
) -> MemberOut:
    who = await _managed(request, principal, group_id)
    command = ForgetMember(member_id=member_id, by=principal.member_id, consent=data.consent, at=utc_now())
    group, _ = await execute(request, who, group_decider, command, group_stream(group_id),
                             state(request, "directory").groups)
    await forget(state(request, "store"), member_id)
    return member_out(group, group.members[member_id])


@post("/groups/{group_id:uuid}/members/{member_id:uuid}/tokens", tags=TAGS,
      summary="Issue an API token for a member (facilitator); the token is shown once")
async def issue_token(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, member_id: uuid.UUID
) -> Response[TokenOut]:
    who = await _managed(request, principal, group_id)
    token = member_token(group_id, secrets.token_urlsafe(32))
    command = IssueToken(member_id=member_id, token_id=new_id(), token_hash=token_digest(token), at=utc_now())
    if request.headers.get("idempotency-key"):
        raise Forbidden("tokens are shown once: issue them without an Idempotency-Key", field="Idempotency-Key")
    _, events = await execute(request, who, group_decider, command, group_stream(group_id),
                              state(request, "directory").groups)
    issued = next(e for e in events if isinstance(e, TokenIssued))
    body = TokenOut(token_id=issued.token_id, member_id=member_id, token=token)
    return Response(body, status_code=201, headers={"Cache-Control": "no-store"})


@delete("/groups/{group_id:uuid}/tokens/{token_id:uuid}", tags=TAGS, summary="Revoke a token (facilitator)",
        status_code=204)
async def revoke_token(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, token_id: uuid.UUID
) -> None:
    who = await _managed(request, principal, group_id)
    await execute(request, who, group_decider, RevokeToken(token_id=token_id, at=utc_now()), group_stream(group_id),
                  state(request, "directory").groups)


@put("/groups/{group_id:uuid}/organisations/{organisation_id:uuid}/key", tags=TAGS,
     summary="Register a partner organisation's Ed25519 key for countersigning checkpoints (facilitator)")
async def register_key(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, organisation_id: uuid.UUID,
    data: KeyIn,
) -> GroupOut:
    who = await _managed(request, principal, group_id)
    if not principal.is_operator and principal.organisation_id != organisation_id:
        raise Forbidden("a facilitator registers their own organisation's key", field="organisation_id")
    command = RegisterKey(organisation_id=organisation_id, public_key=data.public_key, at=utc_now())
    group, _ = await execute(request, who, group_decider, command, group_stream(group_id),
                             state(request, "directory").groups)
    return group_out(group)


@post("/groups/{group_id:uuid}/checkpoints/{position:int}/signatures", tags=TAGS, status_code=201,
      summary="Countersign a checkpoint with a partner organisation's key (facilitator of that organisation)")
async def countersign_checkpoint(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, position: int,
    data: CountersignIn,
) -> dict[str, Any]:
    who = await _managed(request, principal, group_id)
    if not principal.is_operator and principal.organisation_id != data.organisation_id:
        raise Forbidden("a facilitator countersigns for their own organisation", field="organisation_id")
    key = who.group.keys.get(data.organisation_id)
    if key is None:
        raise InvalidCommand("register the organisation's key first", field="organisation_id")
    try:
        signature = base64.b64decode(data.signature, validate=True)
    except ValueError:
        raise InvalidCommand("the signature is not base64", field="signature") from None
    if not await countersign(state(request, "store"), position, f"organisation:{data.organisation_id}",
                             base64.b64decode(key), signature):
        raise InvalidCommand(f"the signature does not verify for checkpoint {position} with the registered key",
                             field="signature")
    return {"position": position, "signer": f"organisation:{data.organisation_id}", "valid": True}


@put("/groups/{group_id:uuid}/rule", tags=TAGS, summary="Adopt the group's default decision rule (facilitator)")
async def adopt_rule(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, data: Rule
) -> GroupOut:
    who = await _managed(request, principal, group_id)
    group, _ = await execute(request, who, group_decider, AdoptRule(rule=data, at=utc_now()), group_stream(group_id),
                             state(request, "directory").groups)
    return group_out(group)


ROUTES = [create_group, read_group, list_members, add_member, update_member, remove_member, forget_member,
          issue_token, revoke_token, adopt_rule, register_key, countersign_checkpoint]
