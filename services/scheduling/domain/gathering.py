"""The gathering (the 100+ person event): planned once, then its roles and sign-ups, attendees and table plan.

One aggregate, one stream: its parts decide and evolve in their own modules
(``sign_ups``, ``attendees``, ``seating``) and this module joins them, so a
command of any part sees the whole gathering as recorded so far.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import assert_never

import msgspec
from msgspec.structs import replace

from services.scheduling.domain.attendees import (
    Attendees,
    CancelRegistration,
    Register,
    decide_attendees,
    evolve_attendees,
)
from services.scheduling.domain.seating import (
    IssuePrintLink,
    LockPlan,
    PlanTables,
    RevokePrintLink,
    Seating,
    SetTables,
    decide_seating,
    evolve_seating,
)
from services.scheduling.domain.sign_ups import (
    AddRole,
    CloseSignUps,
    DeclareCapacity,
    SignUp,
    SignUps,
    Swap,
    Withdraw,
    decide_sign_ups,
    evolve_sign_ups,
)
from services.scheduling.events import (
    AttendeeCancelled,
    AttendeePromoted,
    AttendeeRegistered,
    CapacityDeclared,
    GatheringEvent,
    GatheringPlanned,
    PlanLocked,
    PrintLinkIssued,
    PrintLinkRevoked,
    Promoted,
    RoleAdded,
    Session,
    SignedUp,
    SignUpsClosed,
    Swapped,
    TablePlanned,
    TablesSet,
    Withdrew,
)
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound


def gathering_stream(gathering_id: uuid.UUID) -> str:
    return f"scheduling.gathering.{gathering_id}"


# --- commands ----------------------------------------------------------------------------------


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


GatheringCommand = (
    Plan | AddRole | DeclareCapacity | SignUp | Withdraw | Swap | CloseSignUps | Register | CancelRegistration
    | SetTables | PlanTables | LockPlan | IssuePrintLink | RevokePrintLink
)

# --- state -------------------------------------------------------------------------------------


class Gathering(msgspec.Struct, frozen=True, kw_only=True):
    planned: GatheringPlanned | None = None
    sign_ups: SignUps = msgspec.field(default_factory=SignUps)
    attendees: Attendees = msgspec.field(default_factory=Attendees)
    seating: Seating = msgspec.field(default_factory=Seating)


# --- decide ------------------------------------------------------------------------------------


def _planned(gathering: Gathering) -> GatheringPlanned:
    if gathering.planned is None:
        raise NotFound("no such gathering")
    return gathering.planned


def decide(command: GatheringCommand, gathering: Gathering) -> list[GatheringEvent]:
    match command:
        case Plan():
            if gathering.planned is not None:
                raise CommandRejected("this gathering is planned already")
            if command.ends_at <= command.starts_at:
                raise InvalidCommand("ends_at must be after starts_at", field="ends_at")
            if command.capacity < 1:
                raise InvalidCommand("capacity must be at least 1", field="capacity")
            return [GatheringPlanned(**msgspec.structs.asdict(command))]
        case AddRole() | DeclareCapacity() | SignUp() | Withdraw() | Swap() | CloseSignUps():
            _planned(gathering)
            return [*decide_sign_ups(command, gathering.sign_ups)]
        case Register() | CancelRegistration():
            return [*decide_attendees(command, gathering.attendees, _planned(gathering).capacity)]
        case SetTables() | PlanTables() | LockPlan() | IssuePrintLink() | RevokePrintLink():
            _planned(gathering)
            return [*decide_seating(command, gathering.seating, gathering.attendees)]
        case _:
            assert_never(command)


# --- evolve ------------------------------------------------------------------------------------


def evolve(g: Gathering, event: GatheringEvent) -> Gathering:
    match event:
        case GatheringPlanned():
            return Gathering(planned=event)
        case RoleAdded() | CapacityDeclared() | SignedUp() | Withdrew() | Promoted() | Swapped() | SignUpsClosed():
            return replace(g, sign_ups=evolve_sign_ups(g.sign_ups, event))
        case AttendeeCancelled():
            return replace(g, attendees=evolve_attendees(g.attendees, event), seating=g.seating.unseat(event.attendee_id))
        case AttendeeRegistered() | AttendeePromoted():
            return replace(g, attendees=evolve_attendees(g.attendees, event))
        case TablesSet() | TablePlanned() | PlanLocked() | PrintLinkIssued() | PrintLinkRevoked():
            return replace(g, seating=evolve_seating(g.seating, event))
        case _:
            assert_never(event)


gathering_decider: Decider[GatheringCommand, Gathering, GatheringEvent] = Decider(
    initial_state=Gathering, decide=decide, evolve=evolve, event_type=GatheringEvent
)
