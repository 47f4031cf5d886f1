"""Proposals: the list, proposing, reading one, voting in every kind, comments, the outcome, closing."""

from __future__ import annotations

import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.response import Redirect, Template

from web.api import Api, ApiError
from web.ballots import BallotError, choice_from_form, current_order, move
from web.forms import whole_number
from web.render import _, back, in_days, local_moment, page, refused
from web.session import Me, flash

KINDS = ("consent", "choice", "multiple", "ranked", "score", "dot", "time")


async def _proposals(api: Api, me: Me) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params = {"limit": "100", **({"after": after} if after else {})}
        found = await api.get("decisions", f"{me.g}/proposals", me.token, **params)
        listed.extend(found["proposals"])
        if not found.get("next"):
            return listed
        after = str(found["next"])


async def waiting_for_me(api: Api, me: Me) -> list[dict[str, Any]]:
    """Open proposals the member has not voted on yet."""
    waiting = []
    for summary in await _proposals(api, me):
        if summary["status"] == "open":
            full = await api.get("decisions", f"{me.g}/proposals/{summary['proposal_id']}", me.token)
            if full.get("my_ballot") is None:
                waiting.append(full)
    return waiting


@get("/proposals")
async def list_proposals(request: Request[Any, Any, Any], api: Api, me: Me) -> Template:
    listed = await _proposals(api, me)
    return page(request, "proposals.html", me, open=[p for p in listed if p["status"] in ("open", "scheduled")],
                done=[p for p in reversed(listed) if p["status"] not in ("open", "scheduled")])


@get("/proposals/new")
async def new_proposal(request: Request[Any, Any, Any], me: Me) -> Template:
    day, at = in_days(7, me.tz)
    return page(request, "propose.html", me, kinds=KINDS, values={"closes_on": day, "closes_at": at, "kind": "consent"})


_SLOT = re.compile(r"(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2})\s*(?:-|\u2013|to)\s*(\d{1,2}:\d{2})")


def _slots(lines: list[str], tz: ZoneInfo) -> list[dict[str, str]] | None:
    """The times a `time` proposal offers, each line a day with its start and end in the group's zone (None when a
    line is not one): every slot used to be the closing time, so the meeting was scheduled then."""
    slots = []
    for line in lines:
        found = _SLOT.fullmatch(line)
        if found is None:
            return None
        day, start, end = found.groups()
        try:
            starts, ends = local_moment(day, start.zfill(5), tz), local_moment(day, end.zfill(5), tz)
        except ValueError:
            return None
        if ends <= starts:
            return None
        slots.append({"label": line, "starts_at": starts.isoformat(), "ends_at": ends.isoformat()})
    return slots


@post("/proposals/new")
async def propose(request: Request[Any, Any, Any], api: Api, me: Me) -> Template | Redirect:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("kind", "title", "body", "options", "closes_on", "closes_at",
                                                "max_choices")}
    errors: dict[str, str] = {}
    if not values["title"].strip():
        errors["title"] = _("Give the proposal a title.")
    try:
        closes = local_moment(values["closes_on"], values["closes_at"], me.tz)
    except ValueError:
        errors["closes_on"] = _("Give the day voting closes, like 2030-03-01.")
    options = [line.strip() for line in values["options"].splitlines() if line.strip()]
    if values["kind"] != "consent" and len(options) < 2:
        errors["options"] = _("Give at least two options, one on each line.")
    slots = _slots(options, me.tz) if values["kind"] == "time" else []
    several = whole_number(values["max_choices"] or str(max(len(options), 1)), 1, max(len(options), 1))
    if values["kind"] == "multiple" and several is None:
        errors["max_choices"] = _("Give a whole number from 1 to the number of options.")
    if slots is None:
        errors["options"] = _("Write each time on its own line as a day, a start and an end, for example "
                              "2030-03-12 10:30-12:00.")
    if errors:
        return page(request, "propose.html", me, status=422, kinds=KINDS, errors=errors, values=values)
    body: dict[str, Any] = {"kind": values["kind"], "title": values["title"].strip(), "body": values["body"],
                            "closes_at": closes.isoformat()}
    if values["kind"] == "time":
        body["options"] = slots
    elif values["kind"] != "consent":
        body["options"] = [{"label": o} for o in options]
    if values["kind"] == "multiple":
        body["max_choices"] = several
    try:
        made = await api.post("decisions", f"{me.g}/proposals", me.token, body)
    except ApiError as error:
        return page(request, "propose.html", me, status=422, kinds=KINDS, errors=refused(error, "title"), values=values)
    flash(request, _("Your proposal is open for votes."))
    return back(f"/proposals/{made['proposal_id']}")


