"""HTTP: resources and reflections for members, and their public feeds for everyone."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any
from xml.sax.saxutils import escape

import msgspec
from litestar import Request, Response, get, post, put

from services.publishing.api import _roster
from services.publishing.items import (
    AddAuthor,
    Attribution,
    Author,
    ChooseAttribution,
    Content,
    Draft,
    Item,
    Kind,
    RequestPublication,
    Revise,
    Withdraw,
    item_decider,
    item_stream,
)
from shared.access.principals import Authenticated, Principal
from shared.access.roster import Roster
from shared.domain.errors import Forbidden, NotFound
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import StateCache, handle, handle_in_group, load_in_group

TAGS = ["resources and reflections"]
PUBLIC = ["public feeds"]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Tags = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=60)]], msgspec.Meta(max_length=30)]
Links = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]], msgspec.Meta(max_length=30)]


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: Kind
    title: Title
    body: Text = ""
    tags: Tags = msgspec.field(default_factory=list)
    attachments: Links = msgspec.field(default_factory=list)
    attribution: Attribution = "full_name"


class RevisionIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Title
    body: Text = ""
    tags: Tags = msgspec.field(default_factory=list)
    attachments: Links = msgspec.field(default_factory=list)


class AuthorIn(msgspec.Struct, forbid_unknown_fields=True):
    member_id: uuid.UUID
    attribution: Attribution = "full_name"


class AttributionIn(msgspec.Struct, forbid_unknown_fields=True):
    attribution: Attribution


class PublicationIn(msgspec.Struct, forbid_unknown_fields=True):
    closes_in_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 7


class WithdrawIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class Credit(msgspec.Struct):
    name: str
    organisation: str


class ItemOut(msgspec.Struct):
    item_id: uuid.UUID
    group_id: uuid.UUID
    kind: Kind
    status: str
    title: str
    body: str
    tags: list[str]
    attachments: list[str]
    authors: list[Credit]
    revisions: int
    proposal_id: uuid.UUID | None
    refusal: str | None
    published_at: datetime | None


def credit(roster: Roster, author: Author) -> Credit:
    """How an author chose to be credited; a forgotten person reads as erased."""
    organisation = roster.organisations.get(author.organisation_id, "a partner organisation")
    person = roster.members.get(author.member_id)
    name = person.name if person else None
    if author.attribution == "anonymous":
        return Credit(name=f"A member of {organisation}", organisation=organisation)
    if name is None:
        return Credit(name="(name erased)", organisation=organisation)
    return Credit(name=name.split()[0] if author.attribution == "first_name" else name, organisation=organisation)


def item_out(item: Item, roster: Roster, published: bool = False) -> ItemOut:
    assert item.drafted is not None
    content = item.revisions[(item.published_revision or 1) - 1] if published else item.content
    assert content is not None
    return ItemOut(
        item_id=item.drafted.item_id, group_id=item.drafted.group_id, kind=item.drafted.kind, status=item.status,
        title=content.title, body=content.body, tags=list(content.tags), attachments=list(content.attachments),
        authors=[credit(roster, a) for a in item.authors], revisions=len(item.revisions),
        proposal_id=item.proposal_id, refusal=item.refusal, published_at=item.published_at,
    )


def _member(principal: Principal, doing: str) -> uuid.UUID:
    if principal.member_id is None:
        raise Forbidden(f"only a member of the group can {doing}")
    if not {"facilitator", "member"} & set(principal.roles):
        raise Forbidden(f"only a member or facilitator can {doing}")
    return principal.member_id


def _group_of(item: Item) -> uuid.UUID | None:
    return item.drafted.group_id if item.drafted else None


async def _item(request: Request[Any, Any, Any], group_id: uuid.UUID, item_id: uuid.UUID) -> Item:
    cache: StateCache[Item] = request.app.state.item_states
    return await load_in_group(request.app.state.store, item_decider, item_stream(item_id), cache, group_id,
                               _group_of, "item")


async def _run(request: Request[Any, Any, Any], group_id: uuid.UUID, item_id: uuid.UUID, command: Any) -> Item:
    cache: StateCache[Item] = request.app.state.item_states
    return await handle_in_group(request.app.state.store, item_decider, command, stream_id=item_stream(item_id),
                                 cache=cache, group_id=group_id, group_of=_group_of, what="item")


@post("/groups/{group_id:uuid}/items", tags=TAGS, summary="Draft a resource or reflection (member)")
async def draft_item(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, data: ItemIn) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    me = _member(principal, "draft")
    item_id = new_id()
    command = Draft(item_id=item_id, group_id=group_id, kind=data.kind, at=utc_now(),
                    author=Author(me, roster.members[me].organisation_id, data.attribution),
                    content=Content(title=data.title, body=data.body, tags=tuple(data.tags),
                                    attachments=tuple(data.attachments)))
    done = await handle(request.app.state.store, item_decider, command, group_id=group_id,
                        stream_id=item_stream(item_id), cache=request.app.state.item_states)
    return item_out(done.state, roster)


@get("/groups/{group_id:uuid}/items/{item_id:uuid}", tags=TAGS, summary="An item as the group sees it, drafts included")
async def read_item(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID
) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    return item_out(await _item(request, group_id, item_id), roster)


@get("/groups/{group_id:uuid}/items/{item_id:uuid}/revisions", tags=TAGS, summary="Every revision of an item")
async def revisions(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID
) -> list[Content]:
    await _roster(request, principal, group_id)
    return list((await _item(request, group_id, item_id)).revisions)


@post("/groups/{group_id:uuid}/items/{item_id:uuid}/authors", tags=TAGS, summary="Add a co-author (an author)")
async def add_author(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID, data: AuthorIn
) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    person = roster.members.get(data.member_id)
    if person is None:
        raise NotFound("no such member in this group")
    item = await _run(request, group_id, item_id, AddAuthor(
        by=_member(principal, "add an author"), at=utc_now(),
        author=Author(data.member_id, person.organisation_id, data.attribution)))
    return item_out(item, roster)


@post("/groups/{group_id:uuid}/items/{item_id:uuid}/revisions", tags=TAGS, summary="Revise a draft (an author)")
async def revise(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID, data: RevisionIn
) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    content = Content(title=data.title, body=data.body, tags=tuple(data.tags), attachments=tuple(data.attachments))
    return item_out(await _run(request, group_id, item_id, Revise(by=_member(principal, "revise"), content=content,
                                                                   at=utc_now())), roster)


@put("/groups/{group_id:uuid}/items/{item_id:uuid}/attribution", tags=TAGS,
     summary="Choose how you are credited: full name, first name or anonymous (an author)")
async def attribution(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID, data: AttributionIn
) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    return item_out(await _run(request, group_id, item_id, ChooseAttribution(
        by=_member(principal, "choose attribution"), attribution=data.attribution, at=utc_now())), roster)


@post("/groups/{group_id:uuid}/items/{item_id:uuid}/publication", tags=TAGS, status_code=202,
      summary="Ask the group's consent to publish (an author); decisions opens the consent proposal")
async def request_publication(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID, data: PublicationIn
) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    now = utc_now()
    return item_out(await _run(request, group_id, item_id, RequestPublication(
        by=_member(principal, "request publication"), proposal_id=new_id(),
        closes_at=now + timedelta(days=data.closes_in_days), at=now)), roster)


@post("/groups/{group_id:uuid}/items/{item_id:uuid}/withdraw", tags=TAGS, status_code=200,
      summary="Unpublish an item (any author)")
async def withdraw(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, item_id: uuid.UUID, data: WithdrawIn
) -> ItemOut:
    roster = await _roster(request, principal, group_id)
    return item_out(await _run(request, group_id, item_id, Withdraw(by=_member(principal, "withdraw"),
                                                                     reason=data.reason, at=utc_now())), roster)


async def _published(request: Request[Any, Any, Any], group_id: uuid.UUID) -> tuple[list[ItemOut], datetime | None]:
    members = request.app.state.members
    roster = await members.existing(group_id)
    rows = await request.app.state.store.pool.fetch(
        "SELECT state FROM publishing_items WHERE group_id = $1 AND status = 'published'"
        " ORDER BY published_at DESC LIMIT 100", group_id)
    items = [item_out(msgspec.msgpack.decode(r["state"], type=Item), roster, published=True) for r in rows]
    return items, max((i.published_at for i in items if i.published_at), default=None)


def _cached(request: Request[Any, Any, Any], body: bytes, modified: datetime | None, media_type: str) -> Response[bytes]:
    """A response with ETag and Last-Modified that answers 304 to a matching conditional GET."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if modified is not None:
        headers["Last-Modified"] = format_datetime(modified.astimezone(UTC).replace(microsecond=0), usegmt=True)
    match = request.headers.get("if-none-match")
    since = request.headers.get("if-modified-since")
    fresh = match is not None and etag in [m.strip() for m in match.split(",")]
    if match is None and since and modified is not None:
        try:
            fresh = modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            fresh = False
    if fresh:
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@get("/public/groups/{group_id:uuid}/items", tags=PUBLIC, summary="Published items as JSON (no token needed)")
async def public_items(request: Request[Any, Any, Any], group_id: uuid.UUID) -> Response[bytes]:
    items, modified = await _published(request, group_id)
    return _cached(request, msgspec.json.encode(items), modified, "application/json")


