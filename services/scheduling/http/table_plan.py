"""The gathering's table plan: facilitators set the tables, plan, re-plan and lock; everyone in the group reads
it, on paper too: a print-ready page (``table-plan.html``), a CSV for a mail merge, an SVG room map.

A browser sends no bearer token, so a facilitator asks for a print link: a secret, expiring address of the
printable plan (``/table-plans/<token>``, and ``.csv``) that opens in any browser. Like a calendar feed's
address, only its hash is recorded (with who issued it and until when); it stops working when it expires,
when it is revoked, or as soon as the facilitator who issued it is no longer one.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from msgspec.structs import replace

from services.scheduling.context import Scheduling
from services.scheduling.domain.gathering import Gathering
from services.scheduling.domain.seating import IssuePrintLink, LockPlan, PlanTables, RevokePrintLink, SetTables
from services.scheduling.http.gatherings import GATHERING, TAGS
from services.scheduling.http.printout import printable_plan, room_map
from services.scheduling.http.schemas import GatheringOut, TablesIn, gathering_out
from services.scheduling.http.sheets import seating_csv
from shared.access.guards import sees_private
from shared.access.principals import FACILITATORS, Authenticated
from shared.access.tokens import token_digest
from shared.domain.errors import NotFound
from shared.domain.ids import new_id, utc_now

LINK_PREFIX = "tp_"
PRIVATE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex",
           "X-Content-Type-Options": "nosniff"}
PAGE = {**PRIVATE, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"}
"""A printout holds names: never cached, never sent on as a referrer, nothing loaded or run in it."""


class PrintLinkOut(msgspec.Struct):
    link_id: uuid.UUID
    url: str
    csv_url: str
    expires_at: datetime


def print_token(group_id: uuid.UUID, gathering_id: uuid.UUID) -> str:
    """The address names its group and gathering, so the link is found from that gathering's stream alone."""
    return f"{LINK_PREFIX}{group_id.hex}_{gathering_id.hex}_{secrets.token_urlsafe(24)}"


def _named(token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    parts = token.removeprefix(LINK_PREFIX).split("_", 2)
    if not token.startswith(LINK_PREFIX) or len(parts) != 3:
        return None
    try:
        return uuid.UUID(hex=parts[0]), uuid.UUID(hex=parts[1])
    except ValueError:
        return None


def as_seen_by(principal: Authenticated, g: Gathering) -> Gathering:
    """The gathering as this reader may print it: access needs only for those who plan with them
    (``sees_private``); everyone else gets the tables and who sits where."""
    if sees_private(principal):
        return g
    people = {a: replace(p, needs=()) for a, p in g.attendees.people.items()}
    return replace(g, attendees=replace(g.attendees, people=people))


def _page(g: Gathering, time_zone: str, csv_href: str, needs_shown: bool = True) -> Response[str]:
    return Response(printable_plan(g, time_zone, csv_href, needs_shown), media_type="text/html",
                    headers=PAGE)


def _csv(g: Gathering, time_zone: str) -> Response[str]:
    return Response(seating_csv(g, time_zone), media_type="text/csv",
                    headers={**PRIVATE, "Content-Disposition": 'attachment; filename="table-plan.csv"'})


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

    @get("/table-plan.csv", summary="The table plan as CSV: one row per person, for a mail merge", media_type="text/csv")
    async def table_plan_csv(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID) -> Response[str]:
        roster = await service.members.admit(principal, group_id)
        return _csv(as_seen_by(principal, await service.gathering(group_id, gathering_id)), roster.time_zone)

    @get("/table-plan.html", summary="The table plan to print: an overview, an index, a page per table",
         media_type="text/html")
    async def table_plan_html(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                        gathering_id: uuid.UUID) -> Response[str]:
        roster = await service.members.admit(principal, group_id)
        return _page(as_seen_by(principal, await service.gathering(group_id, gathering_id)), roster.time_zone,
                     "table-plan.csv", needs_shown=sees_private(principal))

    @get("/table-plan.svg", summary="The table plan as a room map", media_type="image/svg+xml")
    async def table_plan_svg(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                       gathering_id: uuid.UUID) -> Response[str]:
        await service.members.admit(principal, group_id)
        return Response(room_map(await service.gathering(group_id, gathering_id)), media_type="image/svg+xml",
                        headers=PRIVATE)

    @post("/table-plan/links", summary="A secret, expiring address of the printable plan, for a browser (facilitator)")
    async def issue_link(self, request: Request[Any, Any, Any], service: Scheduling, principal: Authenticated,
                         group_id: uuid.UUID, gathering_id: uuid.UUID,
                         hours: Annotated[int, Parameter(ge=1, le=168, description="how long it works")] = 24,
                         ) -> Response[PrintLinkOut]:
        await service.members.admit(principal, group_id, FACILITATORS, "print the table plan")
        token, link_id, now = print_token(group_id, gathering_id), new_id(), utc_now()
        await service.on_gathering(group_id, gathering_id, IssuePrintLink(
            link_id=link_id, token_hash=token_digest(token), by=principal.member_id,
            expires_at=now + timedelta(hours=hours), at=now))
        url = f"{str(request.base_url).rstrip('/')}/table-plans/{token}"
        return Response(PrintLinkOut(link_id=link_id, url=url, csv_url=f"{url}.csv",
                                     expires_at=now + timedelta(hours=hours)),
                        status_code=201, headers={"Cache-Control": "no-store"})

    @delete("/table-plan/links/{link_id:uuid}", status_code=204, summary="Revoke a print link (facilitator)")
    async def revoke_link(self, service: Scheduling, principal: Authenticated, group_id: uuid.UUID,
                          gathering_id: uuid.UUID, link_id: uuid.UUID) -> None:
        await service.members.admit(principal, group_id, FACILITATORS, "revoke a print link")
        await service.on_gathering(group_id, gathering_id, RevokePrintLink(link_id=link_id, at=utc_now()))


class PrintoutController(Controller):
    """The printable table plan behind a print link, for a browser (the secret address is the credential)."""

    path = "/table-plans"
    tags = TAGS

    @get("/{token:str}", summary="The printable table plan (or, ending .csv, its CSV) behind a print link",
         media_type="text/html")
    async def printout(self, service: Scheduling, token: str) -> Response[str]:
        secret = token.removesuffix(".csv")
        named = _named(secret)
        if named is None:
            raise NotFound("no such print link")
        group_id, gathering_id = named
        roster = await service.members.roster(group_id)
        try:
            gathering = await service.gathering(group_id, gathering_id)
        except NotFound:
            raise NotFound("no such print link") from None
        link = gathering.seating.print_link(token_digest(secret), utc_now())
        issuer = roster.members.get(link.by) if link is not None and link.by is not None else None
        if link is None or (link.by is not None and (issuer is None or "facilitator" not in issuer.roles)):
            raise NotFound("no such print link (or it expired, was revoked, or its facilitator is no longer one)")
        if token.endswith(".csv"):
            return _csv(gathering, roster.time_zone)
        return _page(gathering, roster.time_zone, f"{secret}.csv")
