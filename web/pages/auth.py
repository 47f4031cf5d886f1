"""Signing in by a one-time link, signing out here or everywhere, and the welcome page for everyone else."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from web.api import Api, ApiError
from web.render import _, back, page
from web.session import Me, end_session, flash, start_session


@get("/welcome")
async def welcome(request: Request[Any, Any, Any]) -> Template:
    return page(request, "welcome.html", None)


@get("/sign-in/{code:str}")
async def sign_in_page(request: Request[Any, Any, Any], code: str) -> Template:
    """The link opens a page with one button: link checkers that open links must not use up the code."""
    return page(request, "sign_in.html", None, code=code)


@post("/sign-in")
async def sign_in(request: Request[Any, Any, Any], api: Api) -> Template | Redirect:
    form = await request.form()
    code = str(form.get("code", ""))
    try:
        signed = await api.post("decisions", "/sign-in", None, {"code": code})
    except ApiError as error:
        if error.status not in (401, 422):
            raise
        return page(request, "sign_in.html", None, status=401, code=code, errors={"form": _(
            "This sign-in link does not work any more: it was used already, or it has expired. "
            "Ask a facilitator for a new one.")})
    start_session(request, signed)
    flash(request, _("You are signed in."))
    return back("/")


@get("/account")
async def account(request: Request[Any, Any, Any], me: Me) -> Template:
    return page(request, "account.html", me)


@post("/sign-out")
async def sign_out(request: Request[Any, Any, Any], api: Api, me: Me) -> Redirect:
    try:
        await api.post("decisions", f"{me.g}/sign-out", me.token)
    except ApiError as error:
        if error.status not in (401, 403):
            raise
    end_session(request)
    return back("/signed-out")


@post("/sign-out-everywhere")
async def sign_out_everywhere(request: Request[Any, Any, Any], api: Api, me: Me) -> Redirect:
    await api.post("decisions", f"{me.g}/members/{me.member_id}/sign-out-everywhere", me.token)
    end_session(request)
    return back("/signed-out?everywhere=1")


@get("/signed-out")
async def signed_out(request: Request[Any, Any, Any], everywhere: str = "") -> Template:
    return page(request, "signed_out.html", None, everywhere=bool(everywhere))


PAGES = [welcome, sign_in_page, sign_in, account, sign_out, sign_out_everywhere, signed_out]