@get("/public/groups/{group_id:uuid}/feed.json", tags=PUBLIC, summary="JSON Feed 1.1 of published items")
async def json_feed(request: Request[Any, Any, Any], group_id: uuid.UUID) -> Response[bytes]:
    items, modified = await _published(request, group_id)
    base = str(request.base_url).rstrip("/")
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Resources and reflections",
        "home_page_url": f"{base}/public/groups/{group_id}/items",
        "feed_url": f"{base}/public/groups/{group_id}/feed.json",
        "items": [{
            "id": str(i.item_id), "url": f"{base}/public/groups/{group_id}/items#{i.item_id}", "title": i.title,
            "content_text": i.body, "date_published": i.published_at.isoformat() if i.published_at else None,
            "tags": i.tags, "authors": [{"name": f"{c.name} ({c.organisation})"} for c in i.authors],
            "attachments": [{"url": a, "mime_type": "application/octet-stream"} for a in i.attachments],
        } for i in items],
    }
    return _cached(request, msgspec.json.encode(feed), modified, "application/feed+json")


@get("/public/groups/{group_id:uuid}/feed.atom", tags=PUBLIC, summary="Atom feed of published items")
async def atom_feed(request: Request[Any, Any, Any], group_id: uuid.UUID) -> Response[bytes]:
    items, modified = await _published(request, group_id)
    base = str(request.base_url).rstrip("/")
    updated = (modified or datetime(2000, 1, 1, tzinfo=UTC)).isoformat()
    entries = "".join(
        f"<entry><id>urn:uuid:{i.item_id}</id><title>{escape(i.title)}</title>"
        f"<updated>{i.published_at.isoformat() if i.published_at else updated}</updated>"
        + "".join(f"<author><name>{escape(c.name)} ({escape(c.organisation)})</name></author>" for c in i.authors)
        + "".join(f'<category term="{escape(t)}"/>' for t in i.tags)
        + f'<link href="{escape(base)}/public/groups/{group_id}/items#{i.item_id}"/>'
        + f'<content type="text">{escape(i.body)}</content></entry>'
        for i in items
    )
    xml = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
           f"<id>urn:uuid:{group_id}</id><title>Resources and reflections</title><updated>{updated}</updated>"
           f'<link rel="self" href="{escape(base)}/public/groups/{group_id}/feed.atom"/>{entries}</feed>')
    return _cached(request, xml.encode(), modified, "application/atom+xml")


ROUTES = [draft_item, read_item, revisions, add_author, revise, attribution, request_publication, withdraw,
          public_items, json_feed, atom_feed]
