"""copro's typed client for partner systems: every API route, every event type, durable NATS, webhooks.

    async with Copro(decisions="http://localhost:8101", scheduling="http://localhost:8102",
                     publishing="http://localhost:8103", token=TOKEN) as copro:
        proposal = await copro.decisions.open_proposal(group_id, ProposalIn(kind="consent", title="...", ...))

The calls and structs are generated from copro's OpenAPI documents and event
catalogue (``clients/python/generate.py``); errors raise ``CoproProblem``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

from copro_client._http import Connection, CoproProblem, ServerSentEvent
from copro_client.decisions import DecisionsAPI
from copro_client.events import Event, Received, UnknownEvent, decode_event
from copro_client.publishing import PublishingAPI
from copro_client.scheduling import SchedulingAPI
from copro_client.subscription import Delivery, GroupSubscription
from copro_client.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "Copro", "CoproProblem", "DecisionsAPI", "Delivery", "Event", "GroupSubscription", "PublishingAPI", "Received",
    "SchedulingAPI", "ServerSentEvent", "UnknownEvent", "WebhookVerificationError", "decode_event", "verify_webhook",
]


@dataclass
class Copro:
    """The three services, each with its base URL, called with one bearer token."""

    decisions_url: str = "http://127.0.0.1:8101"
    scheduling_url: str = "http://127.0.0.1:8102"
    publishing_url: str = "http://127.0.0.1:8103"
    token: str | None = None
    decisions: DecisionsAPI = field(init=False)
    scheduling: SchedulingAPI = field(init=False)
    publishing: PublishingAPI = field(init=False)

    def __post_init__(self) -> None:
        self.decisions = DecisionsAPI(Connection(self.decisions_url, self.token))
        self.scheduling = SchedulingAPI(Connection(self.scheduling_url, self.token))
        self.publishing = PublishingAPI(Connection(self.publishing_url, self.token))

    def as_token(self, token: str) -> Copro:
        """The same services, called with another token (a member's, say)."""
        return Copro(self.decisions_url, self.scheduling_url, self.publishing_url, token)

    async def close(self) -> None:
        for service in (self.decisions, self.scheduling, self.publishing):
            await service.close()

    async def __aenter__(self) -> Copro:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()
