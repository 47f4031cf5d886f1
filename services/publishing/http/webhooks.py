"""Partner webhooks of a group: facilitators register and remove them; auditors may read their logs as
counts and statuses, without the partner's URL or the errors its endpoint answered (they may name it)."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Annotated

import asyncpg
from litestar import Controller, Response, delete, get, post
from litestar.params import Parameter

from services.publishing.context import Publishing
from services.publishing.domain.webhooks import Register, Remove, Webhook, webhook_decider, webhook_stream
from services.publishing.http.schemas import DeadLetterOut, DeliveryOut, Redriven, WebhookIn, WebhookOut
from shared.access.guards import sees_endpoints
from shared.access.principals import AUDITORS, FACILITATORS, Authenticated
from shared.domain.errors import InvalidCommand, NotFound
from shared.domain.fingerprints import fingerprint
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import handle
from shared.web.outbound import url_refusal

TAGS = ["partner delivery"]


async def _webhook(service: Publishing, group_id: uuid.UUID, subscription_id: uuid.UUID) -> Webhook:
    found = await service.delivery.webhook(subscription_id)
    if not found.live or found.registered is None or found.registered.group_id != group_id:
        raise NotFound("no such webhook in this group")
    return found


def _out(webhook: Webhook, cursor: asyncpg.Record | None, url: str | None, secret: str | None = None,
         endpoints: bool = True) -> WebhookOut:
    """``endpoints``: whether the reader may see the partner's URL and what it answered (not an auditor)."""
    assert webhook.registered is not None
    error = cursor["last_error"] if cursor and endpoints else None
    return WebhookOut(subscription_id=webhook.registered.subscription_id,
                      url=url if endpoints else None,
                      event_types=list(webhook.registered.event_types), status=webhook.status,
                      position=cursor["position"] if cursor else 0, attempts=cursor["attempts"] if cursor else 0,
                      last_error=error, secret=secret,
                      secret_fingerprint=webhook.registered.secret_fingerprint,
                      endpoint_fingerprint=webhook.registered.endpoint_fingerprint)


class WebhookController(Controller):
    path = "/groups/{group_id:uuid}/webhooks"
    tags = TAGS

    @post("/", summary="Register a partner webhook (facilitator); the secret is shown once")
    async def register_webhook(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                               data: WebhookIn) -> Response[WebhookOut]:
        await service.members.admit(principal, group_id, FACILITATORS, "register a webhook")
        if (refused := url_refusal(data.url, service.delivery.private_targets)) is not None:
            raise InvalidCommand(refused, field="url")
        store = service.store
        subscription_id = new_id()
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        start = await store.head_position() if data.start == "now" else 0
        # the cursor and the secret first: a crash before the registration leaves rows that name no webhook,
        # never a webhook without them; the secret itself stays out of the log (only its fingerprint goes in)
        await store.pool.execute("INSERT INTO webhook_cursors (subscription_id, group_id, position) VALUES ($1, $2, $3)",
                                 subscription_id, group_id, start)
        await service.delivery.secrets.keep(subscription_id, secret)
        await service.delivery.endpoints.keep(subscription_id, data.url)
        done = await handle(store, webhook_decider, Register(
            subscription_id=subscription_id, group_id=group_id, url=data.url, event_types=tuple(data.event_types),
            secret_fingerprint=fingerprint(secret), start_after=start, by=principal.member_id, at=utc_now()),
            group_id=group_id, stream_id=webhook_stream(subscription_id), cache=service.delivery.webhooks)
        cursor = await store.pool.fetchrow("SELECT * FROM webhook_cursors WHERE subscription_id = $1", subscription_id)
        return Response(_out(done.state, cursor, data.url, secret), status_code=201, headers={"Cache-Control": "no-store"})

    @get("/", summary="The group's webhooks, their cursor and last error (facilitator)")
    async def list_webhooks(self, service: Publishing, principal: Authenticated,
                            group_id: uuid.UUID) -> list[WebhookOut]:
        await service.members.admit(principal, group_id, AUDITORS, "list webhooks")
        out = []
        for cursor in await service.store.pool.fetch(
                "SELECT * FROM webhook_cursors WHERE group_id = $1 ORDER BY subscription_id", group_id):
            webhook = await service.delivery.webhook(cursor["subscription_id"])
            if webhook.live:
                endpoints = sees_endpoints(principal)
                url = await service.delivery.endpoint(cursor["subscription_id"]) if endpoints else None
                out.append(_out(webhook, cursor, url, endpoints=endpoints))
        return out

    @get("/{subscription_id:uuid}/deliveries", summary="A webhook's delivery log, newest first")
    async def list_deliveries(
        self, service: Publishing, principal: Authenticated, group_id: uuid.UUID, subscription_id: uuid.UUID,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> list[DeliveryOut]:
        await service.members.admit(principal, group_id, AUDITORS, "read a webhook's deliveries")
        await _webhook(service, group_id, subscription_id)
        rows = await service.store.pool.fetch(
            "SELECT * FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY at DESC LIMIT $2",
            subscription_id, limit)
        endpoints = sees_endpoints(principal)
        return [DeliveryOut(event_id=r["event_id"], position=r["position"], attempt=r["attempt"], status=r["status"],
                            error=r["error"] if endpoints else None, at=r["at"]) for r in rows]

    @get("/{subscription_id:uuid}/dead-letters", summary="Events a webhook gave up on")
    async def list_dead_letters(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                           subscription_id: uuid.UUID) -> list[DeadLetterOut]:
        await service.members.admit(principal, group_id, AUDITORS, "read a webhook's dead letters")
        await _webhook(service, group_id, subscription_id)
        rows = await service.store.pool.fetch(
            "SELECT * FROM webhook_dead_letters WHERE subscription_id = $1 ORDER BY position", subscription_id)
        endpoints = sees_endpoints(principal)
        return [DeadLetterOut(event_id=r["event_id"], position=r["position"], error=r["error"] if endpoints else None,
                              at=r["at"], redriven_at=r["redriven_at"]) for r in rows]

    @post("/{subscription_id:uuid}/dead-letters/redrive", status_code=200,
          summary="Try every dead letter once more (facilitator)")
    async def redrive_dead_letters(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                      subscription_id: uuid.UUID) -> Redriven:
        await service.members.admit(principal, group_id, FACILITATORS, "redrive dead letters")
        await _webhook(service, group_id, subscription_id)
        delivered, failing = await service.delivery.redrive(subscription_id)
        return Redriven(delivered=delivered, still_failing=failing)

    @delete("/{subscription_id:uuid}", status_code=204, summary="Remove a webhook (facilitator)")
    async def remove_webhook(self, service: Publishing, principal: Authenticated, group_id: uuid.UUID,
                             subscription_id: uuid.UUID) -> None:
        await service.members.admit(principal, group_id, FACILITATORS, "remove a webhook")
        await _webhook(service, group_id, subscription_id)
        await handle(service.store, webhook_decider, Remove(by=principal.member_id, at=utc_now()),
                     group_id=group_id, stream_id=webhook_stream(subscription_id), cache=service.delivery.webhooks)
        await service.delivery.secrets.drop(subscription_id)
        await service.delivery.endpoints.drop(subscription_id)
