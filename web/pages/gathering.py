"""The gathering: roles within my declared capacity (and my place on a waitlist), registering to attend, my
table; for facilitators: planning it, its roles, its tables and the table plan (plan, lock, print)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from web.api import Api, ApiError
from web.forms import whole_number
from web.render import _, back, in_days, local_moment, page, refused
from web.session import Me, flash

MOST_TABLES = 1000
"""Tables one form may set (the API takes up to 5,000 in one request)."""

PERSPECTIVES = ("lived_experience", "service_provider", "both", "other")


async def seating(api: Api, me: Me, gathering_id: object) -> list[dict[str, str]]:
    text = await api.get("scheduling", f"{me.g}/gatherings/{gathering_id}/table-plan.csv", me.token)
    return list(csv.DictReader(io.StringIO(str(text))))


@get("/gatherings")
async def gatherings(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    found = await api.get("scheduling", f"{me.g}/gatherings", me.token)
    if len(found) == 1 and not me.facilitator:
        return back(f"/gatherings/{found[0]['gathering_id']}")
    day, _at = in_days(60, me.tz)
    return page(request, "gatherings.html", me, gatherings=found,
                values={"day": day, "starts": "10:00", "ends": "16:00", "capacity": "100"})


@post("/gatherings")
async def plan_gathering(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("title", "venue", "day", "starts", "ends", "capacity", "accessibility")}
    tz, errors = me.tz, {}
    for name, words in (("title", _("Give the gathering a name.")), ("venue", _("Say where it is."))):
        if not values[name].strip():
            errors[name] = words
    try:
        starts, ends = local_moment(values["day"], values["starts"], tz), local_moment(values["day"], values["ends"], tz)
    except ValueError:
        errors["day"] = _("Give the day and times, like 2030-03-01 and 10:00.")
    if (capacity := whole_number(values["capacity"], 1, 100_000)) is None:
        errors["capacity"] = _("Give how many people can come, as a number.")
    if not errors and ends <= starts:
        errors["ends"] = _("The gathering must end after it starts.")
    made: dict[str, Any] = {}
    if not errors:
        try:
            made = await api.post("scheduling", f"{me.g}/gatherings", me.token, {
                "title": values["title"].strip(), "venue": values["venue"].strip(), "starts_at": starts.isoformat(),
                "ends_at": ends.isoformat(), "capacity": capacity, "accessibility": values["accessibility"]})
        except ApiError as error:
            if error.status not in (409, 422):
                raise
            errors = refused(error, "title")
    if errors:  # the form again, as they filled it in
        found = await api.get("scheduling", f"{me.g}/gatherings", me.token)
        return page(request, "gatherings.html", me, status=422, gatherings=found, errors=errors, values=values)
    flash(request, _("The gathering is planned. Now add its roles."))
    return back(f"/gatherings/{made['gathering_id']}")


async def _show(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: object, *, status: int = 200,
                errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Template:
    g = await api.get("scheduling", f"{me.g}/gatherings/{gathering_id}", me.token)
    seats = await seating(api, me, gathering_id)
    mine = str(me.member_id)
    held = sum(mine in r["holders"] for r in g["roles"])
    my_tables = sorted({row["table"] for row in seats if row["name"] == me.name})
    return page(request, "gathering.html", me, status=status, errors=errors, g=g, held=held, my_tables=my_tables,
                seated=len(seats), perspectives=PERSPECTIVES, mine=mine,
                values={"organisation": me.organisation,
                        "max_roles": str((request.session or {}).get(f"capacity:{gathering_id}", 2)),
                        "places": "1", "tables": "10", "size": "8", "step_free": "0", **(values or {})})


@get("/gatherings/{gathering_id:uuid}")
async def gathering(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template:
    return await _show(request, api, me, str(gathering_id))


async def _act(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: object, path: str, body: Any,
               done: str | Callable[[Any], str], field: str, method: str = "POST",
               typed: dict[str, str] | None = None) -> Template | Redirect:
    """Send one change; refused, the page again with the refusal and what the member ``typed`` kept; done, the
    message ``done`` (or ``done(answer)``) on the gathering's page."""
    try:
        answer = await api.call("scheduling", method, f"{me.g}/gatherings/{gathering_id}{path}", me.token, body)
    except ApiError as error:
        if error.status not in (403, 409, 422):
            raise
        return await _show(request, api, me, str(gathering_id), status=422, errors=refused(error, field), values=typed)
    flash(request, done(answer) if callable(done) else done)
    return back(f"/gatherings/{gathering_id}")


