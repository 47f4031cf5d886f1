"""The table plan as people read it: tables in natural order, numbered seats, plain-language labels, and the
CSV a mail merge reads (one row per person, everything a letter or a name card needs).

The plan records only which table each person is at; seats are numbered here, the same way every time:
by name, with anyone who asked to sit beside someone placed next to them.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.scheduling.domain.attendees import Person
from services.scheduling.domain.gathering import Gathering
from shared.domain.zones import local

PERSPECTIVES = {"lived_experience": "Lived experience", "service_provider": "Service provider",
                "both": "Lived experience and service provider", "other": "Other perspective"}
SYMBOLS = {"lived_experience": "L", "service_provider": "S", "both": "B", "other": "O"}
"""A letter per perspective, printed in every seat: the pattern and colour only repeat it."""
WORDS = {"step_free": "Step-free access", "bsl": "BSL interpreter", "hearing_loop": "Hearing loop",
         "quiet": "Quiet table", "large_print": "Large print"}


def label(tag: str) -> str:
    """A need or a table's feature in words (``step_free`` -> ``Step-free access``)."""
    return WORDS.get(tag, tag.replace("_", " ").strip().capitalize())


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that reads numbers as numbers: Table 2 before Table 10."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.split(r"(\d+)", text) if part)


@dataclass(frozen=True)
class Seat:
    number: int
    name: str
    organisation: str
    perspective: str
    needs: tuple[str, ...]

    @property
    def perspective_label(self) -> str:
        return PERSPECTIVES.get(self.perspective, self.perspective)


@dataclass(frozen=True)
class TableSheet:
    table_id: str
    size: int
    features: tuple[str, ...]
    quality: float | None
    seats: tuple[Seat, ...]

    def mix(self) -> dict[str, int]:
        return {p: sum(1 for s in self.seats if s.perspective == p) for p in PERSPECTIVES}

    def needs(self) -> list[str]:
        return sorted({n for s in self.seats for n in s.needs})


def _name(person: Person) -> str:
    return person.name or "(name erased)"


def _in_seat_order(people: list[Person]) -> list[Person]:
    """By name; people who asked to sit together (either of them asking) are seated one after another."""
    here = {p.attendee_id: p for p in people}
    companions: dict[uuid.UUID, set[uuid.UUID]] = {p.attendee_id: set() for p in people}
    for person in people:
        for other in person.seat_with:
            if other in here:
                companions[person.attendee_id].add(other)
                companions[other].add(person.attendee_id)
    by_name = sorted(people, key=lambda p: (natural(_name(p)), str(p.attendee_id)))
    rank = {p.attendee_id: n for n, p in enumerate(by_name)}
    ordered: list[Person] = []
    placed: set[uuid.UUID] = set()
    for person in by_name:
        chain = [person.attendee_id]
        while chain:
            current = chain.pop()
            if current in placed:
                continue
            placed.add(current)
            ordered.append(here[current])
            chain += sorted(companions[current] - placed, key=rank.__getitem__, reverse=True)
    return ordered


def table_sheets(g: Gathering) -> list[TableSheet]:
    """Every table in natural order, its seats numbered, with whoever the plan put there."""
    at: dict[str, list[Person]] = {}
    for attendee, table in g.seating.seats.items():
        person = g.attendees.people.get(uuid.UUID(attendee))
        if person is not None:
            at.setdefault(table, []).append(person)
    sheets = []
    for spec in sorted(g.seating.tables, key=lambda t: natural(t.table_id)):
        seats = tuple(Seat(number=n, name=_name(p), organisation=p.organisation, perspective=p.perspective,
                           needs=tuple(p.needs)) for n, p in enumerate(_in_seat_order(at.get(spec.table_id, [])), 1))
        sheets.append(TableSheet(table_id=spec.table_id, size=spec.size, features=tuple(spec.features),
                                 quality=g.seating.quality.get(spec.table_id), seats=seats))
    return sheets


def unseated(g: Gathering) -> list[str]:
    """Registered since the plan was made (or never seated): the facilitator re-plans or seats them by hand."""
    return sorted((_name(g.attendees.people[a]) for a in g.attendees.registered if str(a) not in g.seating.seats),
                  key=natural)


def when(g: Gathering, time_zone: str) -> str:
    """The gathering's day and hours in the group's time zone, as a person writes them."""
    assert g.planned is not None
    starts, ends = local(g.planned.starts_at, time_zone), local(g.planned.ends_at, time_zone)
    return f"{starts:%A} {starts.day} {starts:%B %Y}, {starts:%H:%M}\u2013{ends:%H:%M}"


CSV_COLUMNS = ["table", "seat", "name", "organisation", "perspective", "perspective_label", "access_needs",
               "table_features", "gathering", "venue", "date"]


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(cell: object) -> object:
    """A cell a spreadsheet shows as text: what a member typed (a name, an organisation) that starts like a
    formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return, after any spaces) is prefixed with ``'``,
    so opening the mail-merge file never runs it (OWASP: CSV injection)."""
    if isinstance(cell, str) and cell.lstrip(" ").startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def seating_csv(g: Gathering, time_zone: str) -> str:
    """One row per seated person, by table (natural order) and seat: ready for a mail merge or name cards."""
    assert g.planned is not None
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    day = when(g, time_zone)
    for sheet in table_sheets(g):
        for seat in sheet.seats:
            writer.writerow([spreadsheet_text(cell) for cell in (
                sheet.table_id, seat.number, seat.name, seat.organisation, seat.perspective, seat.perspective_label,
                "; ".join(label(n) for n in seat.needs), "; ".join(label(f) for f in sheet.features),
                g.planned.title, g.planned.venue, day)])
    return buffer.getvalue()


def as_of(moment: datetime | None, time_zone: str) -> str:
    if moment is None:
        return "not planned yet"
    shown = local(moment, time_zone)
    return f"{shown.day} {shown:%B %Y}, {shown:%H:%M}"
