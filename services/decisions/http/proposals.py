"""HTTP: proposals (opened, listed, read, amended, withdrawn, closed early) and the full history of each."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import Parameter

from services.decisions.context import Decisions, acting_voter
from services.decisions.domain.proposal import (
    Amend,
    Close,
    OpenProposal,
    Proposal,
    Withdraw,
    proposal_stream,
)
from services.decisions.events import BallotCast, Kind, Option
from services.decisions.http.schemas import (
    AmendIn,
    OptionIn,
    ProposalIn,
    ProposalOut,
    ProposalPage,
    ProposalSummary,
    WithdrawIn,
)
from shared.access.guards import require_role
from shared.access.principals import FACILITATORS, PARTICIPANTS, Authenticated
from shared.domain.contract import type_name
from shared.domain.ids import new_id, utc_now
from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.handler import Idempotency
from shared.web.kernel import Kernel
from shared.web.log import LogEvent, log_event
from shared.web.params import After

TAGS = ["proposals"]
Status = Literal["open", "closed", "withdrawn"]
BALLOT_CAST = type_name(BallotCast)


def _options(kind: Kind, given: list[OptionIn]) -> tuple[Option, ...]:
    return tuple(
        Option(id=o.id or f"{'slot' if kind == 'time' else 'option'}-{n + 1}", label=o.label,
               starts_at=o.starts_at, ends_at=o.ends_at)
        for n, o in enumerate(given)
    )


def as_reader_sees(recorded: RecordedEvent, visible: bool) -> LogEvent:
    """An event of a proposal for a reader who may (``visible``) or may not see its results yet: a ballot's
    choice and reason hidden while results are, also for ballots stored in clear before sealing existed."""
    event = log_event(recorded)
    if not visible and recorded.type == BALLOT_CAST:
        event.data = {**event.data, "choice": None, "reason": None}
    return event


def tally_visible(proposal: Proposal, reader: uuid.UUID | None) -> bool:
    """Results visibility, enforced in every read: open, after the reader (a member) voted, or once the
    proposal ended (closed, or withdrawn: both release the sealed ballots' key into the log)."""
    opened = proposal.opened
    assert opened is not None
    if proposal.status in ("closed", "withdrawn") or opened.visibility == "open":
        return True
    if opened.visibility == "after_vote":
        return reader is not None and reader in proposal.ballots
    return False


def proposal_out(proposal: Proposal, reader: uuid.UUID | None) -> ProposalOut:
    """The proposal as ``reader`` (a member, or None for the operator) may see it."""
    opened = proposal.opened
    assert opened is not None
    visible = tally_visible(proposal, reader)
    tally = proposal.outcome or (proposal.current_tally() if visible and proposal.status == "open" else None)
    mine = proposal.ballots.get(reader) if reader is not None else None
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
        closed_at=proposal.ended_at,
    )


class ProposalController(Controller):
    path = "/groups/{group_id:uuid}/proposals"
    tags = TAGS

    @post("/", summary="Open a proposal (members and facilitators)")
    async def open_proposal(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        data: ProposalIn,
    ) -> ProposalOut:
        group = await service.admitted(principal, group_id)
        author = acting_voter(principal, group, "open a proposal")
        now = utc_now()
        proposal_id = new_id()
        command = OpenProposal(
            proposal_id=proposal_id, group_id=group_id, author=author, kind=data.kind, title=data.title,
            body=data.body, options=_options(data.kind, data.options), opens_at=data.opens_at or now,
            closes_at=data.closes_at, rule=data.rule.resolve() if data.rule else group.rule,
            organisations=group.organisation_ids(),
            visibility=data.visibility, amend_policy=data.amend_policy, max_choices=data.max_choices,
            max_score=data.max_score, dots=data.dots, at=now,
        )
        proposal, _ = await service.on_proposal(group, proposal_id, command, once)
        return proposal_out(proposal, principal.member_id)

    @get("/", summary="List proposals, newest last, with a cursor")
    async def list_proposals(
        self, principal: Authenticated, service: Decisions, kernel: Kernel, group_id: uuid.UUID,
        status: Status | None = None, kind: Kind | None = None,
        after: After = 0,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> ProposalPage:
        await service.admitted(principal, group_id)
        rows = await kernel.store.pool.fetch(
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

    @get("/{proposal_id:uuid}", summary="A proposal, with its current tally where the visibility allows, or its outcome")
    async def read_proposal(self, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
                            proposal_id: uuid.UUID) -> ProposalOut:
        group = await service.admitted(principal, group_id)
        return proposal_out(await service.proposal(group, proposal_id), principal.member_id)

    @get("/{proposal_id:uuid}/history",
         summary="Every event of the proposal, in order (ballot contents hidden while results are)")
    async def proposal_history(self, principal: Authenticated, service: Decisions, kernel: Kernel,
                               group_id: uuid.UUID, proposal_id: uuid.UUID) -> list[LogEvent]:
        group = await service.admitted(principal, group_id)
        visible = tally_visible(await service.proposal(group, proposal_id), principal.member_id)
        # sealed ballots stay sealed unless this reader may see them (after_vote: once they voted)
        return [as_reader_sees(recorded, visible)
                for recorded in await kernel.store.read_stream(proposal_stream(proposal_id), unsealed=visible)]

    @post("/{proposal_id:uuid}/close", status_code=200,
          summary="Close a proposal early and record its outcome (facilitator)")
    async def close_proposal(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        proposal_id: uuid.UUID,
    ) -> ProposalOut:
        group = await service.admitted(principal, group_id)
        by = acting_voter(principal, group, "close a proposal early", FACILITATORS)
        proposal, _ = await service.on_proposal(group, proposal_id, Close(by=by, at=utc_now()), once)
        return proposal_out(proposal, principal.member_id)

    @post("/{proposal_id:uuid}/amend", status_code=200,
          summary="Amend title, body or options while open (author or facilitator)")
    async def amend_proposal(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        proposal_id: uuid.UUID, data: AmendIn,
    ) -> ProposalOut:
        group = await service.admitted(principal, group_id)
        require_role(principal, PARTICIPANTS, "amend a proposal")
        existing = await service.proposal(group, proposal_id)
        assert existing.opened is not None
        by = acting_voter(principal, group, "amend a proposal")
        options = _options(existing.opened.kind, data.options) if data.options is not None else None
        command = Amend(by=by, at=utc_now(), title=data.title, body=data.body, options=options)
        proposal, _ = await service.on_proposal(group, proposal_id, command, once)
        return proposal_out(proposal, principal.member_id)

    @post("/{proposal_id:uuid}/withdraw", status_code=200, summary="Withdraw a proposal (author or facilitator)")
    async def withdraw_proposal(
        self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
        proposal_id: uuid.UUID, data: WithdrawIn,
    ) -> ProposalOut:
        group = await service.admitted(principal, group_id)
        by = acting_voter(principal, group, "withdraw a proposal")
        command = Withdraw(by=by, reason=data.reason, at=utc_now())
        proposal, _ = await service.on_proposal(group, proposal_id, command, once)
        return proposal_out(proposal, principal.member_id)
