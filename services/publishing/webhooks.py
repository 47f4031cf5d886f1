"""Webhook subscriptions of partner systems: registered, disabled (410 Gone) or removed, as events.

The signing secret is a personal-data field keyed by the subscription, so it
never sits in the log in clear and removing a subscription can forget it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from msgspec.structs import replace

from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound


class WebhookRegistered(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.WebhookRegistered"):
    __personal__ = ("secret",)
    __subject__ = "subscription_id"
    subscription_id: uuid.UUID
    group_id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    secret: str | None
    start_after: int
    by: uuid.UUID | None
    at: datetime


class WebhookDisabled(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.WebhookDisabled"):
    subscription_id: uuid.UUID
    reason: str
    at: datetime


class WebhookRemoved(msgspec.Struct, frozen=True, kw_only=True, tag="publishing.WebhookRemoved"):
    subscription_id: uuid.UUID
    by: uuid.UUID | None
    at: datetime


WebhookEvent = WebhookRegistered | WebhookDisabled | WebhookRemoved


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    registered: WebhookRegistered | None = None
    status: str = "none"
    reason: str | None = None


class Register(msgspec.Struct, frozen=True, kw_only=True):
    subscription_id: uuid.UUID
    group_id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    secret: str
    start_after: int
    by: uuid.UUID | None
    at: datetime


class Disable(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    at: datetime


class Remove(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID | None
    at: datetime


Command = Register | Disable | Remove


def decide(command: Command, state: Subscription) -> list[WebhookEvent]:
    if isinstance(command, Register):
        if state.registered is not None:
            raise CommandRejected("this subscription exists already")
        if not command.url.startswith(("http://", "https://")):
            raise InvalidCommand("a webhook URL starts with http:// or https://", field="url")
        return [WebhookRegistered(subscription_id=command.subscription_id, group_id=command.group_id, url=command.url,
                                  event_types=command.event_types, secret=command.secret,
                                  start_after=command.start_after, by=command.by, at=command.at)]
    if state.registered is None or state.status == "removed":
        raise NotFound("no such webhook")
    if isinstance(command, Disable):
        if state.status == "disabled":
            return []
        return [WebhookDisabled(subscription_id=state.registered.subscription_id, reason=command.reason,
                                at=command.at)]
    return [WebhookRemoved(subscription_id=state.registered.subscription_id, by=command.by, at=command.at)]


def evolve(state: Subscription, event: WebhookEvent) -> Subscription:
    if isinstance(event, WebhookRegistered):
        return Subscription(registered=event, status="active")
    if isinstance(event, WebhookDisabled):
        return replace(state, status="disabled", reason=event.reason)
    return replace(state, status="removed")


webhook_decider: Decider[Command, Subscription, WebhookEvent] = Decider(
    initial_state=Subscription, decide=decide, evolve=evolve, event_type=WebhookEvent
)


def webhook_stream(subscription_id: uuid.UUID) -> str:
    return f"publishing.webhook.{subscription_id}"
