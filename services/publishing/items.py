"""Co-produced resources and reflections: drafted, revised, approved by consent, published, withdrawn.

Publication is decided by the group, not by the authors alone: a request
becomes a consent proposal in decisions (through the log), and the item is
published only when that proposal passes. Any author may withdraw it later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec
from msgspec.structs import replace

from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, Forbidden, InvalidCommand, NotFound

Kind = Literal["resource", "reflection"]
Attribution = Literal["full_name", "first_name", "anonymous"]


class Author(msgspec.Struct, frozen=True):
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    attribution: Attribution


class Content(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    body: str
    tags: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()


class ItemDrafted(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.ItemDrafted"):
    item_id: uuid.UUID
    group_id: uuid.UUID
    kind: Kind
    author: Author
    content: Content
    at: datetime


class AuthorAdded(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.AuthorAdded"):
    item_id: uuid.UUID
    author: Author
    by: uuid.UUID
    at: datetime


class ItemRevised(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.ItemRevised"):
    item_id: uuid.UUID
    revision: int
    content: Content
    by: uuid.UUID
    at: datetime


class AttributionChosen(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.AttributionChosen"):
    item_id: uuid.UUID
    member_id: uuid.UUID
    attribution: Attribution
    at: datetime


class PublicationRequested(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.PublicationRequested"):
    """Decisions consumes this and opens the consent proposal ``proposal_id`` for the group."""

    item_id: uuid.UUID
    group_id: uuid.UUID
    proposal_id: uuid.UUID
    requested_by: uuid.UUID
    title: str
    summary: str
    closes_at: datetime
    at: datetime


class ItemPublished(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.ItemPublished"):
    item_id: uuid.UUID
    proposal_id: uuid.UUID
    revision: int
    at: datetime


class PublicationRefused(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.PublicationRefused"):
    item_id: uuid.UUID
    proposal_id: uuid.UUID
    result: str
    explanation: str
    at: datetime


class ItemWithdrawn(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.ItemWithdrawn"):
    item_id: uuid.UUID
    by: uuid.UUID
    reason: str
    at: datetime


ItemEvent = (
    ItemDrafted | AuthorAdded | ItemRevised | AttributionChosen | PublicationRequested | ItemPublished
    | PublicationRefused | ItemWithdrawn
)


class Item(msgspec.Struct, frozen=True, kw_only=True):
    drafted: ItemDrafted | None = None
    authors: tuple[Author, ...] = ()
    content: Content | None = None
    revisions: tuple[Content, ...] = ()
    status: str = "none"  # draft, awaiting_approval, published, refused, withdrawn
    proposal_id: uuid.UUID | None = None
    published_revision: int | None = None
    published_at: datetime | None = None
    refusal: str | None = None

    def author(self, member_id: uuid.UUID) -> Author | None:
        return next((a for a in self.authors if a.member_id == member_id), None)


class Draft(msgspec.Struct, frozen=True, kw_only=True):
    item_id: uuid.UUID
    group_id: uuid.UUID
    kind: Kind
    author: Author
    content: Content
    at: datetime


class AddAuthor(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID
    author: Author
    at: datetime


class Revise(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID
    content: Content
    at: datetime


class ChooseAttribution(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID
    attribution: Attribution
    at: datetime


class RequestPublication(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID
    proposal_id: uuid.UUID
    closes_at: datetime
    at: datetime


class RecordDecision(msgspec.Struct, frozen=True, kw_only=True):
    """From decisions' ProposalClosed (or ProposalWithdrawn), as publishing reads it."""

    proposal_id: uuid.UUID
    result: str
    explanation: str
    at: datetime


