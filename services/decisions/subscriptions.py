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

import asyncpg
import msgspec

from services.decisions.context import Decisions
from services.decisions.domain.proposal import OpenProposal, Voter, proposal_decider, proposal_stream
from shared.domain.errors import CommandRejected
from shared.domain.ids import utc_now
from shared.eventlog.handler import handle
from shared.fanout.cloudevents import Delivered
from shared.fanout.consumer import Handler, Reaction


class PublicationRequested(msgspec.Struct):
    """The fields of publishing's ``publishing.PublicationRequested`` that decisions needs (read from
    its published JSON, never from publishing's code)."""

    item_id: uuid.UUID
    group_id: uuid.UUID
    proposal_id: uuid.UUID
    requested_by: uuid.UUID
    title: str
    summary: str
    closes_at: datetime


def open_consent_proposals(service: Decisions) -> Handler:
    async def open_consent_proposal(conn: asyncpg.Connection, delivered: Delivered) -> None:
        request = delivered.decode(PublicationRequested)
        group, _ = await service.group(request.group_id)
        member = group.members.get(request.requested_by)
        if not group.exists or member is None:
            return  # the requester left the group: there is no one to author the proposal
        now = utc_now()
        command = OpenProposal(
            proposal_id=request.proposal_id, group_id=request.group_id,
            author=Voter(member_id=member.member_id, organisation_id=member.organisation_id,
                         lived_experience=member.lived_experience),
            kind="consent", title=f"Publish: {request.title}",
            body=f"\u201c{request.title}\u201d asks the group's consent to be published.\n\n{request.summary}",
            options=(), opens_at=now, closes_at=max(request.closes_at, now + timedelta(minutes=1)), rule=group.rule,
            organisations=group.organisation_ids(), visibility="open", amend_policy="keep_valid",
            max_choices=1, max_score=5, dots=10, at=now,
        )
        with contextlib.suppress(CommandRejected):  # opened already: a redelivery
            await handle(service.store, proposal_decider, command, group_id=request.group_id,
                         stream_id=proposal_stream(request.proposal_id), cache=service.proposals)

    return open_consent_proposal


REACTIONS: list[Reaction[Decisions]] = [
    Reaction(name="publication-requests", subjects=("copro.*.publishing.PublicationRequested",),
             make_handler=open_consent_proposals),
]
