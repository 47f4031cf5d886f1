"""Co-produced resources and reflections: drafted, revised, approved by consent, published, withdrawn.

Publication is decided by the group, not by the authors alone: a request
becomes a consent proposal in decisions (through the log), and the item is
published only when that proposal passes. Any author may withdraw it later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, assert_never

import msgspec
from msgspec.structs import replace

from services.publishing.events import (
    Attribution,
    AttributionChosen,
    Author,
    AuthorAdded,
    Content,
    ItemDrafted,
    ItemEvent,
    ItemPublished,
    ItemRevised,
    ItemWithdrawn,
    Kind,
    PublicationRefused,
    PublicationRequested,
)
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, Forbidden, InvalidCommand, NotFound


def item_stream(item_id: uuid.UUID) -> str:
    return f"publishing.item.{item_id}"


# -- commands -------------------------------------------------------------------------------------


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


AuthorCommand = AddAuthor | Revise | ChooseAttribution | RequestPublication | Withdraw
"""What only an author of the item may do."""
ItemCommand = Draft | RecordDecision | AuthorCommand


# -- state ----------------------------------------------------------------------------------------

ItemStatus = Literal["none", "draft", "awaiting_approval", "published", "refused", "withdrawn"]
OPEN_FOR_CHANGES: tuple[ItemStatus, ...] = ("draft", "refused")


class Item(msgspec.Struct, frozen=True, kw_only=True):
    drafted: ItemDrafted | None = None
    authors: tuple[Author, ...] = ()
    content: Content | None = None
    revisions: tuple[Content, ...] = ()
    status: ItemStatus = "none"
    proposal_id: uuid.UUID | None = None
    published_revision: int | None = None
    published_at: datetime | None = None
    refusal: str | None = None

    def author(self, member_id: uuid.UUID) -> Author | None:
        return next((a for a in self.authors if a.member_id == member_id), None)


# -- decide ---------------------------------------------------------------------------------------


def _check(content: Content) -> None:
    if not content.title.strip():
        raise InvalidCommand("an item needs a title", field="title")
    for n, link in enumerate(content.attachments):
        if not link.startswith(("https://", "http://")):
            raise InvalidCommand("attachments are links (http or https)", field=f"attachments[{n}]")


def _existing(item: Item) -> ItemDrafted:
    if item.drafted is None:
        raise NotFound("no such item")
    return item.drafted


def _open_for_changes(item: Item) -> None:
    if item.status not in OPEN_FOR_CHANGES:
        raise CommandRejected(f"the item is {item.status.replace('_', ' ')}: it cannot change now")


def _draft(command: Draft, item: Item) -> list[ItemEvent]:
    if item.drafted is not None:
        raise CommandRejected("this item exists already")
    _check(command.content)
    return [ItemDrafted(item_id=command.item_id, group_id=command.group_id, kind=command.kind,
                        author=command.author, content=command.content, at=command.at)]


def _record_decision(command: RecordDecision, item: Item) -> list[ItemEvent]:
    drafted = _existing(item)
    if item.status != "awaiting_approval" or command.proposal_id != item.proposal_id:
        return []  # a redelivery, or a decision on an earlier request: nothing to do
    if command.result == "passed":
        return [ItemPublished(item_id=drafted.item_id, proposal_id=command.proposal_id,
                              revision=len(item.revisions), at=command.at)]
    return [PublicationRefused(item_id=drafted.item_id, proposal_id=command.proposal_id, result=command.result,
                               explanation=command.explanation, at=command.at)]


def _by_author(command: AuthorCommand, item: Item) -> list[ItemEvent]:
    drafted = _existing(item)
    item_id = drafted.item_id
    if item.author(command.by) is None:
        raise Forbidden("only an author of the item can do that")
    match command:
        case Withdraw():
            if item.status != "published":
                raise CommandRejected(f"the item is {item.status}, not published")
            return [ItemWithdrawn(item_id=item_id, by=command.by, reason=command.reason, at=command.at)]
        case ChooseAttribution():
            return [AttributionChosen(item_id=item_id, member_id=command.by, attribution=command.attribution,
                                      at=command.at)]
        case AddAuthor():
            _open_for_changes(item)
            if item.author(command.author.member_id) is not None:
                raise CommandRejected("already an author")
            return [AuthorAdded(item_id=item_id, author=command.author, by=command.by, at=command.at)]
        case Revise():
            _open_for_changes(item)
            _check(command.content)
            if command.content == item.content:
                return []
            return [ItemRevised(item_id=item_id, revision=len(item.revisions) + 1, content=command.content,
                                by=command.by, at=command.at)]
        case RequestPublication():
            _open_for_changes(item)
            assert item.content is not None
            return [PublicationRequested(item_id=item_id, group_id=drafted.group_id, proposal_id=command.proposal_id,
                                         requested_by=command.by, title=item.content.title,
                                         summary=item.content.body[:500], closes_at=command.closes_at, at=command.at)]
        case _:
            assert_never(command)


def decide(command: ItemCommand, item: Item) -> list[ItemEvent]:
    match command:
        case Draft():
            return _draft(command, item)
        case RecordDecision():
            return _record_decision(command, item)
        case AddAuthor() | Revise() | ChooseAttribution() | RequestPublication() | Withdraw():
            return _by_author(command, item)
        case _:
            assert_never(command)


# -- evolve ---------------------------------------------------------------------------------------


def evolve(item: Item, event: ItemEvent) -> Item:
    match event:
        case ItemDrafted():
            return Item(drafted=event, authors=(event.author,), content=event.content, revisions=(event.content,),
                        status="draft")
        case AuthorAdded():
            return replace(item, authors=(*item.authors, event.author))
        case ItemRevised():
            return replace(item, content=event.content, revisions=(*item.revisions, event.content))
        case AttributionChosen():
            return replace(item, authors=tuple(
                replace(a, attribution=event.attribution) if a.member_id == event.member_id else a
                for a in item.authors))
        case PublicationRequested():
            return replace(item, status="awaiting_approval", proposal_id=event.proposal_id, refusal=None)
        case ItemPublished():
            return replace(item, status="published", published_revision=event.revision, published_at=event.at)
        case PublicationRefused():
            return replace(item, status="refused", refusal=f"{event.result}: {event.explanation}")
        case ItemWithdrawn():
            return replace(item, status="withdrawn")
        case _:
            assert_never(event)


item_decider: Decider[ItemCommand, Item, ItemEvent] = Decider(
    initial_state=Item, decide=decide, evolve=evolve, event_type=ItemEvent
)
