"""Resources and reflections for the group's members: drafts, co-authors, revisions, credits, publication."""

from __future__ import annotations

import uuid
from datetime import timedelta

from litestar import Controller, get, post, put

from services.publishing.context import Publishing
from services.publishing.domain.items import (
    AddAuthor,
    ChooseAttribution,
    Draft,
    Item,
    ItemCommand,
    RequestPublication,
    Revise,
    Withdraw,
    item_decider,
    item_stream,
)
from services.publishing.events import Author, Content, ItemDrafted
from services.publishing.http.schemas import (
    AttributionIn,
    AuthorIn,
    ItemIn,
    ItemOut,
    PublicationIn,
    RevisionIn,
    WithdrawIn,
    item_out,
)
from shared.access.guards import acting_member
from shared.access.principals import Authenticated
from shared.domain.contract import type_name
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import handle, handle_in_group, load, load_in_group

TAGS = ["resources and reflections"]


def _group_of(item: Item) -> uuid.UUID | None:
    return item.drafted.group_id if item.drafted else None


async def _item(service: Publishing, group_id: uuid.UUID, item_id: uuid.UUID) -> Item:
    return await load_in_group(service.store, item_decider, item_stream(item_id), service.items, group_id,
                               _group_of, "item")


async def _run(service: Publishing, group_id: uuid.UUID, item_id: uuid.UUID, command: ItemCommand) -> Item:
    return await handle_in_group(service.store, item_decider, command, stream_id=item_stream(item_id),
                                 cache=service.items, group_id=group_id, group_of=_group_of, what="item")


class ItemController(Controller):
    """A group's items; every route answers 404 for another group's items."""

    path = "/groups/{group_id:uuid}/items"
    tags = TAGS

    @post("/", summary="Draft a resource or reflection (member)")
    async def draft_item(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                         data: ItemIn) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        me = acting_member(principal, "draft")
        item_id = new_id()
        command = Draft(item_id=item_id, group_id=group_id, kind=data.kind, at=utc_now(),
                        author=Author(me, roster.members[me].organisation_id, data.attribution),
                        content=Content(title=data.title, body=data.body, tags=tuple(data.tags),
                                        attachments=tuple(data.attachments)))
        done = await handle(service.store, item_decider, command, group_id=group_id, stream_id=item_stream(item_id),
                            cache=service.items)
        return item_out(done.state, roster)

    @get("/", summary="The group's items, drafts included, in the order they were drafted")
    async def list_items(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID) -> list[ItemOut]:
        roster = await service.members.admit(principal, group_id)
        rows = await service.store.pool.fetch(
            "SELECT stream_id FROM events WHERE group_id = $1 AND type = $2 ORDER BY seq",
            group_id, type_name(ItemDrafted))
        items = [(await load(service.store, item_decider, row["stream_id"], service.items))[0] for row in rows]
        return [item_out(item, roster) for item in items]

    @get("/{item_id:uuid}", summary="An item as the group sees it, drafts included")
    async def read_item(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                        item_id: uuid.UUID) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        return item_out(await _item(service, group_id, item_id), roster)

    @get("/{item_id:uuid}/revisions", summary="Every revision of an item")
    async def list_revisions(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                        item_id: uuid.UUID) -> list[Content]:
        await service.members.admit(principal, group_id)
        return list((await _item(service, group_id, item_id)).revisions)

    @post("/{item_id:uuid}/authors", summary="Add a co-author (an author)")
    async def add_author(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                         item_id: uuid.UUID, data: AuthorIn) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        person = roster.named(data.member_id)
        item = await _run(service, group_id, item_id, AddAuthor(
            by=acting_member(principal, "add an author"), at=utc_now(),
            author=Author(data.member_id, person.organisation_id, data.attribution)))
        return item_out(item, roster)

    @post("/{item_id:uuid}/revisions", summary="Revise a draft (an author)")
    async def revise_item(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                     item_id: uuid.UUID, data: RevisionIn) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        content = Content(title=data.title, body=data.body, tags=tuple(data.tags), attachments=tuple(data.attachments))
        item = await _run(service, group_id, item_id,
                          Revise(by=acting_member(principal, "revise"), content=content, at=utc_now()))
        return item_out(item, roster)

    @put("/{item_id:uuid}/attribution",
         summary="Choose how you are credited: full name, first name or anonymous (an author)")
    async def set_attribution(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                          item_id: uuid.UUID, data: AttributionIn) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        item = await _run(service, group_id, item_id, ChooseAttribution(
            by=acting_member(principal, "choose attribution"), attribution=data.attribution, at=utc_now()))
        return item_out(item, roster)

    @post("/{item_id:uuid}/publication", status_code=202,
          summary="Ask the group's consent to publish (an author); decisions opens the consent proposal")
    async def request_publication(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                                  item_id: uuid.UUID, data: PublicationIn) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        now = utc_now()
        item = await _run(service, group_id, item_id, RequestPublication(
            by=acting_member(principal, "request publication"), proposal_id=new_id(),
            closes_at=now + timedelta(days=data.closes_in_days), at=now))
        return item_out(item, roster)

    @post("/{item_id:uuid}/withdraw", status_code=200, summary="Unpublish an item (any author)")
    async def withdraw_item(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                       item_id: uuid.UUID, data: WithdrawIn) -> ItemOut:
        roster = await service.members.admit(principal, group_id)
        item = await _run(service, group_id, item_id,
                          Withdraw(by=acting_member(principal, "withdraw"), reason=data.reason, at=utc_now()))
        return item_out(item, roster)
