"""Given a gathering's events, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from services.scheduling.domain.gathering import (
    AddRole,
    CancelRegistration,
    CloseSignUps,
    DeclareCapacity,
    Gathering,
    LockPlan,
    Person,
    Plan,
    PlanTables,
    Register,
    RoleSpec,
    SetTables,
    SignUp,
    Swap,
    TableSpec,
    Withdraw,
    gathering_decider,
)
from services.scheduling.domain.tables import Attendee, Table, violations
from shared.domain.errors import CommandRejected, InvalidCommand

D = gathering_decider
T0 = datetime(2026, 3, 14, 9, tzinfo=UTC)
ORG = uuid.UUID(int=1)


def m(n: int) -> uuid.UUID:
    return uuid.UUID(int=100 + n)


def given_(*commands: object) -> Gathering:
    state = D.initial_state()
    for command in commands:
        for event in D.decide(command, state):  # type: ignore[arg-type]
            state = D.evolve(state, event)
    return state


PLAN = Plan(gathering_id=uuid.UUID(int=9), group_id=uuid.UUID(int=8), title="Co-Producing Co-Production",
            venue="Community hall", starts_at=T0, ends_at=T0 + timedelta(hours=6), capacity=3,
            accessibility="step-free, quiet room", sessions=(), at=T0)
HOST = AddRole(role=RoleSpec(role_id="host", name="Host a table", places=1), at=T0)


def sign(n: int, role: str = "host") -> SignUp:
    return SignUp(role_id=role, member_id=m(n), organisation_id=ORG, at=T0)


def test_a_full_role_keeps_a_waitlist_promoted_in_order_when_a_place_frees() -> None:
    g = given_(PLAN, HOST, sign(1), sign(2), sign(3))
    assert g.holders["host"] == (m(1),) and g.waiting["host"] == (m(2), m(3))
    events = D.decide(Withdraw(role_id="host", member_id=m(1), at=T0), g)
    assert [type(e).__name__ for e in events] == ["Withdrew", "Promoted"]
    g = D.fold(events, g)
    assert g.holders["host"] == (m(2),) and g.waiting["host"] == (m(3),)


def test_nobody_is_signed_up_beyond_the_capacity_they_declared() -> None:
    intro = AddRole(role=RoleSpec(role_id="intro", name="Introduce the presentations", places=2), at=T0)
    g = given_(PLAN, HOST, intro, DeclareCapacity(member_id=m(1), organisation_id=ORG, max_roles=1, at=T0), sign(1))
    with pytest.raises(CommandRejected, match="1 role"):
        D.decide(sign(1, "intro"), g)
    with pytest.raises(CommandRejected, match="withdraw from some first"):
        D.decide(DeclareCapacity(member_id=m(1), organisation_id=ORG, max_roles=0, at=T0), g)
    # a waitlisted member at capacity is passed over when a place frees
    g = given_(PLAN, HOST, intro, sign(2), sign(3), DeclareCapacity(member_id=m(3), organisation_id=ORG, max_roles=1,
                                                                     at=T0), sign(3, "intro"))
    events = D.decide(Withdraw(role_id="host", member_id=m(2), at=T0), g)
    assert [type(e).__name__ for e in events] == ["Withdrew"]


def test_sign_ups_after_closing_and_twice_are_refused() -> None:
    g = given_(PLAN, HOST, sign(1))
    with pytest.raises(CommandRejected, match="already"):
        D.decide(sign(1), g)
    with pytest.raises(CommandRejected, match="closed"):
        D.decide(sign(2), D.fold(D.decide(CloseSignUps(at=T0), g), g))


def test_a_role_is_swapped_to_someone_who_can_take_it() -> None:
    g = given_(PLAN, HOST, sign(1))
    g = D.fold(D.decide(Swap(role_id="host", member_id=m(1), to_member=m(2), to_organisation=ORG, at=T0), g), g)
    assert g.holders["host"] == (m(2),)
    with pytest.raises(CommandRejected, match="do not hold"):
        D.decide(Swap(role_id="host", member_id=m(1), to_member=m(3), to_organisation=ORG, at=T0), g)


def person(n: int, perspective: str = "lived_experience", org: str = "A", **extra: object) -> Person:
    return Person(attendee_id=uuid.UUID(int=500 + n), name=f"Person {n}", perspective=perspective,  # type: ignore[arg-type]
                  organisation=org, **extra)  # type: ignore[arg-type]


def test_registration_up_to_capacity_then_a_waitlist_and_no_double_registration() -> None:
    g = given_(PLAN, *(Register(person=person(n), at=T0) for n in range(4)))
    assert len(g.registered) == 3 and g.waitlist == (person(3).attendee_id,)
    with pytest.raises(CommandRejected, match="registered already"):
        D.decide(Register(person=Person(attendee_id=uuid.UUID(int=999), name=" person 1 ", perspective="other",
                                        organisation="a"), at=T0), g)
    events = D.decide(CancelRegistration(attendee_id=person(0).attendee_id, at=T0), g)
    assert [type(e).__name__ for e in events] == ["AttendeeCancelled", "AttendeePromoted"]


def test_a_table_plan_is_recorded_kept_stable_and_locked() -> None:
    mix = ["lived_experience", "service_provider"] * 2
    people = [person(n, mix[n], "AB"[n // 2]) for n in range(4)]
    g = given_(replace(PLAN, capacity=4), *(Register(person=p, at=T0) for p in people),
               SetTables(tables=(TableSpec("t1", 2), TableSpec("t2", 2)), at=T0), PlanTables(at=T0))
    assert len(g.seats) == 4 and g.overall == 1.0  # each table: one of each perspective
    attendees = [Attendee(str(p.attendee_id), p.perspective, p.organisation) for p in people]
    assert violations(attendees, [Table("t1", 2), Table("t2", 2)], g.seats) == []
    again = D.fold(D.decide(PlanTables(at=T0), g), g)
    assert again.seats == g.seats  # nothing changed, nobody moves
    with pytest.raises(InvalidCommand):
        D.decide(SetTables(tables=(TableSpec("t1", 2), TableSpec("t1", 2)), at=T0), g)
    g = D.fold(D.decide(LockPlan(at=T0), g), g)
    with pytest.raises(CommandRejected, match="locked"):
        D.decide(PlanTables(at=T0), g)


def test_an_impossible_plan_names_its_reason() -> None:
    g = given_(PLAN, Register(person=person(1, needs=("interpreter",)), at=T0),
               SetTables(tables=(TableSpec("t1", 4),), at=T0))
    with pytest.raises(InvalidCommand, match="interpreter"):
        D.decide(PlanTables(at=T0), g)
