"""The gathering (the 100+ person event): roles and sign-ups, attendees, and the table plan.

People sign up for roles "as much or as little as they are able": each
member declares how many roles they can take and is never signed up beyond
it; a full role keeps a waitlist, promoted in order when a place frees.
Attendees register up to the capacity, then wait. The table plan is decided
here (the planner is pure), recorded as an event, and can be locked.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec
from msgspec.structs import replace

from services.scheduling.domain.tables import Attendee, Infeasible, Table, plan
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound

Perspective = Literal["lived_experience", "service_provider", "both", "other"]
DEFAULT_ROLE_CAPACITY = 2


class Session(msgspec.Struct, frozen=True):
    title: str
    starts_at: datetime
    ends_at: datetime


class RoleSpec(msgspec.Struct, frozen=True):
    role_id: str
    name: str
    places: int
    description: str = ""


class TableSpec(msgspec.Struct, frozen=True):
    table_id: str
    size: int
    features: tuple[str, ...] = ()


class Person(msgspec.Struct, frozen=True, kw_only=True):
    attendee_id: uuid.UUID
    name: str | None
    perspective: Perspective
    organisation: str
    needs: tuple[str, ...] = ()
    seat_with: tuple[uuid.UUID, ...] = ()
    not_with: tuple[uuid.UUID, ...] = ()


class GatheringPlanned(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.GatheringPlanned"):
    gathering_id: uuid.UUID
    group_id: uuid.UUID
    title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accessibility: str
    sessions: tuple[Session, ...]
    at: datetime


class RoleAdded(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.RoleAdded"):
    role: RoleSpec
    at: datetime


class CapacityDeclared(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.CapacityDeclared"):
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    max_roles: int
    at: datetime


class SignedUp(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.SignedUp"):
    role_id: str
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    waitlisted: bool
    at: datetime


class Withdrew(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.Withdrew"):
    role_id: str
    member_id: uuid.UUID
    at: datetime


class Promoted(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.Promoted"):
    role_id: str
    member_id: uuid.UUID
    at: datetime


class Swapped(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.Swapped"):
    role_id: str
    from_member: uuid.UUID
    to_member: uuid.UUID
    to_organisation: uuid.UUID
    at: datetime


class SignUpsClosed(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.SignUpsClosed"):
    at: datetime


class AttendeeRegistered(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.AttendeeRegistered"):
    __personal__ = ("name",)
    __subject__ = "attendee_id"
    attendee_id: uuid.UUID
    name: str | None
    perspective: Perspective
    organisation: str
    needs: tuple[str, ...]
    seat_with: tuple[uuid.UUID, ...]
    not_with: tuple[uuid.UUID, ...]
    waitlisted: bool
    at: datetime


class AttendeeCancelled(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.AttendeeCancelled"):
    attendee_id: uuid.UUID
    at: datetime


class AttendeePromoted(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.AttendeePromoted"):
    attendee_id: uuid.UUID
    at: datetime


class TablesSet(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.TablesSet"):
    tables: tuple[TableSpec, ...]
    at: datetime


class TablePlanned(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.TablePlanned"):
    seats: dict[str, str]
    quality: dict[str, float]
    overall: float
    moved: int
    at: datetime


class PlanLocked(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.PlanLocked"):
    at: datetime


GatheringEvent = (
    GatheringPlanned | RoleAdded | CapacityDeclared | SignedUp | Withdrew | Promoted | Swapped | SignUpsClosed
    | AttendeeRegistered | AttendeeCancelled | AttendeePromoted | TablesSet | TablePlanned | PlanLocked
)


class Gathering(msgspec.Struct, frozen=True, kw_only=True):
    planned: GatheringPlanned | None = None
    roles: dict[str, RoleSpec] = {}
    holders: dict[str, tuple[uuid.UUID, ...]] = {}  # role -> members, in order
    waiting: dict[str, tuple[uuid.UUID, ...]] = {}
    organisations: dict[uuid.UUID, uuid.UUID] = {}  # member -> organisation
    capacities: dict[uuid.UUID, int] = {}
    sign_ups_open: bool = True
    attendees: dict[uuid.UUID, Person] = {}
    registered: tuple[uuid.UUID, ...] = ()
    waitlist: tuple[uuid.UUID, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    seats: dict[str, str] = {}
    plan_quality: dict[str, float] = {}
    overall: float | None = None
    locked: bool = False

    def load(self, member: uuid.UUID) -> int:
        return sum(member in h for h in self.holders.values())

    def capacity(self, member: uuid.UUID) -> int:
        return self.capacities.get(member, DEFAULT_ROLE_CAPACITY)

    def can_take(self, member: uuid.UUID) -> bool:
        return self.load(member) < self.capacity(member)


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    gathering_id: uuid.UUID
    group_id: uuid.UUID
    title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accessibility: str
    sessions: tuple[Session, ...]
    at: datetime


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


class Register(msgspec.Struct, frozen=True, kw_only=True):
    person: Person
    at: datetime


class CancelRegistration(msgspec.Struct, frozen=True, kw_only=True):
    attendee_id: uuid.UUID
    at: datetime


class SetTables(msgspec.Struct, frozen=True, kw_only=True):
    tables: tuple[TableSpec, ...]
    at: datetime


class PlanTables(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime


class LockPlan(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime


GatheringCommand = (
    Plan | AddRole | DeclareCapacity | SignUp | Withdraw | Swap | CloseSignUps | Register | CancelRegistration
    | SetTables | PlanTables | LockPlan
)


def _promotion(gathering: Gathering, role_id: str, at: datetime, leaving: uuid.UUID | None = None) -> list[GatheringEvent]:
    """The first on the role's waitlist who can still take a role moves up."""
    for member in gathering.waiting.get(role_id, ()):
        if member != leaving and gathering.can_take(member):
            return [Promoted(role_id=role_id, member_id=member, at=at)]
    return []


