"""HTTP: proposals, ballots, comments, closing and the full history of each proposal."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Request, delete, get, post
from litestar.params import Parameter

from services.decisions.access import PROPOSE, Caller, caller, current, execute, state
from services.decisions.domain.events import BallotCast, CommentAdded, Kind, Option
from services.decisions.domain.proposal import (
    Amend,
    Cast,
    Close,
    Comment,
    OpenProposal,
    Proposal,
    Retract,
    Withdraw,
    proposal_decider,
    proposal_stream,
)
from services.decisions.schemas import (
    AmendIn,
    BallotIn,
    BallotOut,
    CommentIn,
    CommentOut,
    OptionIn,
    ProposalIn,
    ProposalOut,
    ProposalPage,
    ProposalSummary,
    WithdrawIn,
)
from shared.access.principals import Authenticated
from shared.domain.errors import NotFound
from shared.domain.ids import new_id, utc_now
from shared.web.log import LogEvent, log_event

TAGS = ["proposals"]
Status = Literal["open", "closed", "withdrawn"]


def _options(kind: Kind, given: list[OptionIn]) -> tuple[Option, ...]:
    return tuple(
        Option(id=o.id or f"{'slot' if kind == 'time' else 'option'}-{n + 1}", label=o.label,
               starts_at=o.starts_at, ends_at=o.ends_at)
        for n, o in enumerate(given)
    )


def tally_visible(proposal: Proposal, who: Caller) -> bool:
    """Results visibility, enforced in every read: open, after the caller voted, or after closing."""
    opened = proposal.opened
    assert opened is not None
    if proposal.status == "closed" or opened.visibility == "open":
        return True
    if opened.visibility == "after_vote":
        return who.voter is not None and who.voter.member_id in proposal.ballots
    return False


def proposal_out(proposal: Proposal, who: Caller) -> ProposalOut:
    opened = proposal.opened
    assert opened is not None
    visible = tally_visible(proposal, who)
    tally = proposal.outcome or (proposal.current_tally() if visible and proposal.status == "open" else None)
    mine = proposal.ballots.get(who.voter.member_id) if who.voter else None
    return ProposalOut(
        proposal_id=opened.proposal_id, group_id=opened.group_id, author_id=opened.author_id, kind=opened.kind,
        title=proposal.title, body=proposal.body, options=list(proposal.options), opens_at=opened.opens_at,
        closes_at=opened.closes_at, status=proposal.status, rule=opened.rule, rule_in_words=opened.rule.describe(opened.kind),
        visibility=opened.visibility, amend_policy=opened.amend_policy, max_choices=opened.max_choices,
        max_score=opened.max_score, dots=opened.dots, ballots=len(proposal.ballots), amendments=proposal.amendments,
        comments=proposal.comments, my_ballot=mine.choice if mine else None, tally_visible=visible,
        tally=tally if visible else None, outcome=proposal.outcome,
        explanation=(proposal.outcome.explanation if proposal.outcome
                     else f"If it closed now. {tally.explanation}" if tally else None),
    )


async def _proposal(request: Request[Any, Any, Any], who: Caller, proposal_id: uuid.UUID) -> Proposal:
    proposal: Proposal = await current(request, proposal_decider, proposal_stream(proposal_id),
                                       state(request, "proposals"))
    if proposal.opened is None or proposal.opened.group_id != who.group_id:
        raise NotFound("no such proposal in this group")
    return proposal


async def _run(request: Request[Any, Any, Any], who: Caller, proposal_id: uuid.UUID, command: Any
               ) -> tuple[Proposal, list[Any]]:
    await _proposal(request, who, proposal_id)
    return await execute(request, who, proposal_decider, command, proposal_stream(proposal_id),
                         state(request, "proposals"))


@post("/groups/{group_id:uuid}/proposals", tags=TAGS, summary="Open a proposal (members and facilitators)")
async def open_proposal(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, data: ProposalIn
) -> ProposalOut:
    who = await caller(request, principal, group_id)
    who.require(PROPOSE, "open a proposal")
    author = who.member("open a proposal")
    now = utc_now()
    proposal_id = new_id()
    command = OpenProposal(
        proposal_id=proposal_id, group_id=group_id, author=author, kind=data.kind, title=data.title, body=data.body,
        options=_options(data.kind, data.options), opens_at=data.opens_at or now, closes_at=data.closes_at,
        rule=data.rule or who.group.rule, organisations=who.group.organisation_ids(), visibility=data.visibility,
        amend_policy=data.amend_policy, max_choices=data.max_choices, max_score=data.max_score, dots=data.dots, at=now,
    )
    proposal, _ = await execute(request, who, proposal_decider, command, proposal_stream(proposal_id),
                                state(request, "proposals"))
    return proposal_out(proposal, who)


@get("/groups/{group_id:uuid}/proposals", tags=TAGS, summary="List proposals, newest last, with a cursor")
async def list_proposals(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID,
    status: Status | None = None, kind: Kind | None = None,
    after: Annotated[int, Parameter(ge=0, description="the cursor of the last proposal seen")] = 0,
    limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
) -> ProposalPage:
    await caller(request, principal, group_id)
    rows = await state(request, "store").pool.fetch(
        "SELECT proposal_id, kind, title, status, opens_at, closes_at, result, opened_position"
        " FROM decisions_proposals WHERE group_id = $1 AND opened_position > $2"
        " AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR kind = $4)"
        " ORDER BY opened_position LIMIT $5",
        group_id, after, status, kind, limit,
    )
    page = [ProposalSummary(proposal_id=r["proposal_id"], kind=r["kind"], title=r["title"], status=r["status"],
                            opens_at=r["opens_at"], closes_at=r["closes_at"], result=r["result"],
                            cursor=r["opened_position"]) for r in rows]
    return ProposalPage(proposals=page, next=page[-1].cursor if len(page) == limit else None)


@get("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}", tags=TAGS,
     summary="A proposal, with its current tally where the visibility allows, or its outcome")
async def read_proposal(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID
) -> ProposalOut:
    who = await caller(request, principal, group_id)
    return proposal_out(await _proposal(request, who, proposal_id), who)


@get("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/history", tags=TAGS,
     summary="Every event of the proposal, in order (ballot contents hidden while results are)")
async def proposal_history(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID
) -> list[LogEvent]:
    who = await caller(request, principal, group_id)
    proposal = await _proposal(request, who, proposal_id)
    visible = tally_visible(proposal, who)
    out = []
    for recorded in await state(request, "store").read_stream(proposal_stream(proposal_id)):
        event = log_event(recorded)
        if not visible and recorded.type == "decisions.BallotCast":
            event.data = {**event.data, "choice": None, "reason": None}
        out.append(event)
    return out


@post("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/ballots", tags=TAGS,
      summary="Cast or change your own ballot")
async def cast_ballot(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID,
    data: BallotIn,
) -> BallotOut:
    who = await caller(request, principal, group_id)
    who.require(PROPOSE, "vote")
    voter = who.member("vote")
    command = Cast(event_id=new_id(), voter=voter, choice=data.choice, reason=data.reason, at=utc_now())
    _, events = await _run(request, who, proposal_id, command)
    ballot = next(e for e in events if isinstance(e, BallotCast))
    return BallotOut(ballot_id=ballot.event_id, proposal_id=proposal_id, member_id=ballot.member_id,
                     choice=ballot.choice, reason=ballot.reason, at=ballot.at)


@delete("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/ballots", tags=TAGS, status_code=204,
        summary="Retract your own ballot")
async def retract_ballot(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID
) -> None:
    who = await caller(request, principal, group_id)
    who.require(PROPOSE, "vote")
    await _run(request, who, proposal_id, Retract(voter=who.member("vote"), at=utc_now()))


@post("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/close", tags=TAGS, status_code=200,
      summary="Close a proposal early and record its outcome (facilitator)")
async def close_proposal(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID
) -> ProposalOut:
    who = await caller(request, principal, group_id)
    who.require(("facilitator",), "close a proposal early")
    proposal, _ = await _run(request, who, proposal_id, Close(by=who.member("close a proposal"), at=utc_now()))
    return proposal_out(proposal, who)


@post("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/amend", tags=TAGS, status_code=200,
      summary="Amend title, body or options while open (author or facilitator)")
async def amend_proposal(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID,
    data: AmendIn,
) -> ProposalOut:
    who = await caller(request, principal, group_id)
    who.require(PROPOSE, "amend a proposal")
    existing = await _proposal(request, who, proposal_id)
    assert existing.opened is not None
    options = _options(existing.opened.kind, data.options) if data.options is not None else None
    command = Amend(by=who.member("amend"), at=utc_now(), title=data.title, body=data.body, options=options)
    proposal, _ = await _run(request, who, proposal_id, command)
    return proposal_out(proposal, who)


@post("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/withdraw", tags=TAGS, status_code=200,
      summary="Withdraw a proposal (author or facilitator)")
async def withdraw_proposal(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID,
    data: WithdrawIn,
) -> ProposalOut:
    who = await caller(request, principal, group_id)
    who.require(PROPOSE, "withdraw a proposal")
    proposal, _ = await _run(request, who, proposal_id, Withdraw(by=who.member("withdraw"), reason=data.reason,
                                                                 at=utc_now()))
    return proposal_out(proposal, who)


@post("/groups/{group_id:uuid}/proposals/{proposal_id:uuid}/comments", tags=TAGS, summary="Comment on a proposal")
async def comment(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, proposal_id: uuid.UUID,
    data: CommentIn,
) -> CommentOut:
    who = await caller(request, principal, group_id)
    who.require(PROPOSE, "comment")
    command = Comment(comment_id=new_id(), voter=who.member("comment"), text=data.text, at=utc_now())
    _, events = await _run(request, who, proposal_id, command)
    added = next(e for e in events if isinstance(e, CommentAdded))
    return CommentOut(comment_id=added.comment_id, proposal_id=proposal_id, member_id=added.member_id,
                      text=added.text, at=added.at)


ROUTES = [open_proposal, list_proposals, read_proposal, proposal_history, cast_ballot, retract_ballot,
          close_proposal, amend_proposal, withdraw_proposal, comment]
