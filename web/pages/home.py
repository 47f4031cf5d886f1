"""The group's home: the next meetings, what waits for my vote, my roles and sign-ups."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from web.api import Api
from web.pages.proposals import waiting_for_me
from web.render import page
from web.session import Me


def upcoming(meetings: list[dict[str, Any]], count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The next ``count`` occurrences of all meetings, soonest first, with their meeting."""
    found = [(m, o) for m in meetings for o in m["next"]]
    return sorted(found, key=lambda pair: pair[1]["starts_at"])[:count]


def my_roles(gatherings: list[dict[str, Any]], me: Me) -> list[tuple[dict[str, Any], dict[str, Any], int | None]]:
    """(gathering, role, waitlist place or None when I hold it) for each role I hold or wait for."""
    mine: list[tuple[dict[str, Any], dict[str, Any], int | None]] = []
    for g in gatherings:
        for role in g["roles"]:
            if str(me.member_id) in role["holders"]:
                mine.append((g, role, None))
            elif str(me.member_id) in role["waitlist"]:
                mine.append((g, role, role["waitlist"].index(str(me.member_id)) + 1))
    return mine


@get("/")
async def home(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    meetings = await api.get("scheduling", f"{me.g}/meetings", me.token)
    gatherings = await api.get("scheduling", f"{me.g}/gatherings", me.token)
    return page(request, "home.html", me, next_meetings=upcoming(meetings, 3), waiting=await waiting_for_me(api, me),
                roles=my_roles(gatherings, me), gatherings=gatherings)


PAGES = [home]
