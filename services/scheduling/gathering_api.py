"""HTTP: the gathering, its roles and sign-ups, attendees, and the table plan (with CSV and SVG)."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from datetime import datetime
from html import escape
from math import cos, pi, sin
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post, put

from services.scheduling.api import _roster
from services.scheduling.domain.gathering import (
    AddRole,
    CancelRegistration,
    CloseSignUps,
    DeclareCapacity,
    Gathering,
    LockPlan,
    Person,
    Perspective,
    Plan,
    PlanTables,
    Register,
    RoleSpec,
    Session,
    SetTables,
    SignUp,
    Swap,
    TableSpec,
    Withdraw,
    gathering_decider,
    gathering_stream,
)
from shared.access.principals import Authenticated, Principal
from shared.domain.errors import Forbidden, NotFound
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import StateCache, handle, handle_in_group, load_in_group

TAGS = ["gathering"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class GatheringIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Name
    venue: Name
    starts_at: datetime
    ends_at: datetime
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    accessibility: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    sessions: list[Session] = msgspec.field(default_factory=list)


class RoleIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    places: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class CapacityIn(msgspec.Struct, forbid_unknown_fields=True):
    max_roles: Annotated[int, msgspec.Meta(ge=0, le=50)]


class SwapIn(msgspec.Struct, forbid_unknown_fields=True):
    to_member: uuid.UUID


class AttendeeIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    perspective: Perspective
    organisation: Name
    needs: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=60)]], msgspec.Meta(max_length=10)] = (
        msgspec.field(default_factory=list))
    seat_with: Annotated[list[uuid.UUID], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    not_with: Annotated[list[uuid.UUID], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)


class TablesIn(msgspec.Struct, forbid_unknown_fields=True):
    tables: Annotated[list[TableSpec], msgspec.Meta(min_length=1, max_length=5000)]


class RoleOut(msgspec.Struct):
    role_id: str
    name: str
    places: int
    holders: list[uuid.UUID]
    waitlist: list[uuid.UUID]


class GatheringOut(msgspec.Struct):
    gathering_id: uuid.UUID
    title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accessibility: str
    sessions: list[Session]
    roles: list[RoleOut]
    sign_ups_open: bool
    registered: int
    waitlisted: int
    tables: int
    plan_quality: float | None
    table_quality: dict[str, float]
    plan_locked: bool


class Fairness(msgspec.Struct):
    per_member: dict[str, int]
    per_organisation: dict[str, int]


def out(g: Gathering) -> GatheringOut:
    p = g.planned
    assert p is not None
    return GatheringOut(
        gathering_id=p.gathering_id, title=p.title, venue=p.venue, starts_at=p.starts_at, ends_at=p.ends_at,
        capacity=p.capacity, accessibility=p.accessibility, sessions=list(p.sessions),
        roles=[RoleOut(role_id=r.role_id, name=r.name, places=r.places, holders=list(g.holders.get(r.role_id, ())),
                       waitlist=list(g.waiting.get(r.role_id, ()))) for r in g.roles.values()],
        sign_ups_open=g.sign_ups_open, registered=len(g.registered), waitlisted=len(g.waitlist),
        tables=len(g.tables), plan_quality=g.overall, table_quality=dict(g.plan_quality), plan_locked=g.locked,
    )


def _cache(request: Request[Any, Any, Any]) -> StateCache[Gathering]:
    cache: StateCache[Gathering] = request.app.state.gatherings
    return cache


def _group_of(gathering: Gathering) -> uuid.UUID | None:
    return gathering.planned.group_id if gathering.planned else None


async def _gathering(request: Request[Any, Any, Any], group_id: uuid.UUID, gathering_id: uuid.UUID) -> Gathering:
    return await load_in_group(request.app.state.store, gathering_decider, gathering_stream(gathering_id),
                               _cache(request), group_id, _group_of, "gathering")


async def _run(request: Request[Any, Any, Any], group_id: uuid.UUID, gathering_id: uuid.UUID, command: Any) -> Gathering:
    return await handle_in_group(request.app.state.store, gathering_decider, command,
                                 stream_id=gathering_stream(gathering_id), cache=_cache(request), group_id=group_id,
                                 group_of=_group_of, what="gathering")


def _me(principal: Principal) -> tuple[uuid.UUID, uuid.UUID]:
    if principal.member_id is None or principal.organisation_id is None:
        raise Forbidden("only a member signs up, for themselves")
    if not {"facilitator", "member"} & set(principal.roles):
        raise Forbidden("observers and auditors only read")
    return principal.member_id, principal.organisation_id


BASE = "/groups/{group_id:uuid}/gatherings/{gathering_id:uuid}"


@post("/groups/{group_id:uuid}/gatherings", tags=TAGS, summary="Plan the gathering (facilitator)")
async def plan_gathering(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                         data: GatheringIn) -> GatheringOut:
    await _roster(request, principal, group_id, manage=True)
    gathering_id = new_id()
    done = await handle(request.app.state.store, gathering_decider, Plan(
        gathering_id=gathering_id, group_id=group_id, title=data.title, venue=data.venue, starts_at=data.starts_at,
        ends_at=data.ends_at, capacity=data.capacity, accessibility=data.accessibility,
        sessions=tuple(data.sessions), at=utc_now()),
        group_id=group_id, stream_id=gathering_stream(gathering_id), cache=_cache(request))
    return out(done.state)


@get(BASE, tags=TAGS, summary="The gathering: roles, sign-ups, registrations, plan")
async def read_gathering(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                         gathering_id: uuid.UUID) -> GatheringOut:
    await _roster(request, principal, group_id)
    return out(await _gathering(request, group_id, gathering_id))


@post(BASE + "/roles", tags=TAGS, summary="Add a role with its places (facilitator)")
async def add_role(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
                   data: RoleIn) -> GatheringOut:
    await _roster(request, principal, group_id, manage=True)
    role = RoleSpec(role_id=str(new_id()), name=data.name, places=data.places, description=data.description)
    return out(await _run(request, group_id, gathering_id, AddRole(role=role, at=utc_now())))


@put(BASE + "/capacity", tags=TAGS, summary="Say how many roles you can take, at most")
async def declare_capacity(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                           gathering_id: uuid.UUID, data: CapacityIn) -> GatheringOut:
    await _roster(request, principal, group_id)
    member, organisation = _me(principal)
    return out(await _run(request, group_id, gathering_id, DeclareCapacity(
        member_id=member, organisation_id=organisation, max_roles=data.max_roles, at=utc_now())))


@post(BASE + "/roles/{role_id:str}/sign-ups", tags=TAGS, summary="Sign up for a role (or its waitlist)")
async def sign_up(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
                  role_id: str) -> GatheringOut:
    await _roster(request, principal, group_id)
    member, organisation = _me(principal)
    return out(await _run(request, group_id, gathering_id, SignUp(role_id=role_id, member_id=member,
                                                                   organisation_id=organisation, at=utc_now())))


@post(BASE + "/roles/{role_id:str}/withdraw", tags=TAGS, status_code=200, summary="Withdraw from a role")
async def withdraw(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
                   role_id: str) -> GatheringOut:
    await _roster(request, principal, group_id)
    member, _ = _me(principal)
    return out(await _run(request, group_id, gathering_id, Withdraw(role_id=role_id, member_id=member, at=utc_now())))


@post(BASE + "/roles/{role_id:str}/swap", tags=TAGS, status_code=200, summary="Hand your role to another member")
async def swap(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
               role_id: str, data: SwapIn) -> GatheringOut:
    roster = await _roster(request, principal, group_id)
    member, _ = _me(principal)
    other = roster.members.get(data.to_member)
    if other is None:
        raise NotFound("no such member in this group")
    return out(await _run(request, group_id, gathering_id, Swap(
        role_id=role_id, member_id=member, to_member=data.to_member, to_organisation=other.organisation_id,
        at=utc_now())))


@post(BASE + "/sign-ups/close", tags=TAGS, status_code=200, summary="Close sign-ups (facilitator)")
async def close_sign_ups(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                         gathering_id: uuid.UUID) -> GatheringOut:
    await _roster(request, principal, group_id, manage=True)
    return out(await _run(request, group_id, gathering_id, CloseSignUps(at=utc_now())))


@get(BASE + "/fairness", tags=TAGS, summary="Roles held per person and per organisation")
async def fairness(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                   gathering_id: uuid.UUID) -> Fairness:
    roster = await _roster(request, principal, group_id)
    g = await _gathering(request, group_id, gathering_id)
    per_member = Counter(str(m) for holders in g.holders.values() for m in holders)
    per_org = Counter(roster.organisations.get(g.organisations.get(uuid.UUID(m), uuid.UUID(int=0)), "unknown")
                      for m in per_member.elements())
    return Fairness(per_member=dict(per_member), per_organisation=dict(per_org))


@post(BASE + "/attendees", tags=TAGS, summary="Register an attendee (up to capacity, then the waitlist)")
async def register(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
                   data: AttendeeIn) -> dict[str, Any]:
    await _roster(request, principal, group_id)
    _me(principal)
    person = Person(attendee_id=new_id(), name=data.name, perspective=data.perspective, organisation=data.organisation,
                    needs=tuple(data.needs), seat_with=tuple(data.seat_with), not_with=tuple(data.not_with))
    g = await _run(request, group_id, gathering_id, Register(person=person, at=utc_now()))
    return {"attendee_id": str(person.attendee_id), "waitlisted": person.attendee_id in g.waitlist}


@post(BASE + "/attendees/{attendee_id:uuid}/cancel", tags=TAGS, status_code=200, summary="Cancel a registration")
async def cancel_attendee(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                          gathering_id: uuid.UUID, attendee_id: uuid.UUID) -> GatheringOut:
    await _roster(request, principal, group_id)
    _me(principal)
    return out(await _run(request, group_id, gathering_id, CancelRegistration(attendee_id=attendee_id, at=utc_now())))


@put(BASE + "/tables", tags=TAGS, summary="Set the tables: sizes and what each offers (facilitator)")
async def set_tables(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, gathering_id: uuid.UUID,
                     data: TablesIn) -> GatheringOut:
    await _roster(request, principal, group_id, manage=True)
    return out(await _run(request, group_id, gathering_id, SetTables(tables=tuple(data.tables), at=utc_now())))


@post(BASE + "/table-plan", tags=TAGS, status_code=200,
      summary="Plan (or re-plan, moving as few as possible) the tables (facilitator)")
async def plan_tables(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                      gathering_id: uuid.UUID) -> GatheringOut:
    await _roster(request, principal, group_id, manage=True)
    return out(await _run(request, group_id, gathering_id, PlanTables(at=utc_now())))


@post(BASE + "/table-plan/lock", tags=TAGS, status_code=200, summary="Lock the table plan (facilitator)")
async def lock_plan(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                    gathering_id: uuid.UUID) -> GatheringOut:
    await _roster(request, principal, group_id, manage=True)
    return out(await _run(request, group_id, gathering_id, LockPlan(at=utc_now())))


def _seating(g: Gathering) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for attendee, table in sorted(g.seats.items(), key=lambda s: (s[1], s[0])):
        person = g.attendees.get(uuid.UUID(attendee))
        if person is not None:
            rows.append((table, person.name or "(name erased)", person.perspective, person.organisation))
    return rows


@get(BASE + "/table-plan.csv", tags=TAGS, summary="The table plan as CSV", media_type="text/csv")
async def plan_csv(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                   gathering_id: uuid.UUID) -> Response[str]:
    await _roster(request, principal, group_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["table", "name", "perspective", "organisation"])
    writer.writerows(_seating(await _gathering(request, group_id, gathering_id)))
    return Response(buffer.getvalue(), media_type="text/csv")


@get(BASE + "/table-plan.svg", tags=TAGS, summary="The table plan as a seating picture", media_type="image/svg+xml")
async def plan_svg(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
                   gathering_id: uuid.UUID) -> Response[str]:
    await _roster(request, principal, group_id)
    g = await _gathering(request, group_id, gathering_id)
    colours = {"lived_experience": "#6a1b9a", "service_provider": "#1565c0", "both": "#2e7d32", "other": "#757575"}
    by_table: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in _seating(g):
        by_table.setdefault(row[0], []).append(row)
    parts, columns = [], 4
    for n, (table, rows) in enumerate(sorted(by_table.items())):
        x, y = 110 + (n % columns) * 220, 110 + (n // columns) * 220
        parts.append(f'<circle cx="{x}" cy="{y}" r="45" fill="#eeeeee" stroke="#555"/>'
                     f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="14">{escape(table)}</text>')
        for k, (_, name, perspective, organisation) in enumerate(rows):
            angle = 2 * pi * k / max(len(rows), 1)
            sx, sy = x + 75 * cos(angle), y + 75 * sin(angle)
            parts.append(f'<circle cx="{sx:.0f}" cy="{sy:.0f}" r="14" fill="{colours.get(perspective, "#999")}">'
                         f"<title>{escape(name)} ({escape(organisation)}, {escape(perspective)})</title></circle>")
    rows_count = (len(by_table) + columns - 1) // columns
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{columns * 220}" height="{max(rows_count, 1) * 220}"'
           f' role="img" aria-label="table plan">{"".join(parts)}</svg>')
    return Response(svg, media_type="image/svg+xml")


ROUTES = [plan_gathering, read_gathering, add_role, declare_capacity, sign_up, withdraw, swap, close_sign_ups,
          fairness, register, cancel_attendee, set_tables, plan_tables, lock_plan, plan_csv, plan_svg]
