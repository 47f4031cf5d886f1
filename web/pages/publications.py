"""Publications: draft and co-author a reflection or resource, ask the group's consent to publish, see the
decision; and the group's public page of what it published (no sign-in)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from web.api import Api, ApiError
from web.render import _, back, page, refused
from web.session import Me, flash

ATTRIBUTIONS = ("full_name", "first_name", "anonymous")


@get("/publications")
async def publications(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    items = await api.get("publishing", f"{me.g}/items", me.token)
    return page(request, "publications.html", me, items=items, attributions=ATTRIBUTIONS,
                values={"kind": "reflection", "attribution": "full_name"})


@post("/publications")
async def draft(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("kind", "title", "body", "tags", "attribution")}
    body = {"kind": values["kind"] if values["kind"] in ("reflection", "resource") else "reflection",
            "title": values["title"].strip(), "body": values["body"],
            "tags": [t.strip() for t in values["tags"].split(",") if t.strip()],
            "attribution": values["attribution"] if values["attribution"] in ATTRIBUTIONS else "full_name"}
    errors = {} if body["title"] else {"title": _("Give it a title.")}
    if not errors:
        try:
            made = await api.post("publishing", f"{me.g}/items", me.token, body)
        except ApiError as error:
            errors = refused(error, "title")
        else:
            flash(request, _("Your draft is saved. Only the group can see it until it is published."))
            return back(f"/publications/{made['item_id']}")
    items = await api.get("publishing", f"{me.g}/items", me.token)
    return page(request, "publications.html", me, status=422, items=items, attributions=ATTRIBUTIONS, errors=errors,
                values=values)


async def _show(request: Request[Any, Any, Any], api: Api, me: Me, item_id: object, *, status: int = 200,
                errors: dict[str, str] | None = None) -> Template:
    item = await api.get("publishing", f"{me.g}/items/{item_id}", me.token)
    proposal = None
    if item.get("proposal_id"):
        try:
            proposal = await api.get("decisions", f"{me.g}/proposals/{item['proposal_id']}", me.token)
        except ApiError:
            proposal = None  # decisions opens it on receiving the request: a moment later it is there
    return page(request, "publication.html", me, status=status, errors=errors, item=item, proposal=proposal,
                values={"title": item["title"], "body": item["body"], "tags": ", ".join(item["tags"])})


@get("/publications/{item_id:uuid}")
async def publication(request: Request[Any, Any, Any], api: Api, me: Me, item_id: uuid.UUID) -> Template:
    return await _show(request, api, me, str(item_id))


async def _act(request: Request[Any, Any, Any], api: Api, me: Me, item_id: object, path: str, body: Any, done: str,
               field: str) -> Template | Redirect:
    try:
        await api.post("publishing", f"{me.g}/items/{item_id}{path}", me.token, body)
    except ApiError as error:
        if error.status not in (403, 409, 422):
            raise
        return await _show(request, api, me, str(item_id), status=422, errors=refused(error, field))
    flash(request, done)
    return back(f"/publications/{item_id}")


@post("/publications/{item_id:uuid}/revise")
async def revise(request: Request[Any, Any, Any], api: Api, me: Me, item_id: uuid.UUID) -> Template | Redirect:
    form = await request.form()
    return await _act(request, api, me, str(item_id), "/revisions", {
        "title": str(form.get("title", "")).strip(), "body": str(form.get("body", "")),
        "tags": [t.strip() for t in str(form.get("tags", "")).split(",") if t.strip()]},
        _("Your changes are saved as a new revision."), "title")


@post("/publications/{item_id:uuid}/authors")
async def co_author(request: Request[Any, Any, Any], api: Api, me: Me, item_id: uuid.UUID) -> Template | Redirect:
    member = str((await request.form()).get("member_id", ""))
    return await _act(request, api, me, str(item_id), "/authors", {"member_id": member},
                      _("{name} is now a co-author.", name=me.name_of(member)), "member_id")


@post("/publications/{item_id:uuid}/request")
async def ask(request: Request[Any, Any, Any], api: Api, me: Me, item_id: uuid.UUID) -> Template | Redirect:
    return await _act(request, api, me, str(item_id), "/publication", {"closes_in_days": 7},
                      _("The group is asked to consent. A proposal opens for everyone to vote on."), "publication")


@get("/public/{group_id:uuid}")
async def public(request: Request[Any, Any, Any], api: Api, group_id: uuid.UUID) -> Template:
    items = await api.get("publishing", f"/public/groups/{group_id}/items", None)
    listed = items["items"] if isinstance(items, dict) else items
    return page(request, "public.html", None, items=listed, group_id=group_id)


@get("/public/{group_id:uuid}/feed.atom")
async def public_feed(api: Api, group_id: uuid.UUID) -> Response[str]:
    """The group's Atom feed, from the publishing service, at the web app's own address."""
    atom = await api.get("publishing", f"/public/groups/{group_id}/feed.atom", None)
    return Response(str(atom), media_type="application/atom+xml")


PAGES = [publications, draft, publication, revise, co_author, ask, public, public_feed]
