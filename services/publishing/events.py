"""Publishing's public event contract: every event it writes to the log, the one definition of each.

Items (resources and reflections) move from draft to publication by the
group's consent: ``PublicationRequested`` is read by decisions, which opens
the consent proposal; its outcome comes back as ``ItemPublished`` or
``PublicationRefused``. Webhook events record partner subscriptions; neither
the signing secret nor the partner's URL is in an event (both are kept
encrypted in tables; the secret is shown once at creation, the URL to
facilitators): an event carries only their fingerprints.

Stored type names and JSON are part of the log: change them only by adding
optional fields or a new version of a type.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec

from shared.domain.contract import EventContract, Upcaster, Versioned, same_shape
from shared.domain.fingerprints import fingerprint

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


# -- items ----------------------------------------------------------------------------------------


class ItemDrafted(Versioned, frozen=True, kw_only=True, tag="publishing.ItemDrafted"):
    """A member drafted a resource or reflection; they are its first author."""

    item_id: uuid.UUID
    group_id: uuid.UUID
    kind: Kind
    author: Author
    content: Content
    at: datetime


class AuthorAdded(Versioned, frozen=True, kw_only=True, tag="publishing.AuthorAdded"):
    """An author added a co-author (from any partner organisation)."""

    item_id: uuid.UUID
    author: Author
    by: uuid.UUID
    at: datetime


class ItemRevised(Versioned, frozen=True, kw_only=True, tag="publishing.ItemRevised"):
    """An author revised the draft; revisions count from 1 (the draft itself)."""

    item_id: uuid.UUID
    revision: int
    content: Content
    by: uuid.UUID
    at: datetime


class AttributionChosen(Versioned, frozen=True, kw_only=True, tag="publishing.AttributionChosen"):
    """An author chose how they are credited: full name, first name or anonymous."""

    item_id: uuid.UUID
    member_id: uuid.UUID
    attribution: Attribution
    at: datetime


class PublicationRequested(Versioned, frozen=True, kw_only=True, tag="publishing.PublicationRequested"):
    """Decisions consumes this and opens the consent proposal ``proposal_id`` for the group."""

    item_id: uuid.UUID
    group_id: uuid.UUID
    proposal_id: uuid.UUID
    requested_by: uuid.UUID
    title: str
    summary: str
    closes_at: datetime
    at: datetime


class ItemPublished(Versioned, frozen=True, kw_only=True, tag="publishing.ItemPublished"):
    """The group consented: the public feeds show this revision."""

    item_id: uuid.UUID
    proposal_id: uuid.UUID
    revision: int
    at: datetime


class PublicationRefused(Versioned, frozen=True, kw_only=True, tag="publishing.PublicationRefused"):
    """The consent proposal did not pass (or was withdrawn); the authors may revise and ask again."""

    item_id: uuid.UUID
    proposal_id: uuid.UUID
    result: str
    explanation: str
    at: datetime


class ItemWithdrawn(Versioned, frozen=True, kw_only=True, tag="publishing.ItemWithdrawn"):
    """An author unpublished the item. The ``reason`` is theirs: personal, so it travels encrypted and
    reads as ``null`` once they are forgotten (version 2; version 1 stored it in plain text)."""

    __version__ = 2
    __upcasters__ = (same_shape(2),)
    __personal__ = ("reason",)
    __subject__ = "by"
    item_id: uuid.UUID
    by: uuid.UUID
    reason: str | None
    at: datetime


ItemEvent = (
    ItemDrafted | AuthorAdded | ItemRevised | AttributionChosen | PublicationRequested | ItemPublished
    | PublicationRefused | ItemWithdrawn
)
ITEM_EVENTS: tuple[type[ItemEvent], ...] = (
    ItemDrafted, AuthorAdded, ItemRevised, AttributionChosen, PublicationRequested, ItemPublished,
    PublicationRefused, ItemWithdrawn,
)


# -- webhooks -------------------------------------------------------------------------------------


def _endpoint_left_the_log(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 held the partner's URL; version 2 holds its fingerprint (publishing keeps the URL)."""
    rest = {k: v for k, v in payload.items() if k != "url"}
    return {**rest, "endpoint_fingerprint": fingerprint(str(payload["url"]))}


class WebhookRegistered(Versioned, frozen=True, kw_only=True, tag="publishing.WebhookRegistered"):
    """A facilitator registered a partner webhook; deliveries start after start_after (a global position).

    ``endpoint_fingerprint`` and ``secret_fingerprint`` name the partner's URL and the signing
    secret without giving them away: the events reach every partner and every audit export, the
    URL is shown to facilitators only (it may carry the partner's own token), and nothing in the
    log can be erased. Version 1 registrations hold the URL in a field ``url`` (it stays in
    those stored events; readers of this version see its fingerprint). Registrations recorded
    before the secret left the log hold it in a field ``secret``, encrypted with a key of the
    subscription's own that publishing destroyed once it kept the secret in its table: it reads
    as ``null`` everywhere.
    """

    __version__ = 2
    __upcasters__ = (Upcaster(2, stored_before=lambda payload: "url" in payload, upcast=_endpoint_left_the_log),)
    __withheld__ = ("url",)  # a version 1 registration's URL: the events feed, webhooks and log views show null

    subscription_id: uuid.UUID
    group_id: uuid.UUID
    endpoint_fingerprint: str | None = None
    """Always set when recorded; None only where a reader without the upcaster meets a version 1 payload."""
    event_types: tuple[str, ...]
    secret_fingerprint: str | None = None
    start_after: int
    by: uuid.UUID | None
    at: datetime


class WebhookDisabled(Versioned, frozen=True, kw_only=True, tag="publishing.WebhookDisabled"):
    """Delivery stopped by itself (the endpoint answered 410 Gone)."""

    subscription_id: uuid.UUID
    reason: str
    at: datetime


class WebhookRemoved(Versioned, frozen=True, kw_only=True, tag="publishing.WebhookRemoved"):
    """A facilitator removed the webhook."""

    subscription_id: uuid.UUID
    by: uuid.UUID | None
    at: datetime


WebhookEvent = WebhookRegistered | WebhookDisabled | WebhookRemoved
WEBHOOK_EVENTS: tuple[type[WebhookEvent], ...] = (WebhookRegistered, WebhookDisabled, WebhookRemoved)


CONTRACT = EventContract("publishing", [*ITEM_EVENTS, *WEBHOOK_EVENTS])