@post("/gatherings/{gathering_id:uuid}/roles/{role_id:str}/sign-up")
async def sign_up(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID,
                  role_id: str) -> Template | Redirect:
    return await _act(request, api, me, str(gathering_id), f"/roles/{role_id}/sign-ups", None,
                      _("You are signed up (or on the waiting list if the role was full)."), "roles")


@post("/gatherings/{gathering_id:uuid}/roles/{role_id:str}/withdraw")
async def withdraw(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID,
                   role_id: str) -> Template | Redirect:
    return await _act(request, api, me, str(gathering_id), f"/roles/{role_id}/withdraw", None,
                      _("You have stepped back from this role."), "roles")


@post("/gatherings/{gathering_id:uuid}/capacity")
async def capacity(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template | Redirect:
    given = whole_number(str((await request.form()).get("max_roles", "2")), 0, 100)
    if given is None:
        return await _show(request, api, me, str(gathering_id), status=422,
                           errors={"max_roles": _("Give a whole number from 0 to 100.")})
    # the API keeps the number but does not show it back: remembered here for this session's form
    request.set_session({**(request.session or {}), f"capacity:{gathering_id}": given})
    return await _act(request, api, me, str(gathering_id), "/capacity", {"max_roles": given},
                      _("Saved: copro will not give you more roles than that."), "max_roles", "PUT")


@post("/gatherings/{gathering_id:uuid}/attend")
async def attend(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template | Redirect:
    form = await request.form()
    perspective = str(form.get("perspective", "other"))
    needs = [n.strip() for n in str(form.get("needs", "")).split(",") if n.strip()]
    return await _act(request, api, me, str(gathering_id), "/attendees", {
        "name": me.name, "perspective": perspective if perspective in PERSPECTIVES else "other",
        "organisation": str(form.get("organisation") or me.organisation), "needs": needs},
        lambda answer: _("The gathering is full: you are on its waiting list, and get a place when one frees up.")
        if isinstance(answer, dict) and answer.get("waitlisted") else _("You are registered to attend."),
        "perspective", typed={k: str(v) for k, v in form.items()})


@post("/gatherings/{gathering_id:uuid}/roles")
async def add_role(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template | Redirect:
    form = await request.form()
    places = whole_number(str(form.get("places", "1")), 1, 10_000)
    return await _act(request, api, me, str(gathering_id), "/roles", {
        "name": str(form.get("name", "")).strip(), "places": places or 0},
        _("The role is added."), "name", typed={k: str(v) for k, v in form.items()})


@post("/gatherings/{gathering_id:uuid}/tables")
async def tables(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template | Redirect:
    form = await request.form()
    count, size, step_free = (whole_number(str(form.get(k, "0")), low, high)
                              for k, low, high in (("tables", 1, MOST_TABLES), ("size", 1, 100), ("step_free", 0, 10_000)))
    if count is None or size is None or step_free is None:
        return await _show(request, api, me, str(gathering_id), status=422, errors={"tables": _(
            "Give the number of tables (up to {most}) and seats as whole numbers.", most=MOST_TABLES)})
    layout = [{"table_id": _("Table {n}", n=n + 1), "size": size, "features": ["step_free"] if n < step_free else []}
              for n in range(count)]
    return await _act(request, api, me, str(gathering_id), "/tables", {"tables": layout}, _("The tables are set."),
                      "tables", "PUT", typed={k: str(v) for k, v in form.items()})


@post("/gatherings/{gathering_id:uuid}/plan")
async def plan(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template | Redirect:
    return await _act(request, api, me, str(gathering_id), "/table-plan", None, _("The table plan is made."), "plan")


@post("/gatherings/{gathering_id:uuid}/lock")
async def lock(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template | Redirect:
    return await _act(request, api, me, str(gathering_id), "/table-plan/lock", None, _("The table plan is locked."), "plan")


@get("/gatherings/{gathering_id:uuid}/table-plan")
async def printable(request: Request[Any, Any, Any], api: Api, me: Me, gathering_id: uuid.UUID) -> Template:
    g = await api.get("scheduling", f"{me.g}/gatherings/{gathering_id}", me.token)
    by_table: dict[str, list[dict[str, str]]] = {}
    for row in await seating(api, me, str(gathering_id)):
        by_table.setdefault(row["table"], []).append(row)
    ordered = sorted(by_table.items(), key=lambda t: (len(t[0]), t[0]))
    return page(request, "table_plan.html", me, g=g, tables=ordered)


PAGES = [gatherings, plan_gathering, gathering, sign_up, withdraw, capacity, attend, add_role, tables, plan, lock, printable]
