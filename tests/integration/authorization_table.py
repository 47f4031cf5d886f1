"""Who may do what, route by route: the one table the authorization matrix is driven from.

Each route of the three services' OpenAPI documents has an entry: one or more cases (a way to call it)
and the status each principal gets. Unless a case says otherwise, principals outside ``ok`` in the group
get 403, a member of another group 404 (another group's data does not exist for them), and the revoked
token, the expired token and no token 401. ``member`` is another member: never the resource's owner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from shared.domain.ids import new_id
from tests.integration.authorization_world import PRINCIPALS, World

Act = Callable[[World, dict[str, str]], Awaitable[Any]]

READ = ("operator", "facilitator", "owner", "member", "auditor", "observer")
MANAGE = ("operator", "facilitator")
ACT = ("facilitator", "owner", "member")  # participants acting for themselves (the operator acts for no one)
OWNER_OR_FACILITATOR = ("operator", "facilitator", "owner")
AUDIT = ("operator", "facilitator", "auditor")


@dataclass(frozen=True)
class Case:
    label: str
    act: Act
    expected: dict[str, int]


def expect(ok: Iterable[str], status: int, *, group: bool = True, public: bool = False, **special: int
           ) -> dict[str, int]:
    allowed = set(PRINCIPALS if public else ok)
    out = {p: status if p in allowed else 403 for p in PRINCIPALS}
    if not public:
        out.update(revoked=401, expired=401, anonymous=401)
        if group:
            out["stranger"] = 404
    return {**out, **special}


TABLE: dict[tuple[str, str, str], list[Case]] = {}


def route(service: str, method: str, path: str, expected: dict[str, int], label: str = ""
          ) -> Callable[[Act], Act]:
    def register(act: Act) -> Act:
        TABLE.setdefault((service, method, path), []).append(Case(label or "", act, expected))
        return act
    return register


SERVICES = ("decisions", "scheduling", "publishing")
KERNEL_PUBLIC = ("/healthz", "/readyz", "/metrics", "/checkpoints/key", "/asyncapi.json", "/asyncapi/copro.json",
                 "/events/catalogue.json")


def _client(w: World, service: str) -> Any:
    return {"decisions": w.decisions, "scheduling": w.scheduling, "publishing": w.publishing}[service]


# the kernel's routes, the same in every service
for _service in SERVICES:
    for _path in KERNEL_PUBLIC:
        route(_service, "GET", _path, expect((), 200, public=True))(
            lambda w, h, s=_service, p=_path: _client(w, s).get(p, headers=h))
    route(_service, "GET", "/checkpoints/latest", expect((*READ, "stranger"), 200, group=False))(
        lambda w, h, s=_service: _client(w, s).get("/checkpoints/latest", headers=h))
    route(_service, "GET", "/groups/{group_id}/events/{event_id}/trace", expect(AUDIT, 200))(
        lambda w, h, s=_service: _client(w, s).get(f"{w.g}/events/{w.made['event_id']}/trace", headers=h))

# --- decisions: the group, its members and tokens, partners' keys -----------------------------------------
D = "decisions"
route(D, "GET", "/log", expect(("operator",), 200, group=False))(lambda w, h: w.decisions.get("/log", headers=h))
route(D, "POST", "/groups", expect(("operator",), 201, group=False))(lambda w, h: w.decisions.post(
    "/groups", headers=h, json={"name": "Another", "organisations": [{"name": "A"}]}))
route(D, "GET", "/groups/{group_id}", expect(READ, 200))(lambda w, h: w.decisions.get(w.g, headers=h))
route(D, "PUT", "/groups/{group_id}/rule", expect(MANAGE, 200))(
    lambda w, h: w.decisions.put(f"{w.g}/rule", headers=h, json={}))
route(D, "PUT", "/groups/{group_id}/time-zone", expect(MANAGE, 200))(
    lambda w, h: w.decisions.put(f"{w.g}/time-zone", headers=h, json={"time_zone": "Europe/London"}))
route(D, "GET", "/groups/{group_id}/members", expect(READ, 200))(
    lambda w, h: w.decisions.get(f"{w.g}/members", headers=h))
route(D, "POST", "/groups/{group_id}/members", expect(MANAGE, 201))(lambda w, h: w.decisions.post(
    f"{w.g}/members", headers=h, json={"name": "New Person", "organisation_id": w.group.orgs[1]}))


@route(D, "PATCH", "/groups/{group_id}/members/{member_id}", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.patch(f"{w.g}/members/{await w.temp_member()}", headers=h, json={"lived_experience": True})


@route(D, "DELETE", "/groups/{group_id}/members/{member_id}", expect(MANAGE, 204))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.delete(f"{w.g}/members/{await w.temp_member()}", headers=h)


@route(D, "POST", "/groups/{group_id}/members/{member_id}/forget", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{w.g}/members/{await w.temp_member()}/forget", headers=h,
                                  json={"consent": "asked in person"})


@route(D, "POST", "/groups/{group_id}/members/{member_id}/tokens", expect(MANAGE, 201))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{w.g}/members/{await w.temp_member()}/tokens", headers=h,
                                  json={"expires_in_days": 30})


@route(D, "DELETE", "/groups/{group_id}/tokens/{token_id}", expect(MANAGE, 204))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.delete(f"{w.g}/tokens/{await w.temp_token()}", headers=h)


route(D, "PUT", "/groups/{group_id}/organisations/{organisation_id}/key", expect(MANAGE, 200))(
    lambda w, h: w.decisions.put(f"{w.g}/organisations/{w.group.orgs[0]}/key", headers=h,
                                 json={"public_key": w.partner_key()}))
route(D, "POST", "/groups/{group_id}/checkpoints/{position}/signatures", expect(MANAGE, 201))(
    lambda w, h: w.decisions.post(f"{w.g}/checkpoints/{w.made['position']}/signatures", headers=h, json={
        "organisation_id": w.group.orgs[0], "signature": w.signature(w.made["position"], w.made["global_hash"])}))
route(D, "GET", "/groups/{group_id}/members/{member_id}/history", expect(READ, 200))(
    lambda w, h: w.decisions.get(f"{w.g}/members/{w.group.members['owner']}/history", headers=h))
route(D, "GET", "/groups/{group_id}/as-of", expect(READ, 200))(
    lambda w, h: w.decisions.get(f"{w.g}/as-of", params={"time": "2100-01-01T00:00:00+00:00"}, headers=h))

# --- decisions: sign-in links, signing in and out (the web app's way in) ---------------------------------
@route(D, "POST", "/groups/{group_id}/members/{member_id}/sign-in-links", expect(MANAGE, 201))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{w.g}/members/{await w.temp_member()}/sign-in-links", headers=h, json={})


@route(D, "POST", "/sign-in", expect((), 201, public=True), "a fresh code, whoever else calls: the code is the credential")
async def _(w: World, h: dict[str, str]) -> Any:
    link = await w.ok(await w.decisions.post(f"{w.g}/members/{await w.temp_member()}/sign-in-links",
                                             headers=w.operator, json={}))
    return await w.decisions.post("/sign-in", headers=h, json={"code": link["code"]})


@route(D, "POST", "/sign-in", expect((), 401, public=True), "a code that was never issued")
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post("/sign-in", headers=h, json={"code": f"copro_s_{new_id().hex}_nothing"})


async def _as_fresh_token(w: World, h: dict[str, str]) -> dict[str, str]:
    """The same principal through a new token of its own, so signing out ends no token other cases use."""
    who = next((p for p, headers in w.headers.items() if headers == h), None)
    if who not in w.group.members:
        return h
    made = await w.ok(await w.decisions.post(f"{w.g}/members/{w.group.members[who]}/tokens", headers=w.operator))
    return {"Authorization": f"Bearer {made['token']}"}


route(D, "POST", "/groups/{group_id}/sign-out", expect(("facilitator", "owner", "member", "auditor", "observer"), 201))(
    lambda w, h: _sign_out(w, h))


async def _sign_out(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{w.g}/sign-out", headers=await _as_fresh_token(w, h))


@route(D, "POST", "/groups/{group_id}/members/{member_id}/sign-out-everywhere", expect(MANAGE, 201),
       "another member's tokens")
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{w.g}/members/{await w.temp_member()}/sign-out-everywhere", headers=h)


# --- decisions: proposals, ballots, comments --------------------------------------------------------------
route(D, "POST", "/groups/{group_id}/proposals", expect(ACT, 201))(lambda w, h: w.decisions.post(
    f"{w.g}/proposals", headers=h, json={"kind": "consent", "title": "t", "closes_at": "2100-01-01T00:00:00+00:00"}))
route(D, "GET", "/groups/{group_id}/proposals", expect(READ, 200))(
    lambda w, h: w.decisions.get(f"{w.g}/proposals", headers=h))
route(D, "GET", "/groups/{group_id}/proposals/{proposal_id}", expect(READ, 200))(
    lambda w, h: w.decisions.get(w.made["proposal"], headers=h))
route(D, "GET", "/groups/{group_id}/proposals/{proposal_id}/history", expect(READ, 200))(
    lambda w, h: w.decisions.get(f"{w.made['proposal']}/history", headers=h))


@route(D, "POST", "/groups/{group_id}/proposals/{proposal_id}/amend", expect(("facilitator", "owner"), 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{await w.proposal()}/amend", headers=h, json={"title": "Clearer"})


@route(D, "POST", "/groups/{group_id}/proposals/{proposal_id}/withdraw", expect(("facilitator", "owner"), 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{await w.proposal()}/withdraw", headers=h, json={"reason": "not needed"})


@route(D, "POST", "/groups/{group_id}/proposals/{proposal_id}/close", expect(("facilitator",), 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{await w.proposal()}/close", headers=h)


@route(D, "POST", "/groups/{group_id}/proposals/{proposal_id}/ballots", expect(ACT, 201))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.post(f"{await w.proposal()}/ballots", headers=h, json={"choice": {"stance": "agree"}})


# one's own ballot only, by construction: another member's retraction names their own (absent) ballot
@route(D, "DELETE", "/groups/{group_id}/proposals/{proposal_id}/ballots",
       expect(("owner",), 204, facilitator=409, member=409))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.decisions.delete(f"{await w.proposal(ballot=True)}/ballots", headers=h)


route(D, "POST", "/groups/{group_id}/proposals/{proposal_id}/comments", expect(ACT, 201))(
    lambda w, h: w.decisions.post(f"{w.made['proposal']}/comments", headers=h, json={"text": "Good idea"}))

# --- scheduling: meetings and calendar feeds --------------------------------------------------------------
S = "scheduling"


async def _occurrence(w: World, meeting: str | None = None) -> tuple[str, dict[str, Any]]:
    """A meeting (the world's, unless named) and the body naming its next occurrence."""
    meeting = meeting or w.made["meeting"]
    body = (await w.scheduling.get(f"{w.g}/meetings", headers=w.operator)).json()
    first = next(m for m in body if meeting.endswith(m["meeting_id"]))["next"][0]["starts_at"]
    return meeting, {"occurrence": first}


route(S, "GET", "/groups/{group_id}/meetings", expect(READ, 200))(
    lambda w, h: w.scheduling.get(f"{w.g}/meetings", headers=h))


@route(S, "POST", "/groups/{group_id}/meetings", expect(MANAGE, 201))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.post(f"{w.g}/meetings", headers=h, json={
        "title": "Extra", "starts_at": "2100-01-01T10:00:00+00:00", "ends_at": "2100-01-01T11:00:00+00:00"})


@route(S, "POST", "/groups/{group_id}/meetings/{meeting_id}/cancel", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    meeting, body = await _occurrence(w, await w.meeting())
    return await w.scheduling.post(f"{meeting}/cancel", headers=h, json=body)


@route(S, "POST", "/groups/{group_id}/meetings/{meeting_id}/move", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    meeting, body = await _occurrence(w, await w.meeting())
    return await w.scheduling.post(f"{meeting}/move", headers=h, json={
        **body, "starts_at": "2100-01-02T10:00:00+00:00", "ends_at": "2100-01-02T11:00:00+00:00"})


@route(S, "POST", "/groups/{group_id}/meetings/{meeting_id}/rsvp", expect(ACT, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    meeting, body = await _occurrence(w)
    return await w.scheduling.post(f"{meeting}/rsvp", headers=h, json={**body, "answer": "maybe"})


@route(S, "POST", "/groups/{group_id}/meetings/{meeting_id}/attendance", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    meeting, body = await _occurrence(w)
    return await w.scheduling.post(f"{meeting}/attendance", headers=h,
                                   json={**body, "present": [w.group.members["owner"]]})


# a personal feed is a read credential: every member may hold one (not the operator, who is no member)
route(S, "POST", "/groups/{group_id}/calendar-feeds", expect(READ, 201, operator=403), "personal")(
    lambda w, h: w.scheduling.post(f"{w.g}/calendar-feeds", params={"personal": "true"}, headers=h))
route(S, "POST", "/groups/{group_id}/calendar-feeds", expect(MANAGE, 201), "the group's")(
    lambda w, h: w.scheduling.post(f"{w.g}/calendar-feeds", headers=h))


@route(S, "DELETE", "/groups/{group_id}/calendar-feeds/{feed_id}", expect(OWNER_OR_FACILITATOR, 204), "the owner's")
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.delete(f"{w.g}/calendar-feeds/{await w.feed(personal=True)}", headers=h)


@route(S, "DELETE", "/groups/{group_id}/calendar-feeds/{feed_id}", expect(MANAGE, 204), "the group's")
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.delete(f"{w.g}/calendar-feeds/{await w.feed(personal=False)}", headers=h)


route(S, "GET", "/calendar/{token}", expect((), 200, public=True))(  # the secret address is the credential
    lambda w, h: w.scheduling.get(w.made["feed_url"].split("testserver.local", 1)[-1], headers=h))

# --- scheduling: the gathering, roles and sign-ups, attendees, the table plan ------------------------------
_GATHERING = "/groups/{group_id}/gatherings/{gathering_id}"
route(S, "GET", "/groups/{group_id}/gatherings", expect(READ, 200))(
    lambda w, h: w.scheduling.get(f"{w.g}/gatherings", headers=h))
route(S, "POST", "/groups/{group_id}/gatherings", expect(MANAGE, 201))(lambda w, h: w.scheduling.post(
    f"{w.g}/gatherings", headers=h, json={"title": "G", "venue": "V", "starts_at": "2100-01-01T10:00:00+00:00",
                                          "ends_at": "2100-01-01T16:00:00+00:00", "capacity": 5}))
for _suffix in ("", "/fairness", "/table-plan.csv", "/table-plan.svg", "/table-plan.html"):
    route(S, "GET", _GATHERING + _suffix, expect(READ, 200))(
        lambda w, h, x=_suffix: w.scheduling.get(w.made["gathering"] + x, headers=h))
route(S, "POST", _GATHERING + "/roles", expect(MANAGE, 201))(
    lambda w, h: w.scheduling.post(f"{w.made['gathering']}/roles", headers=h, json={"name": "Greeter", "places": 2}))
route(S, "PUT", _GATHERING + "/capacity", expect(ACT, 200))(
    lambda w, h: w.scheduling.put(f"{w.made['gathering']}/capacity", headers=h, json={"max_roles": 3}))


@route(S, "POST", _GATHERING + "/sign-ups/close", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.post(f"{await w.gathering()}/sign-ups/close", headers=h)


@route(S, "POST", _GATHERING + "/roles/{role_id}/sign-ups", expect(ACT, 201))
async def _(w: World, h: dict[str, str]) -> Any:
    gathering, role = await w.role()
    return await w.scheduling.post(f"{gathering}/roles/{role}/sign-ups", headers=h)


# one's own role only, by construction: another member withdraws or hands on their own (absent) sign-up
@route(S, "POST", _GATHERING + "/roles/{role_id}/withdraw", expect(("owner",), 200, facilitator=409, member=409))
async def _(w: World, h: dict[str, str]) -> Any:
    gathering, role = await w.role(holder=True)
    return await w.scheduling.post(f"{gathering}/roles/{role}/withdraw", headers=h)


@route(S, "POST", _GATHERING + "/roles/{role_id}/swap", expect(("owner",), 200, facilitator=409, member=409))
async def _(w: World, h: dict[str, str]) -> Any:
    gathering, role = await w.role(holder=True)
    return await w.scheduling.post(f"{gathering}/roles/{role}/swap", headers=h,
                                   json={"to_member": w.group.members["facilitator"]})


route(S, "POST", _GATHERING + "/attendees", expect(ACT, 201))(lambda w, h: w.scheduling.post(
    f"{w.made['gathering']}/attendees", headers=h,
    json={"name": f"Guest {new_id().hex[-12:]}", "perspective": "other", "organisation": "O"}))


@route(S, "POST", _GATHERING + "/attendees/{attendee_id}/cancel", expect(OWNER_OR_FACILITATOR, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    gathering = w.made["gathering"]
    return await w.scheduling.post(f"{gathering}/attendees/{await w.attendee(gathering)}/cancel", headers=h)


route(S, "PUT", _GATHERING + "/tables", expect(MANAGE, 200))(lambda w, h: w.scheduling.put(
    f"{w.made['gathering']}/tables", headers=h, json={"tables": [{"table_id": "T1", "size": 4}]}))


@route(S, "POST", _GATHERING + "/table-plan", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.post(f"{await w.seated()}/table-plan", headers=h)



@route(S, "POST", _GATHERING + "/table-plan/lock", expect(MANAGE, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.post(f"{await w.seated()}/table-plan/lock", headers=h)


route(S, "POST", _GATHERING + "/table-plan/links", expect(MANAGE, 201))(
    lambda w, h: w.scheduling.post(f"{w.made['gathering']}/table-plan/links", headers=h))


async def _print_link(w: World) -> dict[str, Any]:
    return await w.ok(await w.scheduling.post(f"{w.made['gathering']}/table-plan/links", headers=w.fac()))


@route(S, "DELETE", _GATHERING + "/table-plan/links/{link_id}", expect(MANAGE, 204))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.delete(f"{w.made['gathering']}/table-plan/links/{(await _print_link(w))['link_id']}",
                                     headers=h)


@route(S, "GET", "/table-plans/{token}", expect((), 200, public=True))  # the secret address is the credential
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.scheduling.get((await _print_link(w))["url"].split("testserver.local", 1)[-1], headers=h)


# --- publishing: items (an item's authors act on it), public feeds, webhooks, the live stream ---------------
P = "publishing"
_ITEM = "/groups/{group_id}/items/{item_id}"
route(P, "GET", "/groups/{group_id}/items", expect(READ, 200))(
    lambda w, h: w.publishing.get(f"{w.g}/items", headers=h))
route(P, "POST", "/groups/{group_id}/items", expect(ACT, 201))(lambda w, h: w.publishing.post(
    f"{w.g}/items", headers=h, json={"kind": "resource", "title": "A checklist"}))
route(P, "GET", _ITEM, expect(READ, 200))(lambda w, h: w.publishing.get(w.made["item"], headers=h))
route(P, "GET", _ITEM + "/revisions", expect(READ, 200))(
    lambda w, h: w.publishing.get(f"{w.made['item']}/revisions", headers=h))
route(P, "POST", _ITEM + "/revisions", expect(("owner",), 201))(lambda w, h: w.publishing.post(
    f"{w.made['item']}/revisions", headers=h, json={"title": "What we learnt", "body": "Revised."}))
route(P, "PUT", _ITEM + "/attribution", expect(("owner",), 200))(lambda w, h: w.publishing.put(
    f"{w.made['item']}/attribution", headers=h, json={"attribution": "first_name"}))


@route(P, "POST", _ITEM + "/authors", expect(("owner",), 201))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.publishing.post(f"{await w.item()}/authors", headers=h, json={"member_id": w.group.members["member"]})


@route(P, "POST", _ITEM + "/publication", expect(("owner",), 202))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.publishing.post(f"{await w.item()}/publication", headers=h, json={})


route(P, "POST", _ITEM + "/withdraw", expect(("owner",), 200))(lambda w, h: w.publishing.post(
    f"{w.made['published']}/withdraw", headers=h, json={"reason": "out of date"}))
for _feed in ("items", "feed.json", "feed.atom"):
    route(P, "GET", f"/public/groups/{{group_id}}/{_feed}", expect((), 200, public=True))(
        lambda w, h, f=_feed: w.publishing.get(f"/public/groups/{w.group.id}/{f}", headers=h))

_HOOK = "/groups/{group_id}/webhooks/{subscription_id}"
route(P, "POST", "/groups/{group_id}/webhooks", expect(MANAGE, 201))(lambda w, h: w.publishing.post(
    f"{w.g}/webhooks", headers=h, json={"url": "http://127.0.0.1:9/other-hook", "event_types": ["none.*"]}))
route(P, "GET", "/groups/{group_id}/webhooks", expect(AUDIT, 200))(
    lambda w, h: w.publishing.get(f"{w.g}/webhooks", headers=h))
route(P, "GET", _HOOK + "/deliveries", expect(AUDIT, 200))(
    lambda w, h: w.publishing.get(f"{w.made['webhook']}/deliveries", headers=h))
route(P, "GET", _HOOK + "/dead-letters", expect(AUDIT, 200))(
    lambda w, h: w.publishing.get(f"{w.made['webhook']}/dead-letters", headers=h))
route(P, "POST", _HOOK + "/dead-letters/redrive", expect(MANAGE, 200))(
    lambda w, h: w.publishing.post(f"{w.made['webhook']}/dead-letters/redrive", headers=h))


@route(P, "DELETE", _HOOK, expect(MANAGE, 204))
async def _(w: World, h: dict[str, str]) -> Any:
    return await w.publishing.delete(await w.webhook(), headers=h)


@route(P, "GET", "/groups/{group_id}/events/stream", expect(READ, 200))
async def _(w: World, h: dict[str, str]) -> Any:
    """Through a served process and a real connection: the answer's status, then disconnect."""
    async with httpx.AsyncClient(base_url=w.stream_base, timeout=20) as client, client.stream(
            "GET", f"{w.g}/events/stream", headers=h) as response:
        await (response.aread() if response.status_code >= 400 else response.aclose())
        return response
