"""The working group's constitution: partners, members, roles, tokens and default rule.

Read in order: the stream, the state, decide, evolve, the decider (the commands: ``group_commands.py``).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import assert_never

from services.decisions.domain.group_commands import (
    AddMember as AddMember,
)
from services.decisions.domain.group_commands import (
    AdoptRule as AdoptRule,
)
from services.decisions.domain.group_commands import (
    ChangeTimeZone as ChangeTimeZone,
)
from services.decisions.domain.group_commands import (
    CreateGroup as CreateGroup,
)
from services.decisions.domain.group_commands import (
    ForgetMember as ForgetMember,
)
from services.decisions.domain.group_commands import (
    GroupCommand as GroupCommand,
)
from services.decisions.domain.group_commands import (
    IssueSignInLink as IssueSignInLink,
)
from services.decisions.domain.group_commands import (
    IssueToken as IssueToken,
)
from services.decisions.domain.group_commands import (
    RegisterKey as RegisterKey,
)
from services.decisions.domain.group_commands import (
    RemoveMember as RemoveMember,
)
from services.decisions.domain.group_commands import (
    RevokeToken as RevokeToken,
)
from services.decisions.domain.group_commands import (
    SignIn as SignIn,
)
from services.decisions.domain.group_commands import (
    SignOutEverywhere as SignOutEverywhere,
)
from services.decisions.domain.group_commands import (
    UpdateMember as UpdateMember,
)
from services.decisions.domain.rules import Rule
from services.decisions.events import (
    DefaultRuleAdopted,
    GroupCreated,
    GroupEvent,
    MemberAdded,
    MemberForgotten,
    MemberRemoved,
    MemberUpdated,
    Organisation,
    OrganisationKeyRegistered,
    SignedIn,
    SignInLinkIssued,
    TimeZoneChanged,
    TokenIssued,
    TokenRevoked,
)
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound, PersonForgotten, Unauthenticated
from shared.domain.roles import Role
from shared.domain.zones import RECORDED_BEFORE_ZONES, is_time_zone


def group_stream(group_id: uuid.UUID) -> str:
    return f"decisions.group.{group_id}"


# -- state ----------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    member_id: uuid.UUID
    name: str | None
    organisation_id: uuid.UUID
    lived_experience: bool
    roles: tuple[Role, ...]
    forgotten: bool = False


@dataclass(frozen=True)
class Group:
    group_id: uuid.UUID | None = None
    name: str = ""
    organisations: tuple[Organisation, ...] = ()
    rule: Rule = field(default_factory=Rule)
    members: dict[uuid.UUID, Member] = field(default_factory=dict)
    tokens: dict[uuid.UUID, tuple[uuid.UUID, str]] = field(default_factory=dict)  # token id -> (member, hash)
    keys: dict[uuid.UUID, str] = field(default_factory=dict)  # organisation -> Ed25519 public key (base64)
    links: dict[str, tuple[uuid.UUID, uuid.UUID, datetime]] = field(default_factory=dict)  # code hash -> (link, member, expiry)
    time_zone: str = RECORDED_BEFORE_ZONES

    @property
    def exists(self) -> bool:
        return self.group_id is not None

    def organisation_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(o.id for o in self.organisations)


# -- decide ---------------------------------------------------------------------


def _is_public_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except ValueError:
        return False


def _check_rule(rule: Rule) -> None:
    if (problem := rule.problem()) is not None:
        raise InvalidCommand(problem[1], field=problem[0])


def _check_time_zone(name: str) -> None:
    if not is_time_zone(name):
        raise InvalidCommand(f"{name!r} is not an IANA time zone name (such as Europe/London)", field="time_zone")


def _check_member_fields(group: Group, organisation_id: uuid.UUID, roles: tuple[Role, ...]) -> None:
    if organisation_id not in group.organisation_ids():
        raise InvalidCommand("the organisation is not a partner of this group", field="organisation_id")
    if not roles:
        raise InvalidCommand("a member needs at least one role", field="roles")


def _existing(group: Group) -> uuid.UUID:
    """The group's id; every command but creation needs the group to exist."""
    if group.group_id is None:
        raise NotFound("no such group")
    return group.group_id


def _member(group: Group, member_id: uuid.UUID) -> Member:
    _existing(group)
    member = group.members.get(member_id)
    if member is None:
        raise NotFound("no such member in this group")
    return member


