"""For facilitators: the members and organisations, sign-in links for them, and the group's decision rule."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from shared.runtime.settings import Settings
from web.api import Api, ApiError
from web.forms import whole_number
from web.render import _, back, page, refused
from web.session import Me, flash

ROLES = ("member", "facilitator", "observer", "auditor")
THRESHOLDS = (("1/2", "More than half"), ("2/3+", "At least two thirds"), ("3/4+", "At least three quarters"),
              ("1/1+", "Everyone (unanimity)"))


def facilitators_only(me: Me) -> None:
    if not me.facilitator:
        raise ApiError(403, _("Only a facilitator can manage the group."))


def sign_in_link(settings: Settings, code: str) -> str:
    return f"{settings.web_base}/sign-in/{code}"


async def _members(request: Request[Any, Any, Any], api: Api, me: Me, *, status: int = 200,
                   errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                   link: dict[str, Any] | None = None) -> Template:
    group = await api.get("decisions", me.g, me.token)
    return page(request, "members.html", me, status=status, errors=errors, group=group, roles=ROLES, link=link,
                values=values or {"role": "member"})


@get("/members")
async def members(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    facilitators_only(me)
    return await _members(request, api, me)


@post("/members")
async def add_member(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("name", "organisation_id", "role", "lived_experience")}
    if not values["name"].strip():
        return await _members(request, api, me, status=422, errors={"name": _("Give the person's name.")}, values=values)
    try:
        await api.post("decisions", f"{me.g}/members", me.token, {
            "name": values["name"].strip(), "organisation_id": values["organisation_id"],
            "lived_experience": values["lived_experience"] == "yes",
            "roles": [values["role"] if values["role"] in ROLES else "member"]})
    except ApiError as error:
        return await _members(request, api, me, status=422, errors=refused(error, "name"), values=values)
    flash(request, _("{name} is added. Make them a sign-in link below.", name=values["name"].strip()))
    return back("/members")


@post("/members/{member_id:uuid}/sign-in-link")
async def make_link(request: Request[Any, Any, Any], api: Api, me: Me, settings: Settings, member_id: uuid.UUID) -> Template:
    made = await api.post("decisions", f"{me.g}/members/{member_id}/sign-in-links", me.token, {"expires_in_hours": 72})
    link = {"url": sign_in_link(settings, made["code"]), "name": me.name_of(member_id), "expires_at": made["expires_at"]}
    return await _members(request, api, me, link=link)


@get("/rules")
async def rules(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    facilitators_only(me)
    group = await api.get("decisions", me.g, me.token)
    rule = group["rule"]
    return page(request, "rules.html", me, rule=rule, thresholds=THRESHOLDS, values={
        "counting": rule["counting"], "quorum": str(rule["quorum_per_organisation"]),
        "double_majority": "yes" if rule["double_majority"] else "no", "blocks": "yes" if rule["blocks_allowed"] else "no",
        "threshold": f"{rule['threshold']['numerator']}/{rule['threshold']['denominator']}"
                     f"{'+' if rule['threshold']['inclusive'] else ''}"})


@post("/rules")
async def adopt_rule(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("counting", "quorum", "double_majority", "blocks", "threshold")}
    share, inclusive = values["threshold"].rstrip("+"), values["threshold"].endswith("+")
    numerator, _sep, denominator = share.partition("/")
    quorum = whole_number(values["quorum"], 0, 10_000)
    parts = whole_number(numerator or "1", 1, 1_000), whole_number(denominator or "2", 1, 1_000)
    if quorum is None or None in parts:
        group = await api.get("decisions", me.g, me.token)
        errors = ({"quorum": _("Give a whole number: 0 for no quorum.")} if quorum is None
                  else {"threshold": _("Choose one of the shares.")})
        return page(request, "rules.html", me, status=422, rule=group["rule"], values=values, thresholds=THRESHOLDS,
                    errors=errors)
    try:
        await api.call("decisions", "PUT", f"{me.g}/rule", me.token, {
            "counting": values["counting"], "quorum_per_organisation": quorum,
            "double_majority": values["double_majority"] == "yes", "blocks_allowed": values["blocks"] == "yes",
            "threshold": {"numerator": parts[0], "denominator": parts[1], "inclusive": inclusive}})
    except ApiError as error:
        group = await api.get("decisions", me.g, me.token)
        return page(request, "rules.html", me, status=422, rule=group["rule"], values=values,
                    thresholds=THRESHOLDS, errors=refused(error, "counting"))
    flash(request, _("The group's rule is saved. New proposals use it; open ones keep the rule they started with."))
    return back("/rules")


PAGES = [members, add_member, make_link, rules, adopt_rule]
