"""The gathering's attendees: one part of the gathering aggregate (its stream and decider are in
``gathering.py``).

Attendees register up to the gathering's capacity, then wait; a cancelled
place goes to the first on the waitlist. The same person (by name and
organisation) is not registered twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import assert_never

import msgspec
from msgspec.structs import replace

from services.scheduling.events import (
    AttendeeCancelled,
    AttendeeEvent,
    AttendeePromoted,
    AttendeeRegistered,
    Perspective,
)
from shared.domain.errors import CommandRejected, NotFound


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """An attendee as registered: who they are for the table plan, and who they sit with or apart from."""

    attendee_id: uuid.UUID
    name: str | None
    perspective: Perspective
    organisation: str
    needs: tuple[str, ...] = ()
    seat_with: tuple[uuid.UUID, ...] = ()
    not_with: tuple[uuid.UUID, ...] = ()
    by: uuid.UUID | None = None
    """The member who registered them: they (or a facilitator) may cancel."""


# --- commands ----------------------------------------------------------------------------------


class Register(msgspec.Struct, frozen=True, kw_only=True):
    person: Person
    at: datetime


class CancelRegistration(msgspec.Struct, frozen=True, kw_only=True):
    attendee_id: uuid.UUID
    at: datetime


AttendeeCommand = Register | CancelRegistration

# --- state -------------------------------------------------------------------------------------


class Attendees(msgspec.Struct, frozen=True, kw_only=True):
    people: dict[uuid.UUID, Person] = {}
    registered: tuple[uuid.UUID, ...] = ()
    waitlist: tuple[uuid.UUID, ...] = ()


# --- decide ------------------------------------------------------------------------------------


def _key(person: Person) -> tuple[str, str]:
    return ((person.name or "").strip().lower(), person.organisation.strip().lower())


def decide_attendees(command: AttendeeCommand, attendees: Attendees, capacity: int) -> list[AttendeeEvent]:
    """``capacity``: the gathering's places; registrations beyond it wait."""
    match command:
        case Register():
            person = command.person
            if person.attendee_id in attendees.people or any(
                    _key(attendees.people[a]) == _key(person) for a in (*attendees.registered, *attendees.waitlist)):
                raise CommandRejected("this person is registered already")
            full = len(attendees.registered) >= capacity
            return [AttendeeRegistered(attendee_id=person.attendee_id, name=person.name, perspective=person.perspective,
                                       organisation=person.organisation, needs=person.needs, seat_with=person.seat_with,
                                       not_with=person.not_with, waitlisted=full, at=command.at, by=person.by)]
        case CancelRegistration():
            if command.attendee_id in attendees.registered:
                events: list[AttendeeEvent] = [AttendeeCancelled(attendee_id=command.attendee_id, at=command.at)]
                if attendees.waitlist:
                    events.append(AttendeePromoted(attendee_id=attendees.waitlist[0], at=command.at))
                return events
            if command.attendee_id in attendees.waitlist:
                return [AttendeeCancelled(attendee_id=command.attendee_id, at=command.at)]
            raise NotFound("no such registration")
        case _:
            assert_never(command)


# --- evolve ------------------------------------------------------------------------------------


def evolve_attendees(attendees: Attendees, event: AttendeeEvent) -> Attendees:
    match event:
        case AttendeeRegistered():
            # a forgotten attendee's needs and seating wishes read as None: no longer known
            person = Person(attendee_id=event.attendee_id, name=event.name, perspective=event.perspective,
                            organisation=event.organisation, needs=event.needs or (), seat_with=event.seat_with or (),
                            not_with=event.not_with or (), by=event.by)
            people = {**attendees.people, event.attendee_id: person}
            if event.waitlisted:
                return replace(attendees, people=people, waitlist=(*attendees.waitlist, event.attendee_id))
            return replace(attendees, people=people, registered=(*attendees.registered, event.attendee_id))
        case AttendeeCancelled():
            return replace(attendees, registered=tuple(a for a in attendees.registered if a != event.attendee_id),
                           waitlist=tuple(a for a in attendees.waitlist if a != event.attendee_id))
        case AttendeePromoted():
            return replace(attendees, registered=(*attendees.registered, event.attendee_id),
                           waitlist=tuple(a for a in attendees.waitlist if a != event.attendee_id))
        case _:
            assert_never(event)