def _acting(group: Group, member_id: uuid.UUID) -> Member:
    """A member who may still be given a way in: never a forgotten one (410), whoever asks."""
    member = _member(group, member_id)
    if member.forgotten:
        raise PersonForgotten("this member was forgotten: nobody can sign in as them any more", field="member_id")
    return member


def _create(command: CreateGroup, group: Group) -> list[GroupEvent]:
    if group.exists:
        raise CommandRejected("this group exists already")
    names = [o.name.strip().lower() for o in command.organisations]
    if len(set(names)) != len(names):
        raise InvalidCommand("partner organisations need distinct names", field="organisations")
    _check_rule(command.rule)
    _check_time_zone(command.time_zone)
    return [GroupCreated(group_id=command.group_id, name=command.name, organisations=command.organisations,
                         rule=command.rule, at=command.at, time_zone=command.time_zone)]


def _add(command: AddMember, group: Group) -> list[GroupEvent]:
    gid = _existing(group)
    if command.member_id in group.members:
        raise CommandRejected("this member is in the group already")
    _check_member_fields(group, command.organisation_id, command.roles)
    return [MemberAdded(group_id=gid, member_id=command.member_id, name=command.name,
                        organisation_id=command.organisation_id, lived_experience=command.lived_experience,
                        roles=command.roles, at=command.at)]


def _update(command: UpdateMember, group: Group) -> list[GroupEvent]:
    member = _member(group, command.member_id)
    updated = replace(
        member,
        name=command.name if command.name is not None else member.name,
        organisation_id=command.organisation_id or member.organisation_id,
        lived_experience=member.lived_experience if command.lived_experience is None else command.lived_experience,
        roles=member.roles if command.roles is None else command.roles,
    )
    _check_member_fields(group, updated.organisation_id, updated.roles)
    if updated == member:
        return []
    return [MemberUpdated(group_id=_existing(group), member_id=member.member_id, name=updated.name,
                          organisation_id=updated.organisation_id, lived_experience=updated.lived_experience,
                          roles=updated.roles, at=command.at)]


def _register_key(command: RegisterKey, group: Group) -> list[GroupEvent]:
    gid = _existing(group)
    if command.organisation_id not in group.organisation_ids():
        raise NotFound("no such partner organisation in this group")
    if not _is_public_key(command.public_key):
        raise InvalidCommand("give a raw 32-byte Ed25519 public key in base64", field="public_key")
    if group.keys.get(command.organisation_id) == command.public_key:
        return []
    return [OrganisationKeyRegistered(group_id=gid, organisation_id=command.organisation_id,
                                      public_key=command.public_key, at=command.at)]


def _forget(command: ForgetMember, group: Group) -> list[GroupEvent]:
    member = _member(group, command.member_id)
    if member.forgotten:
        return []  # forgotten already: once is recorded, and nothing is left to forget
    if not command.consent.strip():
        raise InvalidCommand("record how the member's consent to be forgotten was given", field="consent")
    return [MemberForgotten(group_id=_existing(group), member_id=member.member_id, by=command.by,
                            consent=command.consent, at=command.at)]


def _sign_in(command: SignIn, group: Group) -> list[GroupEvent]:
    """A link works once, before it expires, for a member still in the group; every refusal reads the same,
    so a guesser learns nothing about which codes exist."""
    gid = _existing(group)
    link = group.links.get(command.code_hash)
    if link is None or command.at >= link[2] or link[1] not in group.members or group.members[link[1]].forgotten:
        raise Unauthenticated("this sign-in link is unknown, used or expired: ask a facilitator for a new one",
                              field="code")
    return [SignedIn(group_id=gid, member_id=link[1], link_id=link[0], token_id=command.token_id,
                     token_hash=command.token_hash, expires_at=command.token_expires_at, at=command.at)]


def _sign_out_everywhere(command: SignOutEverywhere, group: Group) -> list[GroupEvent]:
    member = _member(group, command.member_id)
    return [TokenRevoked(group_id=_existing(group), token_id=token_id, at=command.at)
            for token_id, (owner, _) in group.tokens.items() if owner == member.member_id]