async def _show(request: Request[Any, Any, Any], api: Api, me: Me, proposal_id: object, *, status: int = 200,
                errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                order: list[str] | None = None, focus: str = "", moved: str = "") -> Template:
    path = f"{me.g}/proposals/{proposal_id}"
    proposal = await api.get("decisions", path, me.token)
    history = await api.get("decisions", f"{path}/history", me.token)
    comments = [e["data"] for e in history if e["type"] == "decisions.CommentAdded"]
    labels = {str(o["id"]): o["label"] for o in proposal["options"]}
    return page(request, "proposal.html", me, status=status, errors=errors, values=values or _ballot_values(proposal),
                p=proposal, comments=comments, labels=labels, order=order or current_order(proposal),
                focus=focus, moved=moved)


def _ballot_values(proposal: dict[str, Any]) -> dict[str, Any]:
    """The member's current ballot, as the vote form's values."""
    mine = proposal.get("my_ballot") or {}
    values: dict[str, Any] = {}
    if mine.get("stance"):
        values["stance"] = mine["stance"]
    if mine.get("option"):
        values["option"] = mine["option"]
    values["options"] = list(mine.get("options", []))
    for option, score in (mine.get("scores") or {}).items():
        values[f"score-{option}"] = str(score)
    for option, answer in (mine.get("availability") or {}).items():
        values[f"slot-{option}"] = answer
    return values


@get("/proposals/{proposal_id:uuid}")
async def read_proposal(request: Request[Any, Any, Any], api: Api, me: Me, proposal_id: uuid.UUID) -> Template:
    return await _show(request, api, me, str(proposal_id))


@post("/proposals/{proposal_id:uuid}/ballot")
async def vote(request: Request[Any, Any, Any], api: Api, me: Me, proposal_id: uuid.UUID) -> Template | Redirect:
    form = await request.form()
    path = f"{me.g}/proposals/{proposal_id}"
    proposal = await api.get("decisions", path, me.token)
    if form.get("move"):  # a ranking moved one place: show it, cast nothing yet
        order, option, focus = move(current_order(proposal, form), str(form.get("move")))
        label = {str(o["id"]): o["label"] for o in proposal["options"]}.get(option, "")
        moved = _("{option} is now number {place} of {count}.", option=label, place=order.index(option) + 1,
                  count=len(order)) if option else ""
        return await _show(request, api, me, str(proposal_id), order=order, focus=focus, moved=moved,
                           values={"reason": str(form.get("reason", ""))})
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "_csrf_token"}
    values["options"] = [str(o) for o in form.getall("options", [])]
    reason = str(form.get("reason", "")).strip()
    try:
        choice = choice_from_form(proposal, form)
        await api.post("decisions", f"{path}/ballots", me.token, {"choice": choice, "reason": reason or None})
    except BallotError as error:
        return await _show(request, api, me, str(proposal_id), status=422, errors={error.field: error.message},
                           values=values, order=current_order(proposal, form))
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        field = {"choice": _vote_field(proposal["kind"])}.get(error.field or "", error.field or _vote_field(proposal["kind"]))
        return await _show(request, api, me, str(proposal_id), status=422, errors={field: error.detail}, values=values,
                           order=current_order(proposal, form))
    flash(request, _("Your vote is recorded. You can change it until the proposal closes."))
    return back(f"/proposals/{proposal_id}")


def _vote_field(kind: str) -> str:
    return {"consent": "stance", "choice": "option", "multiple": "options"}.get(kind, "vote")


@post("/proposals/{proposal_id:uuid}/retract")
async def retract(request: Request[Any, Any, Any], api: Api, me: Me, proposal_id: uuid.UUID) -> Redirect:
    await api.call("decisions", "DELETE", f"{me.g}/proposals/{proposal_id}/ballots", me.token)
    flash(request, _("Your vote is taken back."))
    return back(f"/proposals/{proposal_id}")


@post("/proposals/{proposal_id:uuid}/comments")
async def comment(request: Request[Any, Any, Any], api: Api, me: Me, proposal_id: uuid.UUID) -> Template | Redirect:
    text = str((await request.form()).get("text", "")).strip()
    if not text:
        return await _show(request, api, me, str(proposal_id), status=422, errors={"text": _("Write your comment first.")})
    try:
        await api.post("decisions", f"{me.g}/proposals/{proposal_id}/comments", me.token, {"text": text})
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        return await _show(request, api, me, str(proposal_id), status=422, errors=refused(error, "text"),
                           values={"text": text})  # what they wrote stays in the box
    flash(request, _("Your comment is added."))
    return back(f"/proposals/{proposal_id}#comments")


@post("/proposals/{proposal_id:uuid}/close")
async def close(request: Request[Any, Any, Any], api: Api, me: Me, proposal_id: uuid.UUID) -> Redirect:
    await api.post("decisions", f"{me.g}/proposals/{proposal_id}/close", me.token)
    flash(request, _("The proposal is closed and its outcome recorded."))
    return back(f"/proposals/{proposal_id}")


PAGES = [list_proposals, new_proposal, propose, read_proposal, vote, retract, comment, close]
