"""Given a gathering's events, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from msgspec.structs import replace

from services.scheduling.domain.attendees import CancelRegistration, Person, Register
from services.scheduling.domain.gathering import Plan, gathering_decider
from services.scheduling.domain.seating import LockPlan, PlanTables, SetTables
from services.scheduling.domain.sign_ups import AddRole, CloseSignUps, DeclareCapacity, SignUp, Swap, Withdraw
from services.scheduling.domain.tables import Attendee, Table, violations
from services.scheduling.events import (
    AttendeeCancelled,
    AttendeePromoted,
    GatheringPlanned,
    PlanLocked,
    Promoted,
    RoleAdded,
    RoleSpec,
    SignedUp,
    SignUpsClosed,
    Swapped,
    TableSpec,
    Withdrew,
)
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound
from shared.domain.specification import DeciderSpecification

spec = DeciderSpecification(gathering_decider)
T0 = datetime(2026, 3, 14, 9, tzinfo=UTC)
ORG = uuid.UUID(int=1)


def m(n: int) -> uuid.UUID:
    return uuid.UUID(int=100 + n)


PLAN = Plan(gathering_id=uuid.UUID(int=9), group_id=uuid.UUID(int=8), title="Co-Producing Co-Production",
            venue="Community hall", starts_at=T0, ends_at=T0 + timedelta(hours=6), capacity=3,
            accessibility="step-free, quiet room", sessions=(), at=T0)
HOST = AddRole(role=RoleSpec(role_id="host", name="Host a table", places=1), at=T0)
PLANNED = GatheringPlanned(gathering_id=PLAN.gathering_id, group_id=PLAN.group_id, title=PLAN.title, venue=PLAN.venue,
                           starts_at=PLAN.starts_at, ends_at=PLAN.ends_at, capacity=3, accessibility=PLAN.accessibility,
                           sessions=(), at=T0)
HOSTING = RoleAdded(role=HOST.role, at=T0)


def sign(n: int, role: str = "host") -> SignUp:
    return SignUp(role_id=role, member_id=m(n), organisation_id=ORG, at=T0)


def signed(n: int, waitlisted: bool = False, role: str = "host") -> SignedUp:
    return SignedUp(role_id=role, member_id=m(n), organisation_id=ORG, waitlisted=waitlisted, at=T0)


def test_planning_is_recorded_once_and_nothing_happens_to_a_gathering_never_planned() -> None:
    spec.given().when(PLAN).then(PLANNED)
    spec.given(PLANNED).when(PLAN).then_fails(CommandRejected, "planned already")
    spec.given().when(HOST).then_fails(NotFound, "no such gathering")
    spec.given(PLANNED).when(sign(1)).then_fails(NotFound, "no such role")


def test_a_full_role_keeps_a_waitlist_promoted_in_order_when_a_place_frees() -> None:
    given = spec.given_commands(PLAN, HOST, sign(1), sign(2), sign(3))
    assert given.history == [PLANNED, HOSTING, signed(1), signed(2, waitlisted=True), signed(3, waitlisted=True)]
    assert given.state.sign_ups.holders["host"] == (m(1),) and given.state.sign_ups.waiting["host"] == (m(2), m(3))
    withdrawn = given.when(Withdraw(role_id="host", member_id=m(1), at=T0)).then(
        Withdrew(role_id="host", member_id=m(1), at=T0), Promoted(role_id="host", member_id=m(2), at=T0))
    assert withdrawn.state.sign_ups.holders["host"] == (m(2),) and withdrawn.state.sign_ups.waiting["host"] == (m(3),)


def test_nobody_is_signed_up_beyond_the_capacity_they_declared() -> None:
    intro = AddRole(role=RoleSpec(role_id="intro", name="Introduce the presentations", places=2), at=T0)
    given = spec.given_commands(PLAN, HOST, intro, DeclareCapacity(member_id=m(1), organisation_id=ORG, max_roles=1,
                                                                   at=T0), sign(1))
    given.when(sign(1, "intro")).then_fails(CommandRejected, "1 role")
    given.when(DeclareCapacity(member_id=m(1), organisation_id=ORG, max_roles=0, at=T0)).then_fails(
        CommandRejected, "withdraw from some first")
    # a waitlisted member at capacity is passed over when a place frees
    spec.given_commands(PLAN, HOST, intro, sign(2), sign(3),
                        DeclareCapacity(member_id=m(3), organisation_id=ORG, max_roles=1, at=T0), sign(3, "intro")).when(
        Withdraw(role_id="host", member_id=m(2), at=T0)).then(Withdrew(role_id="host", member_id=m(2), at=T0))


def test_sign_ups_after_closing_and_twice_are_refused() -> None:
    given = spec.given(PLANNED, HOSTING, signed(1))
    given.when(sign(1)).then_fails(CommandRejected, "already")
    given.when(CloseSignUps(at=T0)).then(SignUpsClosed(at=T0))
    spec.given(PLANNED, HOSTING, signed(1), SignUpsClosed(at=T0)).when(sign(2)).then_fails(CommandRejected, "closed")
    spec.given(PLANNED, SignUpsClosed(at=T0)).when(CloseSignUps(at=T0)).then_nothing()


def test_a_role_is_swapped_to_someone_who_can_take_it() -> None:
    swapped = Swapped(role_id="host", from_member=m(1), to_member=m(2), to_organisation=ORG, at=T0)
    when = spec.given(PLANNED, HOSTING, signed(1)).when(
        Swap(role_id="host", member_id=m(1), to_member=m(2), to_organisation=ORG, at=T0)).then(swapped)
    assert when.state.sign_ups.holders["host"] == (m(2),)
    spec.given(PLANNED, HOSTING, signed(1), swapped).when(
        Swap(role_id="host", member_id=m(1), to_member=m(3), to_organisation=ORG, at=T0)).then_fails(
        CommandRejected, "do not hold")


def person(n: int, perspective: str = "lived_experience", org: str = "A", **extra: object) -> Person:
    return Person(attendee_id=uuid.UUID(int=500 + n), name=f"Person {n}", perspective=perspective,  # type: ignore[arg-type]
                  organisation=org, **extra)  # type: ignore[arg-type]


def test_registration_up_to_capacity_then_a_waitlist_and_no_double_registration() -> None:
    given = spec.given_commands(PLAN, *(Register(person=person(n), at=T0) for n in range(4)))
    assert len(given.state.attendees.registered) == 3 and given.state.attendees.waitlist == (person(3).attendee_id,)
    given.when(Register(person=Person(attendee_id=uuid.UUID(int=999), name=" person 1 ", perspective="other",
                                      organisation="a"), at=T0)).then_fails(CommandRejected, "registered already")
    cancelled = given.when(CancelRegistration(attendee_id=person(0).attendee_id, at=T0)).then(
        AttendeeCancelled(attendee_id=person(0).attendee_id, at=T0),
        AttendeePromoted(attendee_id=person(3).attendee_id, at=T0))
    assert cancelled.state.attendees.registered == (person(1).attendee_id, person(2).attendee_id,
                                                    person(3).attendee_id)
    assert cancelled.state.attendees.waitlist == ()
    given.when(CancelRegistration(attendee_id=uuid.UUID(int=999), at=T0)).then_fails(NotFound, "no such registration")


def test_a_table_plan_is_recorded_kept_stable_and_locked() -> None:
    mix = ["lived_experience", "service_provider"] * 2
    people = [person(n, mix[n], "AB"[n // 2]) for n in range(4)]
    given = spec.given_commands(replace(PLAN, capacity=4), *(Register(person=p, at=T0) for p in people),
                                SetTables(tables=(TableSpec("t1", 2), TableSpec("t2", 2)), at=T0), PlanTables(at=T0))
    g = given.state
    assert len(g.seating.seats) == 4 and g.seating.overall == 1.0  # each table: one of each perspective
    attendees = [Attendee(str(p.attendee_id), p.perspective, p.organisation) for p in people]
    assert violations(attendees, [Table("t1", 2), Table("t2", 2)], g.seating.seats) == []
    again = given.when(PlanTables(at=T0))
    assert again.state.seating.seats == g.seating.seats  # nothing changed, nobody moves
    assert [e.moved for e in again.events] == [0]  # type: ignore[union-attr]
    given.when(SetTables(tables=(TableSpec("t1", 2), TableSpec("t1", 2)), at=T0)).then_fails(InvalidCommand, "distinct")
    given.when(LockPlan(at=T0)).then(PlanLocked(at=T0))
    locked = spec.given(*given.history, PlanLocked(at=T0))
    locked.when(PlanTables(at=T0)).then_fails(CommandRejected, "locked")
    locked.when(LockPlan(at=T0)).then_nothing()
    # a cancelled attendee leaves their seat; everyone else keeps theirs
    left = given.when(CancelRegistration(attendee_id=people[0].attendee_id, at=T0)).state.seating.seats
    assert left == {a: t for a, t in g.seating.seats.items() if a != str(people[0].attendee_id)}


def test_an_impossible_plan_names_its_reason() -> None:
    given = spec.given_commands(PLAN, Register(person=person(1, needs=("interpreter",)), at=T0),
                                SetTables(tables=(TableSpec("t1", 4),), at=T0))
    given.when(PlanTables(at=T0)).then_fails(InvalidCommand, "interpreter")
    spec.given(PLANNED).when(PlanTables(at=T0)).then_fails(CommandRejected, "set the tables first")
    spec.given(PLANNED).when(LockPlan(at=T0)).then_fails(CommandRejected, "no table plan to lock")
