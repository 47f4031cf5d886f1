"""Publication requests from publishing become consent proposals of the group.

Publishing emits ``publishing.PublicationRequested`` naming the proposal id;
this consumer opens that consent proposal, authored by the requesting member,
under the group's default rule. A redelivery finds the proposal open already
and does nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from services.decisions.domain.proposal import OpenProposal, Voter, proposal_decider, proposal_stream
from shared.domain.errors import CommandRejected
from shared.domain.ids import utc_now
from shared.eventlog.handler import handle
from shared.fanout.cloudevents import Delivered
from shared.fanout.consumer import Handler, Subscribe


class PublicationRequested(msgspec.Struct):
    """The fields of publishing's event that decisions needs."""

    item_id: uuid.UUID
    group_id: uuid.UUID
    proposal_id: uuid.UUID
    requested_by: uuid.UUID
    title: str
    summary: str
    closes_at: datetime


def make_handler(state: Any) -> Handler:
    async def open_consent_proposal(conn: asyncpg.Connection, delivered: Delivered) -> None:
        request = delivered.decode(PublicationRequested)
        group, _ = await state.directory.group(request.group_id)
        member = group.members.get(request.requested_by)
        if not group.exists or member is None:
            return  # the requester left the group: there is no one to author the proposal
        now = utc_now()
        command = OpenProposal(
            proposal_id=request.proposal_id, group_id=request.group_id,
            author=Voter(member_id=member.member_id, organisation_id=member.organisation_id,
                         lived_experience=member.lived_experience),
            kind="consent", title=f"Publish: {request.title}",
            body=f"Publishing item {request.item_id} asks the group's consent to publish it.\n\n{request.summary}",
            options=(), opens_at=now, closes_at=max(request.closes_at, now + timedelta(minutes=1)), rule=group.rule,
            organisations=group.organisation_ids(), visibility="open", amend_policy="keep_valid",
            max_choices=1, max_score=5, dots=10, at=now,
        )
        with contextlib.suppress(CommandRejected):  # opened already: a redelivery
            await handle(state.store, proposal_decider, command, group_id=request.group_id,
                         stream_id=proposal_stream(request.proposal_id), cache=state.proposals)

    return open_consent_proposal


SUBSCRIPTIONS = [Subscribe(name="publication-requests", subjects=("copro.*.publishing.PublicationRequested",),
                           make_handler=make_handler)]
