"""The gathering's table plan as recorded: one part of the gathering aggregate (its stream and decider are
in ``gathering.py``).

The tables are set, a plan is decided here from the registered attendees
(the planner in ``tables.py`` is pure), recorded as an event with its quality,
and can be locked. A re-plan moves as few people as it can.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import assert_never

import msgspec
from msgspec.structs import replace

from services.scheduling.domain.attendees import Attendees
from services.scheduling.domain.tables import Attendee, Infeasible, Table, plan
from services.scheduling.events import (
    PlanLocked,
    PrintLinkIssued,
    PrintLinkRevoked,
    SeatingEvent,
    TablePlanned,
    TableSpec,
    TablesSet,
)
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound

MOST_SEATS = 20_000
"""Seats one gathering's tables may have in all: every printout draws each of them (5,000 tables of 1,000 seats
took a process to 2.7 GB for one room map)."""

# --- commands ----------------------------------------------------------------------------------


class SetTables(msgspec.Struct, frozen=True, kw_only=True):
    tables: tuple[TableSpec, ...]
    at: datetime


class PlanTables(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime


class LockPlan(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime


class IssuePrintLink(msgspec.Struct, frozen=True, kw_only=True):
    link_id: uuid.UUID
    token_hash: str
    by: uuid.UUID | None
    expires_at: datetime
    at: datetime


class RevokePrintLink(msgspec.Struct, frozen=True, kw_only=True):
    link_id: uuid.UUID
    at: datetime


SeatingCommand = SetTables | PlanTables | LockPlan | IssuePrintLink | RevokePrintLink

# --- state -------------------------------------------------------------------------------------


class Seating(msgspec.Struct, frozen=True, kw_only=True):
    tables: tuple[TableSpec, ...] = ()
    seats: dict[str, str] = {}  # attendee id -> table id
    quality: dict[str, float] = {}  # table id -> quality
    overall: float | None = None
    locked: bool = False
    planned_at: datetime | None = None
    print_links: dict[str, PrintLinkIssued] = {}  # token hash -> the link, while not revoked

    def print_link(self, token_hash: str, now: datetime) -> PrintLinkIssued | None:
        """The link a token stands for, unless revoked or expired (who issued it is checked by the caller)."""
        link = self.print_links.get(token_hash)
        return link if link is not None and now < link.expires_at else None

    def unseat(self, attendee_id: uuid.UUID) -> Seating:
        """A cancelled attendee leaves their seat (the plan is otherwise kept)."""
        return replace(self, seats={a: t for a, t in self.seats.items() if a != str(attendee_id)})


# --- decide ------------------------------------------------------------------------------------


def decide_seating(command: SeatingCommand, seating: Seating, attendees: Attendees) -> list[SeatingEvent]:
    """``attendees``: who is registered, to seat them."""
    match command:
        case SetTables():
            if seating.locked:
                raise CommandRejected("the table plan is locked")
            ids = [t.table_id for t in command.tables]
            if not ids or len(set(ids)) != len(ids) or any(t.size < 1 for t in command.tables):
                raise InvalidCommand("give tables with distinct ids and a size of at least 1", field="tables")
            if sum(t.size for t in command.tables) > MOST_SEATS:
                raise InvalidCommand(f"at most {MOST_SEATS:,} seats in all", field="tables")
            return [TablesSet(tables=command.tables, at=command.at)]
        case PlanTables():
            if seating.locked:
                raise CommandRejected("the table plan is locked")
            if not seating.tables:
                raise CommandRejected("set the tables first")
            people = [Attendee(str(a), p.perspective, p.organisation, frozenset(p.needs),
                               frozenset(str(x) for x in p.seat_with), frozenset(str(x) for x in p.not_with))
                      for a, p in ((a, attendees.people[a]) for a in attendees.registered)]
            tables = [Table(t.table_id, t.size, frozenset(t.features)) for t in seating.tables]
            result = plan(people, tables, previous=seating.seats)
            if isinstance(result, Infeasible):
                raise InvalidCommand(f"no plan keeps every rule: {result.reason}", field="tables")
            return [TablePlanned(seats=result.seats, quality=result.quality, overall=result.overall,
                                 moved=result.moved, at=command.at)]
        case LockPlan():
            if not seating.seats:
                raise CommandRejected("there is no table plan to lock")
            return [] if seating.locked else [PlanLocked(at=command.at)]
        case IssuePrintLink():
            if command.expires_at <= command.at:
                raise InvalidCommand("a link must expire after it is issued", field="hours")
            return [PrintLinkIssued(**msgspec.structs.asdict(command))]
        case RevokePrintLink():
            if not any(link.link_id == command.link_id for link in seating.print_links.values()):
                raise NotFound("no such print link (or it was revoked)")
            return [PrintLinkRevoked(link_id=command.link_id, at=command.at)]
        case _:
            assert_never(command)


# --- evolve ------------------------------------------------------------------------------------


def evolve_seating(seating: Seating, event: SeatingEvent) -> Seating:
    match event:
        case TablesSet():
            return replace(seating, tables=event.tables)
        case TablePlanned():
            return replace(seating, seats=dict(event.seats), quality=dict(event.quality), overall=event.overall,
                           planned_at=event.at)
        case PlanLocked():
            return replace(seating, locked=True)
        case PrintLinkIssued():
            return replace(seating, print_links={**seating.print_links, event.token_hash: event})
        case PrintLinkRevoked():
            return replace(seating, print_links={h: link for h, link in seating.print_links.items()
                                                 if link.link_id != event.link_id})
        case _:
            assert_never(event)