def decide(command: GroupCommand, group: Group) -> list[GroupEvent]:
    match command:
        case CreateGroup():
            return _create(command, group)
        case AddMember():
            return _add(command, group)
        case AdoptRule():
            gid = _existing(group)
            _check_rule(command.rule)
            return [] if command.rule == group.rule else [DefaultRuleAdopted(group_id=gid, rule=command.rule,
                                                                             at=command.at)]
        case RegisterKey():
            return _register_key(command, group)
        case ChangeTimeZone():
            gid = _existing(group)
            _check_time_zone(command.time_zone)
            return [] if command.time_zone == group.time_zone else [
                TimeZoneChanged(group_id=gid, time_zone=command.time_zone, at=command.at)]
        case RevokeToken():
            gid = _existing(group)
            if command.token_id not in group.tokens:
                raise NotFound("no such token")
            return [TokenRevoked(group_id=gid, token_id=command.token_id, at=command.at)]
        case UpdateMember():
            return _update(command, group)
        case RemoveMember():
            member = _member(group, command.member_id)
            return [MemberRemoved(group_id=_existing(group), member_id=member.member_id, at=command.at)]
        case ForgetMember():
            return _forget(command, group)
        case IssueSignInLink():
            member = _acting(group, command.member_id)
            return [SignInLinkIssued(group_id=_existing(group), member_id=member.member_id, link_id=command.link_id,
                                     code_hash=command.code_hash, expires_at=command.expires_at, at=command.at)]
        case SignIn():
            return _sign_in(command, group)
        case SignOutEverywhere():
            return _sign_out_everywhere(command, group)
        case IssueToken():
            member = _acting(group, command.member_id)
            if command.expires_at is not None and command.expires_at <= command.at:
                raise InvalidCommand("a token must expire in the future", field="expires_at")
            return [TokenIssued(group_id=_existing(group), member_id=member.member_id, token_id=command.token_id,
                                token_hash=command.token_hash, at=command.at, expires_at=command.expires_at)]
        case _:
            assert_never(command)


# -- evolve ---------------------------------------------------------------------


def evolve(group: Group, event: GroupEvent) -> Group:
    match event:
        case GroupCreated():
            return Group(group_id=event.group_id, name=event.name, organisations=event.organisations, rule=event.rule,
                         time_zone=event.time_zone or RECORDED_BEFORE_ZONES)
        case MemberAdded() | MemberUpdated():
            earlier = group.members.get(event.member_id)
            member = Member(member_id=event.member_id, name=event.name, organisation_id=event.organisation_id,
                            lived_experience=event.lived_experience, roles=event.roles,
                            forgotten=earlier is not None and earlier.forgotten)
            return replace(group, members={**group.members, event.member_id: member})
        case MemberRemoved():
            members = {k: v for k, v in group.members.items() if k != event.member_id}
            tokens = {k: v for k, v in group.tokens.items() if v[0] != event.member_id}
            links = {k: v for k, v in group.links.items() if v[1] != event.member_id}
            return replace(group, members=members, tokens=tokens, links=links)
        case MemberForgotten():  # a forgotten person no longer acts: their tokens and sign-in links end too
            forgotten = replace(group.members[event.member_id], name=None, forgotten=True)
            tokens = {k: v for k, v in group.tokens.items() if v[0] != event.member_id}
            links = {k: v for k, v in group.links.items() if v[1] != event.member_id}
            return replace(group, members={**group.members, event.member_id: forgotten}, tokens=tokens, links=links)
        case TokenIssued():
            return replace(group, tokens={**group.tokens, event.token_id: (event.member_id, event.token_hash)})
        case TokenRevoked():
            return replace(group, tokens={k: v for k, v in group.tokens.items() if k != event.token_id})
        case SignInLinkIssued():
            link = (event.link_id, event.member_id, event.expires_at)
            return replace(group, links={**group.links, event.code_hash: link})
        case SignedIn():
            links = {k: v for k, v in group.links.items() if v[0] != event.link_id}
            return replace(group, links=links, tokens={**group.tokens, event.token_id: (event.member_id, event.token_hash)})
        case OrganisationKeyRegistered():
            return replace(group, keys={**group.keys, event.organisation_id: event.public_key})
        case DefaultRuleAdopted():
            return replace(group, rule=event.rule)
        case TimeZoneChanged():
            return replace(group, time_zone=event.time_zone)
        case _:
            assert_never(event)


group_decider: Decider[GroupCommand, Group, GroupEvent] = Decider(
    initial_state=Group, decide=decide, evolve=evolve, event_type=GroupEvent
)