def _key(person: Person) -> tuple[str, str]:
    return ((person.name or "").strip().lower(), person.organisation.strip().lower())


def decide(command: GatheringCommand, gathering: Gathering) -> list[GatheringEvent]:
    if isinstance(command, Plan):
        if gathering.planned is not None:
            raise CommandRejected("this gathering is planned already")
        if command.ends_at <= command.starts_at:
            raise InvalidCommand("ends_at must be after starts_at", field="ends_at")
        if command.capacity < 1:
            raise InvalidCommand("capacity must be at least 1", field="capacity")
        return [GatheringPlanned(**msgspec.structs.asdict(command))]
    if gathering.planned is None:
        raise NotFound("no such gathering")
    if isinstance(command, AddRole):
        if command.role.role_id in gathering.roles:
            raise CommandRejected("a role with this id exists already")
        if command.role.places < 1:
            raise InvalidCommand("a role needs at least one place", field="places")
        return [RoleAdded(role=command.role, at=command.at)]
    if isinstance(command, DeclareCapacity):
        if command.max_roles < gathering.load(command.member_id):
            raise CommandRejected(f"you hold {gathering.load(command.member_id)} roles: withdraw from some first")
        return [CapacityDeclared(member_id=command.member_id, organisation_id=command.organisation_id,
                                 max_roles=command.max_roles, at=command.at)]
    if isinstance(command, SignUp | Withdraw | Swap) and command.role_id not in gathering.roles:
        raise NotFound("no such role")
    if isinstance(command, SignUp):
        if not gathering.sign_ups_open:
            raise CommandRejected("sign-ups are closed")
        if command.member_id in gathering.holders.get(command.role_id, ()) + gathering.waiting.get(command.role_id, ()):
            raise CommandRejected("you are signed up for this role already")
        if not gathering.can_take(command.member_id):
            raise CommandRejected(f"that would be more than the {gathering.capacity(command.member_id)} role(s) "
                                  "you said you can take")
        full = len(gathering.holders.get(command.role_id, ())) >= gathering.roles[command.role_id].places
        return [SignedUp(role_id=command.role_id, member_id=command.member_id, organisation_id=command.organisation_id,
                         waitlisted=full, at=command.at)]
    if isinstance(command, Withdraw):
        holding = command.member_id in gathering.holders.get(command.role_id, ())
        if not holding and command.member_id not in gathering.waiting.get(command.role_id, ()):
            raise CommandRejected("you are not signed up for this role")
        events: list[GatheringEvent] = [Withdrew(role_id=command.role_id, member_id=command.member_id, at=command.at)]
        if holding:
            events += _promotion(gathering, command.role_id, command.at, leaving=command.member_id)
        return events
    if isinstance(command, Swap):
        if command.member_id not in gathering.holders.get(command.role_id, ()):
            raise CommandRejected("you do not hold this role")
        if command.to_member in gathering.holders.get(command.role_id, ()):
            raise CommandRejected("they hold this role already")
        if not gathering.can_take(command.to_member):
            raise CommandRejected("they cannot take another role (their declared capacity)")
        return [Swapped(role_id=command.role_id, from_member=command.member_id, to_member=command.to_member,
                        to_organisation=command.to_organisation, at=command.at)]
    if isinstance(command, CloseSignUps):
        return [SignUpsClosed(at=command.at)] if gathering.sign_ups_open else []
    if isinstance(command, Register):
        person = command.person
        if person.attendee_id in gathering.attendees or any(
                _key(gathering.attendees[a]) == _key(person) for a in (*gathering.registered, *gathering.waitlist)):
            raise CommandRejected("this person is registered already")
        full = len(gathering.registered) >= gathering.planned.capacity
        return [AttendeeRegistered(attendee_id=person.attendee_id, name=person.name, perspective=person.perspective,
                                   organisation=person.organisation, needs=person.needs, seat_with=person.seat_with,
                                   not_with=person.not_with, waitlisted=full, at=command.at)]
    if isinstance(command, CancelRegistration):
        if command.attendee_id in gathering.registered:
            events = [AttendeeCancelled(attendee_id=command.attendee_id, at=command.at)]
            if gathering.waitlist:
                events.append(AttendeePromoted(attendee_id=gathering.waitlist[0], at=command.at))
            return events
        if command.attendee_id in gathering.waitlist:
            return [AttendeeCancelled(attendee_id=command.attendee_id, at=command.at)]
        raise NotFound("no such registration")
    if isinstance(command, SetTables):
        if gathering.locked:
            raise CommandRejected("the table plan is locked")
        ids = [t.table_id for t in command.tables]
        if not ids or len(set(ids)) != len(ids) or any(t.size < 1 for t in command.tables):
            raise InvalidCommand("give tables with distinct ids and a size of at least 1", field="tables")
        return [TablesSet(tables=command.tables, at=command.at)]
    if isinstance(command, PlanTables):
        if gathering.locked:
            raise CommandRejected("the table plan is locked")
        if not gathering.tables:
            raise CommandRejected("set the tables first")
        people = [Attendee(str(a), p.perspective, p.organisation, frozenset(p.needs),
                           frozenset(str(x) for x in p.seat_with), frozenset(str(x) for x in p.not_with))
                  for a, p in ((a, gathering.attendees[a]) for a in gathering.registered)]
        tables = [Table(t.table_id, t.size, frozenset(t.features)) for t in gathering.tables]
        result = plan(people, tables, previous=gathering.seats)
        if isinstance(result, Infeasible):
            raise InvalidCommand(f"no plan keeps every rule: {result.reason}", field="tables")
        return [TablePlanned(seats=result.seats, quality=result.quality, overall=result.overall,
                             moved=result.moved, at=command.at)]
    if not gathering.seats:
        raise CommandRejected("there is no table plan to lock")
    return [] if gathering.locked else [PlanLocked(at=command.at)]


