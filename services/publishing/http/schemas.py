"""Publishing's request and response bodies, and how an item is shown (credits as each author chose)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.publishing.domain.items import Item
from services.publishing.events import Attribution, Author, Kind
from shared.access.roster import Roster
from shared.domain.input import Body

Text = Annotated[str, msgspec.Meta(max_length=100_000)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Tags = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=60)]], msgspec.Meta(max_length=30)]
Links = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]], msgspec.Meta(max_length=30)]


# -- items ----------------------------------------------------------------------------------------


class ItemIn(Body):
    kind: Kind
    title: Title
    body: Text = ""
    tags: Tags = msgspec.field(default_factory=list)
    attachments: Links = msgspec.field(default_factory=list)
    attribution: Attribution = "full_name"


class RevisionIn(Body):
    title: Title
    body: Text = ""
    tags: Tags = msgspec.field(default_factory=list)
    attachments: Links = msgspec.field(default_factory=list)


class AuthorIn(Body):
    member_id: uuid.UUID
    attribution: Attribution = "full_name"


class AttributionIn(Body):
    attribution: Attribution


class PublicationIn(Body):
    closes_in_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 7


class WithdrawIn(Body):
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
    """The item as the group sees it, or (``published``) the revision the group consented to."""
    assert item.drafted is not None
    content = item.revisions[(item.published_revision or 1) - 1] if published else item.content
    assert content is not None
    return ItemOut(
        item_id=item.drafted.item_id, group_id=item.drafted.group_id, kind=item.drafted.kind, status=item.status,
        title=content.title, body=content.body, tags=list(content.tags), attachments=list(content.attachments),
        authors=[credit(roster, a) for a in item.authors], revisions=len(item.revisions),
        proposal_id=item.proposal_id, refusal=item.refusal, published_at=item.published_at,
    )


# -- webhooks -------------------------------------------------------------------------------------


class WebhookIn(Body):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
    event_types: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]],
                           msgspec.Meta(min_length=1, max_length=50)] = msgspec.field(default_factory=lambda: ["*"])
    start: Literal["now", "beginning"] = "now"


ENDPOINT_HIDDEN = "hidden: partner endpoints and their answers are shown to facilitators and the operator only"


class WebhookOut(msgspec.Struct):
    """A webhook as its reader may see it: an auditor gets no ``url`` or ``last_error`` (both None)."""

    subscription_id: uuid.UUID
    url: Annotated[str | None, msgspec.Meta(description=ENDPOINT_HIDDEN)]
    event_types: list[str]
    status: str
    position: int
    attempts: int
    last_error: Annotated[str | None, msgspec.Meta(description=ENDPOINT_HIDDEN)]
    secret: str | None = None
    """Only in the answer that registers the webhook: shown once, kept encrypted, never in an event."""
    secret_fingerprint: str | None = None
    endpoint_fingerprint: str | None = None
    """The URL's fingerprint, as its registration event carries it (every reader, auditors too)."""


class DeliveryOut(msgspec.Struct):
    """One attempt: its HTTP status for everyone who may read the log; the error text (which may name the
    endpoint) for facilitators and the operator only."""

    event_id: uuid.UUID
    position: int
    attempt: int
    status: int | None
    error: Annotated[str | None, msgspec.Meta(description=ENDPOINT_HIDDEN)]
    at: datetime


class DeadLetterOut(msgspec.Struct):
    event_id: uuid.UUID
    position: int
    error: Annotated[str | None, msgspec.Meta(description=ENDPOINT_HIDDEN)]
    at: datetime
    redriven_at: datetime | None


class Redriven(msgspec.Struct):
    delivered: int
    still_failing: int
