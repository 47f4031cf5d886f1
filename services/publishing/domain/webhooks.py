"""Partner webhooks: registered, disabled (the endpoint answered 410 Gone) or removed, as events.

The aggregate is called ``Webhook`` (a NATS subscription is another thing);
its events and the API keep the partner's word for it, ``subscription_id``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, assert_never

import msgspec
from msgspec.structs import replace

from services.publishing.events import WebhookDisabled, WebhookEvent, WebhookRegistered, WebhookRemoved
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound
from shared.domain.fingerprints import fingerprint


def webhook_stream(subscription_id: uuid.UUID) -> str:
    return f"publishing.webhook.{subscription_id}"


# -- commands -------------------------------------------------------------------------------------


class Register(msgspec.Struct, frozen=True, kw_only=True):
    subscription_id: uuid.UUID
    group_id: uuid.UUID
    url: str
    event_types: tuple[str, ...]
    secret_fingerprint: str
    start_after: int
    by: uuid.UUID | None
    at: datetime


class Disable(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    at: datetime


class Remove(msgspec.Struct, frozen=True, kw_only=True):
    by: uuid.UUID | None
    at: datetime


WebhookCommand = Register | Disable | Remove


# -- state ----------------------------------------------------------------------------------------

WebhookStatus = Literal["none", "active", "disabled", "removed"]


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    registered: WebhookRegistered | None = None
    status: WebhookStatus = "none"
    reason: str | None = None

    @property
    def live(self) -> bool:
        """Registered and not removed (a disabled webhook is still listed)."""
        return self.registered is not None and self.status != "removed"


# -- decide ---------------------------------------------------------------------------------------


def _existing(state: Webhook) -> WebhookRegistered:
    if state.registered is None or state.status == "removed":
        raise NotFound("no such webhook")
    return state.registered


def decide(command: WebhookCommand, state: Webhook) -> list[WebhookEvent]:
    match command:
        case Register():
            if state.registered is not None:
                raise CommandRejected("this subscription exists already")
            if not command.url.startswith(("http://", "https://")):
                raise InvalidCommand("a webhook URL starts with http:// or https://", field="url")
            return [WebhookRegistered(subscription_id=command.subscription_id, group_id=command.group_id,
                                      endpoint_fingerprint=fingerprint(command.url), event_types=command.event_types,
                                      secret_fingerprint=command.secret_fingerprint,
                                      start_after=command.start_after, by=command.by, at=command.at)]
        case Disable():
            registered = _existing(state)
            if state.status == "disabled":
                return []
            return [WebhookDisabled(subscription_id=registered.subscription_id, reason=command.reason,
                                    at=command.at)]
        case Remove():
            registered = _existing(state)
            return [WebhookRemoved(subscription_id=registered.subscription_id, by=command.by, at=command.at)]
        case _:
            assert_never(command)


# -- evolve ---------------------------------------------------------------------------------------


def evolve(state: Webhook, event: WebhookEvent) -> Webhook:
    match event:
        case WebhookRegistered():
            return Webhook(registered=event, status="active")
        case WebhookDisabled():
            return replace(state, status="disabled", reason=event.reason)
        case WebhookRemoved():
            return replace(state, status="removed")
        case _:
            assert_never(event)


webhook_decider: Decider[WebhookCommand, Webhook, WebhookEvent] = Decider(
    initial_state=Webhook, decide=decide, evolve=evolve, event_type=WebhookEvent
)
