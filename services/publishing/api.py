"""HTTP: partner webhooks (facilitators) and the live event stream for web clients (members)."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from services.publishing.delivery import Delivery, body_of
from services.publishing.webhooks import Register, Remove, Subscription, webhook_decider, webhook_stream
from shared.access.principals import Authenticated, Principal
from shared.access.roster import Members, Roster
from shared.domain.errors import NotFound
from shared.domain.ids import new_id, utc_now
from shared.eventlog.follow import follow
from shared.eventlog.handler import handle
from shared.eventlog.store import EventStore

TAGS = ["partner delivery"]


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
    event_types: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]],
                           msgspec.Meta(min_length=1, max_length=50)] = msgspec.field(default_factory=lambda: ["*"])
    start: Literal["now", "beginning"] = "now"


class WebhookOut(msgspec.Struct):
    subscription_id: uuid.UUID
    url: str
    event_types: list[str]
    status: str
    position: int
    attempts: int
    last_error: str | None
    secret: str | None = None


class DeliveryOut(msgspec.Struct):
    event_id: uuid.UUID
    position: int
    attempt: int
    status: int | None
    error: str | None
    at: datetime


class DeadLetterOut(msgspec.Struct):
    event_id: uuid.UUID
    position: int
    error: str
    at: datetime
    redriven_at: datetime | None


class Redriven(msgspec.Struct):
    delivered: int
    still_failing: int


def _state(request: Request[Any, Any, Any], name: str) -> Any:
    return request.app.state[name]


async def _roster(request: Request[Any, Any, Any], principal: Principal, group_id: uuid.UUID,
                  roles: tuple[str, ...] = ()) -> Roster:
    members: Members = _state(request, "members")
    return await members.admit(principal, group_id, roles)


async def _subscription(request: Request[Any, Any, Any], group_id: uuid.UUID, subscription_id: uuid.UUID
                        ) -> Subscription:
    delivery: Delivery = _state(request, "delivery")
    found = await delivery.subscription(subscription_id)
    if found.registered is None or found.registered.group_id != group_id or found.status == "removed":
        raise NotFound("no such webhook in this group")
    return found


def _out(subscription: Subscription, row: Any, secret: str | None = None) -> WebhookOut:
    assert subscription.registered is not None
    return WebhookOut(subscription_id=subscription.registered.subscription_id, url=subscription.registered.url,
                      event_types=list(subscription.registered.event_types), status=subscription.status,
                      position=row["position"] if row else 0, attempts=row["attempts"] if row else 0,
                      last_error=row["last_error"] if row else None, secret=secret)


@post("/groups/{group_id:uuid}/webhooks", tags=TAGS, summary="Register a partner webhook (facilitator); the secret is shown once")
async def register_webhook(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, data: WebhookIn
) -> Response[WebhookOut]:
    await _roster(request, principal, group_id, ("facilitator",))
    store: EventStore = _state(request, "store")
    subscription_id = new_id()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    start = await store.head_position() if data.start == "now" else 0
    # the cursor first: a crash before the registration leaves a cursor that names no subscription, never the reverse
    await store.pool.execute("INSERT INTO webhook_cursors (subscription_id, group_id, position) VALUES ($1, $2, $3)",
                             subscription_id, group_id, start)
    done = await handle(store, webhook_decider, Register(
        subscription_id=subscription_id, group_id=group_id, url=data.url, event_types=tuple(data.event_types),
        secret=secret, start_after=start, by=principal.member_id, at=utc_now()),
        group_id=group_id, stream_id=webhook_stream(subscription_id), cache=_state(request, "delivery").subscriptions)
    row = await store.pool.fetchrow("SELECT * FROM webhook_cursors WHERE subscription_id = $1", subscription_id)
    return Response(_out(done.state, row, secret), status_code=201, headers={"Cache-Control": "no-store"})


@get("/groups/{group_id:uuid}/webhooks", tags=TAGS, summary="The group's webhooks, their cursor and last error (facilitator)")
async def list_webhooks(request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID) -> list[WebhookOut]:
    await _roster(request, principal, group_id, ("facilitator", "auditor"))
    delivery: Delivery = _state(request, "delivery")
    out = []
    for row in await _state(request, "store").pool.fetch(
            "SELECT * FROM webhook_cursors WHERE group_id = $1 ORDER BY subscription_id", group_id):
        subscription = await delivery.subscription(row["subscription_id"])
        if subscription.registered is not None and subscription.status != "removed":
            out.append(_out(subscription, row))
    return out


@get("/groups/{group_id:uuid}/webhooks/{subscription_id:uuid}/deliveries", tags=TAGS,
     summary="A webhook's delivery log, newest first")
async def deliveries(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, subscription_id: uuid.UUID,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    await _roster(request, principal, group_id, ("facilitator", "auditor"))
    await _subscription(request, group_id, subscription_id)
    rows = await _state(request, "store").pool.fetch(
        "SELECT * FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY at DESC LIMIT $2", subscription_id, limit)
    return [DeliveryOut(event_id=r["event_id"], position=r["position"], attempt=r["attempt"], status=r["status"],
                        error=r["error"], at=r["at"]) for r in rows]


@get("/groups/{group_id:uuid}/webhooks/{subscription_id:uuid}/dead-letters", tags=TAGS,
     summary="Events a webhook gave up on")
async def dead_letters(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, subscription_id: uuid.UUID
) -> list[DeadLetterOut]:
    await _roster(request, principal, group_id, ("facilitator", "auditor"))
    await _subscription(request, group_id, subscription_id)
    rows = await _state(request, "store").pool.fetch(
        "SELECT * FROM webhook_dead_letters WHERE subscription_id = $1 ORDER BY position", subscription_id)
    return [DeadLetterOut(event_id=r["event_id"], position=r["position"], error=r["error"], at=r["at"],
                          redriven_at=r["redriven_at"]) for r in rows]


@post("/groups/{group_id:uuid}/webhooks/{subscription_id:uuid}/dead-letters/redrive", tags=TAGS, status_code=200,
      summary="Try every dead letter once more (facilitator)")
async def redrive(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, subscription_id: uuid.UUID
) -> Redriven:
    await _roster(request, principal, group_id, ("facilitator",))
    await _subscription(request, group_id, subscription_id)
    delivered, failing = await _state(request, "delivery").redrive(subscription_id)
    return Redriven(delivered=delivered, still_failing=failing)


@delete("/groups/{group_id:uuid}/webhooks/{subscription_id:uuid}", tags=TAGS, status_code=204,
        summary="Remove a webhook (facilitator)")
async def remove_webhook(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, subscription_id: uuid.UUID
) -> None:
    await _roster(request, principal, group_id, ("facilitator",))
    await _subscription(request, group_id, subscription_id)
    await handle(_state(request, "store"), webhook_decider, Remove(by=principal.member_id, at=utc_now()),
                 group_id=group_id, stream_id=webhook_stream(subscription_id),
                 cache=_state(request, "delivery").subscriptions)


@get("/groups/{group_id:uuid}/events/stream", tags=TAGS,
     summary="Server-Sent Events: the group's events live, resuming after Last-Event-ID (a global position)")
async def event_stream(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
    after: Annotated[int | None, Parameter(ge=0, description="resume after this position")] = None,
) -> ServerSentEvent:
    await _roster(request, principal, group_id)
    last = request.headers.get("last-event-id")
    start = after if after is not None else int(last) if last and last.isdigit() else await _state(
        request, "store").head_position()

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        async for event in follow(_state(request, "store"), start, group_id=group_id):
            yield ServerSentEventMessage(data=body_of(event).decode(), id=str(event.position), event=event.type)

    return ServerSentEvent(events())


ROUTES = [register_webhook, list_webhooks, deliveries, dead_letters, redrive, remove_webhook, event_stream]
