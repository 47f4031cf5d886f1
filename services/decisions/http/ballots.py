"""HTTP: a member's own ballot on a proposal (cast, changed, retracted) and their comments on it."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, post

from services.decisions.context import Decisions, acting_voter
from services.decisions.domain.proposal import Cast, Comment, Retract
from services.decisions.events import BallotCast, CommentAdded
from services.decisions.http.schemas import BallotIn, BallotOut, CommentIn, CommentOut
from shared.access.principals import Authenticated
from shared.domain.ids import new_id, utc_now
from shared.eventlog.handler import Idempotency
from shared.web.tracing import DECIDES_ON_CACHE

TAGS = ["proposals"]


class BallotController(Controller):
    path = "/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/ballots"
    tags = TAGS

    @post("/", summary="Cast or change your own ballot", opt={DECIDES_ON_CACHE: True})
    async def cast_ballot(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        proposal_id: uuid.UUID, data: BallotIn,
    ) -> BallotOut:
        group = await service.admitted(principal, group_id)
        voter = acting_voter(principal, group, "vote")
        command = Cast(event_id=new_id(), voter=voter, choice=data.choice, reason=data.reason, at=utc_now())
        _, events = await service.on_proposal(group, proposal_id, command, once)
        ballot = next(e for e in events if isinstance(e, BallotCast))
        assert ballot.choice is not None  # the decider's own event, before the store seals it
        return BallotOut(ballot_id=ballot.event_id, proposal_id=proposal_id, member_id=ballot.member_id,
                         choice=ballot.choice, reason=ballot.reason, at=ballot.at)

    @delete("/", status_code=204, summary="Retract your own ballot", opt={DECIDES_ON_CACHE: True})
    async def retract_ballot(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        proposal_id: uuid.UUID,
    ) -> None:
        group = await service.admitted(principal, group_id)
        voter = acting_voter(principal, group, "vote")
        await service.on_proposal(group, proposal_id, Retract(voter=voter, at=utc_now()), once)


class CommentController(Controller):
    path = "/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/comments"
    tags = TAGS

    @post("/", summary="Comment on a proposal", opt={DECIDES_ON_CACHE: True})
    async def comment_on_proposal(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        proposal_id: uuid.UUID, data: CommentIn,
    ) -> CommentOut:
        group = await service.admitted(principal, group_id)
        voter = acting_voter(principal, group, "comment")
        command = Comment(comment_id=new_id(), voter=voter, text=data.text, at=utc_now())
        _, events = await service.on_proposal(group, proposal_id, command, once)
        added = next(e for e in events if isinstance(e, CommentAdded))
        return CommentOut(comment_id=added.comment_id, proposal_id=proposal_id, member_id=added.member_id,
                          text=added.text, at=added.at)
