"""Who is in a group, read from the group's events in the log, for any service.

Bearer tokens of members are a kernel concern: every service must resolve
them, and none may call another. This folds the group stream (written by
the decisions service) with small structs of just the fields needed here
(organisations, names, roles, token hashes and expiry, the group's time zone), so member tokens work
in every service exactly as in decisions, and a revoked or expired token, or
a removed or forgotten member, stops working at once (401).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from immutables import Map
from msgspec.structs import replace

from shared.access.guards import admit, require_role
from shared.access.principals import Principal
from shared.access.tokens import token_digest
from shared.domain.errors import NotFound, PersonForgotten
from shared.domain.ids import utc_now
from shared.domain.roles import Role
from shared.domain.zones import RECORDED_BEFORE_ZONES
from shared.eventlog import trace
from shared.eventlog.handler import StateCache
from shared.eventlog.store import EventStore

DECISIONS_GROUP_STREAM = "decisions.group."  # decisions' stream of one group: this prefix and its id
TOKEN_PREFIX = "copro_m_"  # noqa: S105 (a prefix, not a secret): decisions' member tokens name their group


def member_token(group_id: uuid.UUID, secret: str) -> str:
    """Member tokens name their group, so any service resolves them from that group's stream alone."""
    return f"{TOKEN_PREFIX}{group_id.hex}_{secret}"


def token_group(token: str) -> uuid.UUID | None:
    """The group a member token names, or None when it is not a member token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    try:
        return uuid.UUID(hex=token[len(TOKEN_PREFIX):].split("_", 1)[0])
    except ValueError:
        return None


class _Organisation(msgspec.Struct):
    id: uuid.UUID
    name: str


class _Created(msgspec.Struct, tag="decisions.GroupCreated"):
    group_id: uuid.UUID
    organisations: tuple[_Organisation, ...]
    time_zone: str | None = None


class _ZoneChanged(msgspec.Struct, tag="decisions.TimeZoneChanged"):
    time_zone: str


class _Member(msgspec.Struct, tag="decisions.MemberAdded"):
    member_id: uuid.UUID
    name: str | None
    organisation_id: uuid.UUID
    roles: tuple[str, ...]


class _Updated(msgspec.Struct, tag="decisions.MemberUpdated"):
    member_id: uuid.UUID
    name: str | None
    organisation_id: uuid.UUID
    roles: tuple[str, ...]


class _Forgotten(msgspec.Struct, tag="decisions.MemberForgotten"):
    member_id: uuid.UUID


class _Removed(msgspec.Struct, tag="decisions.MemberRemoved"):
    member_id: uuid.UUID


class _Issued(msgspec.Struct, tag="decisions.TokenIssued"):
    member_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str
    expires_at: datetime | None = None


class _SignedIn(msgspec.Struct, tag="decisions.SignedIn"):
    member_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str
    expires_at: datetime


class _Revoked(msgspec.Struct, tag="decisions.TokenRevoked"):
    token_id: uuid.UUID


GroupEvent = _Created | _Member | _Updated | _Removed | _Forgotten | _Issued | _SignedIn | _Revoked | _ZoneChanged


class Person(msgspec.Struct, frozen=True):
    organisation_id: uuid.UUID
    roles: tuple[str, ...]
    name: str | None
    forgotten: bool = False
    """Forgotten people no longer act: no token of theirs works, whenever it was issued."""


class Token(msgspec.Struct, frozen=True):
    token_id: uuid.UUID
    member_id: uuid.UUID
    expires_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


class Roster(msgspec.Struct, frozen=True):
    group_id: uuid.UUID | None = None
    organisations: Map[uuid.UUID, str] = msgspec.field(default_factory=Map)
    members: Map[uuid.UUID, Person] = msgspec.field(default_factory=Map)
    tokens: Map[str, Token] = msgspec.field(default_factory=Map)  # by the token's hash
    time_zone: str = RECORDED_BEFORE_ZONES
    """The IANA zone the group meets in (``UTC`` for a group created before groups had one)."""

    def named(self, member_id: uuid.UUID) -> Person:
        """A member someone names in a new record (a co-author, who came, whom a role goes to): one of this group
        (404), and not forgotten (410: nothing new is recorded about a person who asked to be forgotten)."""
        person = self.members.get(member_id)
        if person is None:
            raise NotFound(f"{member_id} is not a member of this group", field="member_id")
        if person.forgotten:
            raise PersonForgotten(f"{member_id} was forgotten at their request: nothing new names them",
                                  field="member_id")
        return person


def _evolve(roster: Roster, event: object) -> Roster:
    if isinstance(event, _Created):
        return replace(roster, group_id=event.group_id, organisations=Map({o.id: o.name for o in event.organisations}),
                       time_zone=event.time_zone or RECORDED_BEFORE_ZONES)
    if isinstance(event, _ZoneChanged):
        return replace(roster, time_zone=event.time_zone)
    if isinstance(event, _Member | _Updated):
        earlier = roster.members.get(event.member_id)
        person = Person(organisation_id=event.organisation_id, roles=event.roles, name=event.name,
                        forgotten=earlier is not None and earlier.forgotten)
        return replace(roster, members=roster.members.set(event.member_id, person))
    if isinstance(event, _Forgotten) and event.member_id in roster.members:
        # a forgotten person no longer acts: their tokens end with their name
        return replace(roster, members=roster.members.set(
            event.member_id, replace(roster.members[event.member_id], name=None, forgotten=True)),
            tokens=Map({h: t for h, t in roster.tokens.items() if t.member_id != event.member_id}))
    if isinstance(event, _Removed):
        tokens = Map({h: t for h, t in roster.tokens.items() if t.member_id != event.member_id})
        return replace(roster, members=roster.members.delete(event.member_id), tokens=tokens)
    if isinstance(event, _Issued):
        return replace(roster, tokens=roster.tokens.set(
            event.token_hash, Token(event.token_id, event.member_id, event.expires_at)))
    if isinstance(event, _SignedIn):
        return replace(roster, tokens=roster.tokens.set(
            event.token_hash, Token(event.token_id, event.member_id, event.expires_at)))
    if isinstance(event, _Revoked):
        return replace(roster, tokens=Map({h: t for h, t in roster.tokens.items() if t.token_id != event.token_id}))
    return roster


class _Known(msgspec.Struct):
    type: str


_decode = msgspec.json.Decoder(GroupEvent).decode
_kind = msgspec.json.Decoder(_Known).decode
_TYPES = {"decisions.GroupCreated", "decisions.MemberAdded", "decisions.MemberUpdated", "decisions.MemberRemoved",
          "decisions.MemberForgotten", "decisions.TokenIssued", "decisions.SignedIn", "decisions.TokenRevoked",
          "decisions.TimeZoneChanged"}


def _read(data: bytes) -> object:
    """The event as publishing's own struct, or None for group events it has no use for."""
    return _decode(data) if _kind(data).type in _TYPES else None


