"""What an auditor's replay recomputes in decisions: every recorded outcome, from its ballots and rule.

Sealed ballots arrive opened: the closing that is recounted released their key into the log.
"""

from __future__ import annotations

import uuid
from typing import get_args

import msgspec
from immutables import Map
from msgspec.structs import replace

from services.decisions.domain.proposal import Proposal, proposal_decider
from services.decisions.domain.tally import count
from services.decisions.events import GroupCreated, ProposalClosed, ProposalEvent, ProposalOpened, ProposalWithdrawn
from shared.audit.replay import CheckSummary, Decision, Mismatch
from shared.domain.contract import type_name
from shared.eventlog.envelope import RecordedEvent

_GROUP_CREATED = type_name(GroupCreated)
_PROPOSAL_TYPES = frozenset(type_name(t) for t in get_args(ProposalEvent))
_ENDINGS = (ProposalClosed, ProposalWithdrawn)


class OutcomeCheck:
    """Folds every proposal and recounts each closing from the ballots current at that moment."""

    name = "decisions outcomes"

    def __init__(self) -> None:
        self.proposals: dict[str, Proposal] = {}
        self.summary_ = CheckSummary(self.name, counts={"proposals": 0, "outcomes recomputed": 0})
        self._caused: dict[uuid.UUID | None, list[str]] = {}
        """What each closing caused, by the closing's event id: a later event that names it as its cause."""
        self._groups: dict[uuid.UUID, str] = {}

    def observe(self, event: RecordedEvent) -> None:
        if (caused := self._caused.get(event.metadata.causation_id)) is not None:
            caused.append(f"{event.type} (position {event.position})")
        if event.type == _GROUP_CREATED:
            created = msgspec.json.decode(event.data, type=GroupCreated)
            self._groups[created.group_id] = created.name
        if event.type not in _PROPOSAL_TYPES:
            return
        data = proposal_decider.decode(event)
        state = self.proposals.get(event.stream_id)
        if state is None:  # not as get's default: that would build a Proposal for every event
            state = Proposal()
        if isinstance(data, ProposalOpened):
            self.summary_.counts["proposals"] += 1
        if isinstance(data, ProposalClosed):
            self._check(event, state, data)
        state = proposal_decider.evolve(state, data)
        if isinstance(data, _ENDINGS):
            # the decider refuses every command once a proposal is closed or withdrawn: its ballots were
            # recounted (a closing's outcome is kept) and are dropped, so the checker's memory grows with the
            # proposals still open, not with every ballot in the history
            state = replace(state, ballots=Map())
        self.proposals[event.stream_id] = state

    def _check(self, event: RecordedEvent, state: Proposal, closed: ProposalClosed) -> None:
        self.summary_.counts["outcomes recomputed"] += 1
        assert state.opened is not None
        # ballot ids compared as integers: a set of uuid.UUID hashes and compares in Python, a set of int in C
        current = {b.event_id.int for b in state.ballots.values()}
        named = {ballot.int for ballot in closed.outcome.counted_ballots}
        if state.outcome is not None:  # a second closing (only a forgery: the decider refuses it) repeats the first
            current = {ballot.int for ballot in state.outcome.counted_ballots}
        problems = []
        if named != current:
            problems.append(f"{len(named ^ current)} ballot(s) counted that were not current, or the reverse")
        if closed.outcome.rule != state.opened.rule:
            problems.append("the outcome names a rule other than the proposal's")
        sealed = sum(b.choice is None for b in state.ballots.values())
        if sealed:
            problems.append(f"{sealed} ballot(s) are still sealed: the closing did not release their key")
        else:
            recount = state.outcome or count(
                state.question(), [b for b in state.ballots.values() if b.event_id.int in named])
            if recount != closed.outcome:
                problems.append(f"recounting gives {recount.result} ({recount.explanation}), "
                                f"the log says {closed.outcome.result}")
        for problem in problems:
            self.summary_.mismatches.append(Mismatch(event.position or 0, event.stream_id, problem))
        labels = {o.id: o.label for o in state.options}
        caused: list[str] = []
        self._caused[event.id] = caused
        self.summary_.timeline.append(Decision(
            label=state.title, kind=state.opened.kind, group=self._groups.get(state.opened.group_id, "a group"),
            opened_at=state.opened.at, closed_at=closed.at, result=closed.outcome.result,
            tally=[(labels.get(t.option, t.option), t.weight) for t in closed.outcome.tally],
            explanation=closed.outcome.explanation, caused=caused,
        ))

    def summary(self) -> CheckSummary:
        """The summary, with the proposals the timeline leaves out counted by why."""
        left_out: dict[str, int] = {}
        for proposal in self.proposals.values():
            if proposal.status != "closed":
                reason = "withdrawn" if proposal.status == "withdrawn" else "still open at this point"
                left_out[reason] = left_out.get(reason, 0) + 1
        self.summary_.left_out = left_out
        return self.summary_



CHECKERS = [OutcomeCheck]
