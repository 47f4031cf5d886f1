"""The gathering's table plan: facilitators set the tables, plan, re-plan and lock; everyone reads it,
also on paper (CSV for a spreadsheet, SVG for a seating picture)."""

from __future__ import annotations

import csv
import io
import uuid
from html import escape
from math import cos, pi, sin

from litestar import Controller, Response, get, post, put

from services.scheduling.context import Scheduling
from services.scheduling.domain.gathering import Gathering
from services.scheduling.domain.seating import LockPlan, PlanTables, SetTables
from services.scheduling.http.gatherings import GATHERING, TAGS
from services.scheduling.http.schemas import GatheringOut, TablesIn, gathering_out
from shared.access.principals import FACILITATORS, Authenticated
from shared.domain.ids import utc_now

COLOURS = {"lived_experience": "#6a1b9a", "service_provider": "#1565c0", "both": "#2e7d32", "other": "#757575"}


def seating_rows(g: Gathering) -> list[tuple[str, str, str, str]]:
    """(table, name, perspective, organisation) of everyone seated, by table; an erased name says so."""
    rows: list[tuple[str, str, str, str]] = []
    for attendee, table in sorted(g.seating.seats.items(), key=lambda s: (s[1], s[0])):
        person = g.attendees.people.get(uuid.UUID(attendee))
        if person is not None:
            rows.append((table, person.name or "(name erased)", person.perspective, person.organisation))
    return rows


def seating_csv(g: Gathering) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["table", "name", "perspective", "organisation"])
    writer.writerows(seating_rows(g))
    return buffer.getvalue()


def seating_svg(g: Gathering) -> str:
    """Tables as circles, four to a row, each person a dot coloured by perspective and titled with their name."""
    by_table: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in seating_rows(g):
        by_table.setdefault(row[0], []).append(row)
    parts, columns = [], 4
    for n, (table, rows) in enumerate(sorted(by_table.items())):
        x, y = 110 + (n % columns) * 220, 110 + (n // columns) * 220
        parts.append(f'<circle cx="{x}" cy="{y}" r="45" fill="#eeeeee" stroke="#555"/>'
                     f'<text x="{x}" y="{y + 5}" text-anchor="middle" font-size="14">{escape(table)}</text>')
        for k, (_, name, perspective, organisation) in enumerate(rows):
            angle = 2 * pi * k / max(len(rows), 1)
            sx, sy = x + 75 * cos(angle), y + 75 * sin(angle)
            parts.append(f'<circle cx="{sx:.0f}" cy="{sy:.0f}" r="14" fill="{COLOURS.get(perspective, "#999")}">'
                         f"<title>{escape(name)} ({escape(organisation)}, {escape(perspective)})</title></circle>")
    rows_count = (len(by_table) + columns - 1) // columns
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{columns * 220}" height="{max(rows_count, 1) * 220}"'
            f' role="img" aria-label="table plan">{"".join(parts)}</svg>')


class TablePlanController(Controller):
    """The tables and the table plan of one gathering of the group."""

    path = GATHERING
    tags = TAGS

    @put("/tables", summary="Set the tables: sizes and what each offers (facilitator)")
    async def set_tables(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                         gathering_id: uuid.UUID, data: TablesIn) -> GatheringOut:
        await service.members.admit(principal, group_id, FACILITATORS, "set the tables")
        return gathering_out(await service.on_gathering(group_id, gathering_id, SetTables(
            tables=data.specs(), at=utc_now())))

    @post("/table-plan", status_code=200,
          summary="Plan (or re-plan, moving as few as possible) the tables (facilitator)")
    async def plan_tables(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                          gathering_id: uuid.UUID) -> GatheringOut:
        await service.members.admit(principal, group_id, FACILITATORS, "plan the tables")
        return gathering_out(await service.on_gathering(group_id, gathering_id, PlanTables(at=utc_now())))

    @post("/table-plan/lock", status_code=200, summary="Lock the table plan (facilitator)")
    async def lock_plan(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                        gathering_id: uuid.UUID) -> GatheringOut:
        await service.members.admit(principal, group_id, FACILITATORS, "lock the table plan")
        return gathering_out(await service.on_gathering(group_id, gathering_id, LockPlan(at=utc_now())))

    @get("/table-plan.csv", summary="The table plan as CSV", media_type="text/csv")
    async def plan_csv(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID) -> Response[str]:
        await service.members.admit(principal, group_id)
        return Response(seating_csv(await service.gathering(group_id, gathering_id)), media_type="text/csv")

    @get("/table-plan.svg", summary="The table plan as a seating picture", media_type="image/svg+xml")
    async def plan_svg(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID) -> Response[str]:
        await service.members.admit(principal, group_id)
        return Response(seating_svg(await service.gathering(group_id, gathering_id)), media_type="image/svg+xml")