class Withdraw(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID
    reason: str
    at: datetime


ItemCommand = Draft | AddAuthor | Revise | ChooseAttribution | RequestPublication | RecordDecision | Withdraw
OPEN_FOR_CHANGES = ("draft", "refused")


def _check(content: Content) -> None:
    if not content.title.strip():
        raise InvalidCommand("an item needs a title", field="title")
    for n, link in enumerate(content.attachments):
        if not link.startswith(("https://", "http://")):
            raise InvalidCommand("attachments are links (http or https)", field=f"attachments[{n}]")


def decide(command: ItemCommand, item: Item) -> list[ItemEvent]:
    if isinstance(command, Draft):
        if item.drafted is not None:
            raise CommandRejected("this item exists already")
        _check(command.content)
        return [ItemDrafted(item_id=command.item_id, group_id=command.group_id, kind=command.kind,
                            author=command.author, content=command.content, at=command.at)]
    if item.drafted is None:
        raise NotFound("no such item")
    item_id = item.drafted.item_id
    if isinstance(command, RecordDecision):
        if item.status != "awaiting_approval" or command.proposal_id != item.proposal_id:
            return []  # a redelivery, or a decision on an earlier request: nothing to do
        if command.result == "passed":
            return [ItemPublished(item_id=item_id, proposal_id=command.proposal_id,
                                  revision=len(item.revisions), at=command.at)]
        return [PublicationRefused(item_id=item_id, proposal_id=command.proposal_id, result=command.result,
                                   explanation=command.explanation, at=command.at)]
    if item.author(command.by) is None:
        raise Forbidden("only an author of the item can do that")
    if isinstance(command, Withdraw):
        if item.status != "published":
            raise CommandRejected(f"the item is {item.status}, not published")
        return [ItemWithdrawn(item_id=item_id, by=command.by, reason=command.reason, at=command.at)]
    if isinstance(command, ChooseAttribution):
        return [AttributionChosen(item_id=item_id, member_id=command.by, attribution=command.attribution,
                                  at=command.at)]
    if item.status not in OPEN_FOR_CHANGES:
        raise CommandRejected(f"the item is {item.status.replace('_', ' ')}: it cannot change now")
    if isinstance(command, AddAuthor):
        if item.author(command.author.member_id) is not None:
            raise CommandRejected("already an author")
        return [AuthorAdded(item_id=item_id, author=command.author, by=command.by, at=command.at)]
    if isinstance(command, Revise):
        _check(command.content)
        if command.content == item.content:
            return []
        return [ItemRevised(item_id=item_id, revision=len(item.revisions) + 1, content=command.content,
                            by=command.by, at=command.at)]
    assert item.content is not None
    return [PublicationRequested(item_id=item_id, group_id=item.drafted.group_id, proposal_id=command.proposal_id,
                                 requested_by=command.by, title=item.content.title,
                                 summary=item.content.body[:500], closes_at=command.closes_at, at=command.at)]


def evolve(item: Item, event: ItemEvent) -> Item:
    if isinstance(event, ItemDrafted):
        return Item(drafted=event, authors=(event.author,), content=event.content, revisions=(event.content,),
                    status="draft")
    if isinstance(event, AuthorAdded):
        return replace(item, authors=(*item.authors, event.author))
    if isinstance(event, ItemRevised):
        return replace(item, content=event.content, revisions=(*item.revisions, event.content))
    if isinstance(event, AttributionChosen):
        return replace(item, authors=tuple(
            replace(a, attribution=event.attribution) if a.member_id == event.member_id else a for a in item.authors))
    if isinstance(event, PublicationRequested):
        return replace(item, status="awaiting_approval", proposal_id=event.proposal_id, refusal=None)
    if isinstance(event, ItemPublished):
        return replace(item, status="published", published_revision=event.revision, published_at=event.at)
    if isinstance(event, PublicationRefused):
        return replace(item, status="refused", refusal=f"{event.result}: {event.explanation}")
    return replace(item, status="withdrawn")


item_decider: Decider[ItemCommand, Item, ItemEvent] = Decider(
    initial_state=Item, decide=decide, evolve=evolve, event_type=ItemEvent
)


def item_stream(item_id: uuid.UUID) -> str:
    return f"publishing.item.{item_id}"
