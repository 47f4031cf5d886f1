"""Meetings in the group's local time: answer for yourself with any access needs, subscribe to the calendar,
and (facilitators) schedule a meeting or a weekly series."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from web.api import Api, ApiError
from web.forms import whole_number
from web.render import _, back, in_days, local_moment, page, refused
from web.session import Me, flash

ANSWERS = ("yes", "maybe", "no")


async def _show(request: Request[Any, Any, Any], api: Api, me: Me, *, status: int = 200,
                errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, feed_url: str = "") -> Template:
    meetings = await api.get("scheduling", f"{me.g}/meetings", me.token)
    day, _at = in_days(7, me.tz)
    return page(request, "meetings.html", me, status=status, errors=errors, meetings=meetings, answers=ANSWERS,
                feed_url=feed_url, values=values or {"day": day, "starts": "10:30", "ends": "12:00", "weeks": "1"})


@get("/meetings")
async def meetings(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    return await _show(request, api, me)


@post("/meetings/{meeting_id:uuid}/rsvp")
async def rsvp(request: Request[Any, Any, Any], api: Api, me: Me, meeting_id: uuid.UUID) -> Redirect:
    form = await request.form()
    answer = str(form.get("answer", ""))
    if answer not in ANSWERS:  # the browser asks first (required); this is for those that do not
        flash(request, _("Nothing saved: choose yes, no or maybe."))
        return back("/meetings")
    needs = str(form.get("access_needs", "")).strip()
    await api.post("scheduling", f"{me.g}/meetings/{meeting_id}/rsvp", me.token, {
        "occurrence": str(form.get("occurrence", "")), "answer": answer,
        "access_needs": needs or None})
    flash(request, _("Your answer is saved."))
    return back("/meetings")


@post("/meetings/calendar")
async def calendar(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    feed = await api.call("scheduling", "POST", f"{me.g}/calendar-feeds", me.token, params={"personal": "true"})
    return await _show(request, api, me, feed_url=str(feed["url"]))


@post("/meetings")
async def schedule(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("title", "day", "starts", "ends", "location", "weeks")}
    tz = me.tz
    errors: dict[str, str] = {}
    if not values["title"].strip():
        errors["title"] = _("Give the meeting a name.")
    try:
        starts, ends = local_moment(values["day"], values["starts"], tz), local_moment(values["day"], values["ends"], tz)
        if ends <= starts:
            errors["ends"] = _("The meeting must end after it starts.")
    except ValueError:
        errors["day"] = _("Give the day and times, like 2030-03-01 and 10:30.")
    weeks = whole_number(values["weeks"] or "1", 1, 104)
    if weeks is None:
        errors["weeks"] = _("Give a number of weeks from 1 to 104.")
    if errors:
        return await _show(request, api, me, status=422, errors=errors, values=values)
    body = {"title": values["title"].strip(), "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
            "location": values["location"].strip(), **({"rrule": f"FREQ=WEEKLY;COUNT={weeks}"} if weeks and weeks > 1 else {})}
    try:
        await api.post("scheduling", f"{me.g}/meetings", me.token, body)
    except ApiError as error:
        return await _show(request, api, me, status=422, errors=refused(error, "title"), values=values)
    flash(request, _("The meeting is scheduled."))
    return back("/meetings")


PAGES = [meetings, rsvp, calendar, schedule]