def evolve(g: Gathering, event: GatheringEvent) -> Gathering:
    if isinstance(event, GatheringPlanned):
        return Gathering(planned=event)
    if isinstance(event, RoleAdded):
        return replace(g, roles={**g.roles, event.role.role_id: event.role})
    if isinstance(event, CapacityDeclared):
        return replace(g, capacities={**g.capacities, event.member_id: event.max_roles},
                       organisations={**g.organisations, event.member_id: event.organisation_id})
    if isinstance(event, SignedUp):
        target = "waiting" if event.waitlisted else "holders"
        current: dict[str, tuple[uuid.UUID, ...]] = getattr(g, target)
        return replace(g, **{target: {**current, event.role_id: (*current.get(event.role_id, ()), event.member_id)}},
                       organisations={**g.organisations, event.member_id: event.organisation_id})
    if isinstance(event, Withdrew):
        return replace(g, holders={**g.holders, event.role_id: tuple(
                           m for m in g.holders.get(event.role_id, ()) if m != event.member_id)},
                       waiting={**g.waiting, event.role_id: tuple(
                           m for m in g.waiting.get(event.role_id, ()) if m != event.member_id)})
    if isinstance(event, Promoted):
        return replace(g, holders={**g.holders, event.role_id: (*g.holders.get(event.role_id, ()), event.member_id)},
                       waiting={**g.waiting, event.role_id: tuple(
                           m for m in g.waiting.get(event.role_id, ()) if m != event.member_id)})
    if isinstance(event, Swapped):
        holders = tuple(event.to_member if m == event.from_member else m for m in g.holders.get(event.role_id, ()))
        return replace(g, holders={**g.holders, event.role_id: holders},
                       organisations={**g.organisations, event.to_member: event.to_organisation})
    if isinstance(event, SignUpsClosed):
        return replace(g, sign_ups_open=False)
    if isinstance(event, AttendeeRegistered):
        person = Person(attendee_id=event.attendee_id, name=event.name, perspective=event.perspective,
                        organisation=event.organisation, needs=event.needs, seat_with=event.seat_with,
                        not_with=event.not_with)
        attendees = {**g.attendees, event.attendee_id: person}
        if event.waitlisted:
            return replace(g, attendees=attendees, waitlist=(*g.waitlist, event.attendee_id))
        return replace(g, attendees=attendees, registered=(*g.registered, event.attendee_id))
    if isinstance(event, AttendeeCancelled):
        seats = {a: t for a, t in g.seats.items() if a != str(event.attendee_id)}
        return replace(g, registered=tuple(a for a in g.registered if a != event.attendee_id),
                       waitlist=tuple(a for a in g.waitlist if a != event.attendee_id), seats=seats)
    if isinstance(event, AttendeePromoted):
        return replace(g, registered=(*g.registered, event.attendee_id),
                       waitlist=tuple(a for a in g.waitlist if a != event.attendee_id))
    if isinstance(event, TablesSet):
        return replace(g, tables=event.tables)
    if isinstance(event, TablePlanned):
        return replace(g, seats=dict(event.seats), plan_quality=dict(event.quality), overall=event.overall)
    return replace(g, locked=True)


gathering_decider: Decider[GatheringCommand, Gathering, GatheringEvent] = Decider(
    initial_state=Gathering, decide=decide, evolve=evolve, event_type=GatheringEvent
)


def gathering_stream(gathering_id: uuid.UUID) -> str:
    return f"scheduling.gathering.{gathering_id}"