class Members:
    """Resolves member tokens and tells who is in a group, as decisions' log says now."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.cache: StateCache[Roster] = StateCache()

    async def roster(self, group_id: uuid.UUID) -> Roster:
        stream = f"{DECISIONS_GROUP_STREAM}{group_id}"
        cached = self.cache.get(stream)
        version, roster = cached if cached is not None else (0, Roster())
        if cached is not None and (trace.read_head(stream) == version or trace.assume(stream, version)):
            return roster  # this request already found the group's stream at this version, or its append checks it
        fresh = await self.store.read_stream(stream, after_version=version)
        if fresh:
            for recorded in fresh:
                roster = _evolve(roster, _read(recorded.data))
            version = fresh[-1].stream_version
            self.cache.put(stream, version, roster)
        trace.saw_head(stream, version)
        return roster

    async def existing(self, group_id: uuid.UUID) -> Roster:
        roster = await self.roster(group_id)
        if roster.group_id is None:
            raise NotFound("no such group")
        return roster

    async def admit(self, principal: Principal, group_id: uuid.UUID, roles: tuple[Role, ...] = (),
                    doing: str = "do that") -> Roster:
        """The group's roster for a caller of this group (404 for any other: another group's data
        does not exist), who must hold one of ``roles`` when any are named (403); operators pass."""
        admit(principal, group_id)
        roster = await self.existing(group_id)
        if roles:
            require_role(principal, roles, doing)
        return roster

    async def resolve(self, token: str) -> Principal | None:
        if (group_id := token_group(token)) is None:
            return None
        roster = await self.roster(group_id)
        found = roster.tokens.get(token_digest(token))
        person = roster.members.get(found.member_id) if found is not None else None
        if found is None or person is None or person.forgotten or not found.live(utc_now()):
            return None  # unknown, revoked, its member removed or forgotten, or expired: 401
        return Principal(kind="member", group_id=group_id, member_id=found.member_id,
                         organisation_id=person.organisation_id, roles=person.roles, expires_at=found.expires_at)
