"""The gathering's roles and sign-ups: one part of the gathering aggregate (its stream and decider are in
``gathering.py``).

People sign up for roles "as much or as little as they are able": each
member declares how many roles they can take and is never signed up beyond
it; a full role keeps a waitlist, promoted in order when a place frees.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import assert_never

import msgspec
from msgspec.structs import replace

from services.scheduling.events import (
    CapacityDeclared,
    Promoted,
    RoleAdded,
    RoleSpec,
    SignedUp,
    SignUpEvent,
    SignUpsClosed,
    Swapped,
    Withdrew,
)
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound

DEFAULT_ROLE_CAPACITY = 2

# --- commands ----------------------------------------------------------------------------------


class AddRole(msgspec.Struct, frozen=True, kw_only=True):
    role: RoleSpec
    at: datetime


class DeclareCapacity(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    max_roles: int
    at: datetime


class SignUp(msgspec.Struct, frozen=True, kw_only=True):
    role_id: str
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    at: datetime


class Withdraw(msgspec.Struct, frozen=True, kw_only=True):
    role_id: str
    member_id: uuid.UUID
    at: datetime


class Swap(msgspec.Struct, frozen=True, kw_only=True):
    role_id: str
    member_id: uuid.UUID
    to_member: uuid.UUID
    to_organisation: uuid.UUID
    at: datetime


class CloseSignUps(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime


SignUpCommand = AddRole | DeclareCapacity | SignUp | Withdraw | Swap | CloseSignUps

# --- state -------------------------------------------------------------------------------------


class SignUps(msgspec.Struct, frozen=True, kw_only=True):
    roles: dict[str, RoleSpec] = {}
    holders: dict[str, tuple[uuid.UUID, ...]] = {}  # role -> members, in order
    waiting: dict[str, tuple[uuid.UUID, ...]] = {}
    organisations: dict[uuid.UUID, uuid.UUID] = {}  # member -> organisation
    capacities: dict[uuid.UUID, int] = {}
    open: bool = True

    def load(self, member: uuid.UUID) -> int:
        return sum(member in h for h in self.holders.values())

    def capacity(self, member: uuid.UUID) -> int:
        return self.capacities.get(member, DEFAULT_ROLE_CAPACITY)

    def can_take(self, member: uuid.UUID) -> bool:
        return self.load(member) < self.capacity(member)


# --- decide ------------------------------------------------------------------------------------


def _promotion(s: SignUps, role_id: str, at: datetime, leaving: uuid.UUID | None = None) -> list[SignUpEvent]:
    """The first on the role's waitlist who can still take a role moves up."""
    for member in s.waiting.get(role_id, ()):
        if member != leaving and s.can_take(member):
            return [Promoted(role_id=role_id, member_id=member, at=at)]
    return []


def _known_role(s: SignUps, role_id: str) -> RoleSpec:
    if role_id not in s.roles:
        raise NotFound("no such role")
    return s.roles[role_id]


def decide_sign_ups(command: SignUpCommand, s: SignUps) -> list[SignUpEvent]:
    match command:
        case AddRole():
            if command.role.role_id in s.roles:
                raise CommandRejected("a role with this id exists already")
            if command.role.places < 1:
                raise InvalidCommand("a role needs at least one place", field="places")
            return [RoleAdded(role=command.role, at=command.at)]
        case DeclareCapacity():
            if command.max_roles < s.load(command.member_id):
                raise CommandRejected(f"you hold {s.load(command.member_id)} roles: withdraw from some first")
            return [CapacityDeclared(member_id=command.member_id, organisation_id=command.organisation_id,
                                     max_roles=command.max_roles, at=command.at)]
        case SignUp():
            role = _known_role(s, command.role_id)
            if not s.open:
                raise CommandRejected("sign-ups are closed")
            if command.member_id in s.holders.get(command.role_id, ()) + s.waiting.get(command.role_id, ()):
                raise CommandRejected("you are signed up for this role already")
            if not s.can_take(command.member_id):
                raise CommandRejected(f"that would be more than the {s.capacity(command.member_id)} role(s) "
                                      "you said you can take")
            full = len(s.holders.get(command.role_id, ())) >= role.places
            return [SignedUp(role_id=command.role_id, member_id=command.member_id,
                             organisation_id=command.organisation_id, waitlisted=full, at=command.at)]
        case Withdraw():
            _known_role(s, command.role_id)
            holding = command.member_id in s.holders.get(command.role_id, ())
            if not holding and command.member_id not in s.waiting.get(command.role_id, ()):
                raise CommandRejected("you are not signed up for this role")
            events: list[SignUpEvent] = [Withdrew(role_id=command.role_id, member_id=command.member_id, at=command.at)]
            if holding:
                events += _promotion(s, command.role_id, command.at, leaving=command.member_id)
            return events
        case Swap():
            _known_role(s, command.role_id)
            if command.member_id not in s.holders.get(command.role_id, ()):
                raise CommandRejected("you do not hold this role")
            if command.to_member in s.holders.get(command.role_id, ()):
                raise CommandRejected("they hold this role already")
            if not s.can_take(command.to_member):
                raise CommandRejected("they cannot take another role (their declared capacity)")
            return [Swapped(role_id=command.role_id, from_member=command.member_id, to_member=command.to_member,
                            to_organisation=command.to_organisation, at=command.at)]
        case CloseSignUps():
            return [SignUpsClosed(at=command.at)] if s.open else []
        case _:
            assert_never(command)


# --- evolve ------------------------------------------------------------------------------------


def _without(members: tuple[uuid.UUID, ...], member: uuid.UUID) -> tuple[uuid.UUID, ...]:
    return tuple(m for m in members if m != member)


def evolve_sign_ups(s: SignUps, event: SignUpEvent) -> SignUps:
    match event:
        case RoleAdded():
            return replace(s, roles={**s.roles, event.role.role_id: event.role})
        case CapacityDeclared():
            return replace(s, capacities={**s.capacities, event.member_id: event.max_roles},
                           organisations={**s.organisations, event.member_id: event.organisation_id})
        case SignedUp():
            organisations = {**s.organisations, event.member_id: event.organisation_id}
            if event.waitlisted:
                return replace(s, organisations=organisations, waiting={
                    **s.waiting, event.role_id: (*s.waiting.get(event.role_id, ()), event.member_id)})
            return replace(s, organisations=organisations, holders={
                **s.holders, event.role_id: (*s.holders.get(event.role_id, ()), event.member_id)})
        case Withdrew():
            return replace(s, holders={**s.holders, event.role_id: _without(s.holders.get(event.role_id, ()),
                                                                             event.member_id)},
                           waiting={**s.waiting, event.role_id: _without(s.waiting.get(event.role_id, ()),
                                                                          event.member_id)})
        case Promoted():
            return replace(s, holders={**s.holders, event.role_id: (*s.holders.get(event.role_id, ()), event.member_id)},
                           waiting={**s.waiting, event.role_id: _without(s.waiting.get(event.role_id, ()),
                                                                          event.member_id)})
        case Swapped():
            holders = tuple(event.to_member if m == event.from_member else m for m in s.holders.get(event.role_id, ()))
            return replace(s, holders={**s.holders, event.role_id: holders},
                           organisations={**s.organisations, event.to_member: event.to_organisation})
        case SignUpsClosed():
            return replace(s, open=False)
        case _:
            assert_never(event)
