"""What publishing consumes: the group's decision on a publication request, from decisions' events on NATS.

Decisions' JSON is read with small structs of just the fields needed here:
publishing never imports decisions.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

from services.publishing.context import Publishing
from services.publishing.domain.items import RecordDecision, item_decider, item_stream
from services.publishing.events import PublicationRequested
from shared.domain.contract import type_name
from shared.eventlog.handler import handle
from shared.fanout.cloudevents import Delivered
from shared.fanout.consumer import Handler, Reaction


class _Outcome(msgspec.Struct):
    result: str
    explanation: str


class ProposalClosed(msgspec.Struct):
    """The fields of decisions' event that publishing needs."""

    proposal_id: uuid.UUID
    at: datetime
    outcome: _Outcome


class ProposalWithdrawn(msgspec.Struct):
    """Its ``reason`` is left out: the withdrawing member's words travel encrypted (a personal field)."""

    proposal_id: uuid.UUID
    at: datetime


class AwaitingRequest(LookupError):
    """The request's item is not in the read model yet: the message is retried shortly."""


def _decision(delivered: Delivered) -> RecordDecision:
    if delivered.type == "decisions.ProposalClosed":
        closed = delivered.decode(ProposalClosed)
        return RecordDecision(proposal_id=closed.proposal_id, result=closed.outcome.result,
                              explanation=closed.outcome.explanation, at=closed.at)
    withdrawn = delivered.decode(ProposalWithdrawn)
    return RecordDecision(proposal_id=withdrawn.proposal_id, result="withdrawn",
                          explanation="the proposal was withdrawn", at=withdrawn.at)


def make_handler(service: Publishing) -> Handler:
    async def record_decision(conn: asyncpg.Connection, delivered: Delivered) -> None:
        decision = _decision(delivered)
        row = await conn.fetchrow("SELECT item_id, group_id FROM publishing_items WHERE proposal_id = $1",
                                  decision.proposal_id)
        if row is None:
            known = await conn.fetchval(
                "SELECT 1 FROM events WHERE type = $3 AND group_id = $1"
                " AND position(convert_to($2::text, 'UTF8') in payload) > 0",
                delivered.group_id, str(decision.proposal_id), type_name(PublicationRequested))
            if known:
                raise AwaitingRequest(f"item for proposal {decision.proposal_id} not projected yet")
            return  # an ordinary proposal of the group, nothing to publish
        await handle(service.store, item_decider, decision, group_id=row["group_id"],
                     stream_id=item_stream(row["item_id"]), cache=service.items)

    return record_decision


REACTIONS = [Reaction[Publishing](
    name="publication-decisions",
    subjects=("copro.*.decisions.ProposalClosed", "copro.*.decisions.ProposalWithdrawn"),
    make_handler=make_handler,
)]
