"""The group's decision on a publication request, read from decisions' events on NATS."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from services.publishing.items import RecordDecision, item_decider, item_stream
from shared.eventlog.handler import handle
from shared.fanout.cloudevents import Delivered
from shared.fanout.consumer import Handler, Subscribe


class _Outcome(msgspec.Struct):
    result: str
    explanation: str


class ProposalClosed(msgspec.Struct):
    """The fields of decisions' event that publishing needs."""

    proposal_id: uuid.UUID
    at: datetime
    outcome: _Outcome


class ProposalWithdrawn(msgspec.Struct):
    proposal_id: uuid.UUID
    reason: str
    at: datetime


class AwaitingRequest(LookupError):
    """The request's item is not in the read model yet: the message is retried shortly."""


def make_handler(state: Any) -> Handler:
    async def record_decision(conn: asyncpg.Connection, delivered: Delivered) -> None:
        if delivered.type == "decisions.ProposalClosed":
            closed = delivered.decode(ProposalClosed)
            proposal_id, result, why, at = (closed.proposal_id, closed.outcome.result, closed.outcome.explanation,
                                            closed.at)
        else:
            withdrawn = delivered.decode(ProposalWithdrawn)
            proposal_id, result, why, at = (withdrawn.proposal_id, "withdrawn",
                                            f"the proposal was withdrawn: {withdrawn.reason}", withdrawn.at)
        row = await conn.fetchrow("SELECT item_id, group_id FROM publishing_items WHERE proposal_id = $1", proposal_id)
        if row is None:
            known = await conn.fetchval(
                "SELECT 1 FROM events WHERE type = 'publishing.PublicationRequested' AND group_id = $1"
                " AND position(convert_to($2::text, 'UTF8') in payload) > 0", delivered.group_id, str(proposal_id))
            if known:
                raise AwaitingRequest(f"item for proposal {proposal_id} not projected yet")
            return  # an ordinary proposal of the group, nothing to publish
        await handle(state.store, item_decider,
                     RecordDecision(proposal_id=proposal_id, result=result, explanation=why, at=at),
                     group_id=row["group_id"], stream_id=item_stream(row["item_id"]), cache=state.item_states)

    return record_decision


SUBSCRIPTIONS = [Subscribe(name="publication-decisions",
                           subjects=("copro.*.decisions.ProposalClosed", "copro.*.decisions.ProposalWithdrawn"),
                           make_handler=make_handler)]
