"""A proposal's life: opened, amended, voted on, commented, withdrawn or closed with its outcome.

The decider knows nothing of tokens or HTTP: the shell tells it who acts
(their organisation, lived experience and whether they facilitate) and when.
Read in order: the stream, the commands, the state, decide, evolve, the decider.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

import msgspec
from immutables import Map
from msgspec.structs import replace

from services.decisions.domain.rules import EDITION, Rule
from services.decisions.domain.tally import Question, count
from services.decisions.events import (
    AmendPolicy,
    BallotCast,
    BallotRetracted,
    Choice,
    CommentAdded,
    Kind,
    Option,
    Outcome,
    ProposalAmended,
    ProposalClosed,
    ProposalEvent,
    ProposalOpened,
    ProposalWithdrawn,
    Visibility,
)
from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected, Forbidden, InvalidCommand, NotFound


def proposal_stream(proposal_id: uuid.UUID) -> str:
    return f"decisions.proposal.{proposal_id}"


# -- commands -------------------------------------------------------------------


@dataclass(frozen=True)
class Voter:
    """The member acting on a proposal, as the shell found them in the group: who they are, their
    organisation and lived experience (which their ballot carries), and whether they facilitate."""

    member_id: uuid.UUID
    organisation_id: uuid.UUID
    lived_experience: bool
    facilitator: bool = False


@dataclass(frozen=True)
class OpenProposal:
    proposal_id: uuid.UUID
    group_id: uuid.UUID
    author: Voter
    kind: Kind
    title: str
    body: str
    options: tuple[Option, ...]
    opens_at: datetime
    closes_at: datetime
    rule: Rule
    organisations: tuple[uuid.UUID, ...]
    visibility: Visibility
    amend_policy: AmendPolicy
    max_choices: int
    max_score: int
    dots: int
    at: datetime


@dataclass(frozen=True)
class Amend:
    by: Voter
    at: datetime
    title: str | None = None
    body: str | None = None
    options: tuple[Option, ...] | None = None


@dataclass(frozen=True)
class Cast:
    event_id: uuid.UUID
    voter: Voter
    choice: Choice
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Retract:
    voter: Voter
    at: datetime


@dataclass(frozen=True)
class Comment:
    comment_id: uuid.UUID
    voter: Voter
    text: str
    at: datetime


@dataclass(frozen=True)
class Withdraw:
    by: Voter
    reason: str
    at: datetime


@dataclass(frozen=True)
class Close:
    """``by`` None is the scheduled close, allowed only once the closing time has come."""

    by: Voter | None
    at: datetime


ProposalCommand = OpenProposal | Amend | Cast | Retract | Comment | Withdraw | Close


# -- state ----------------------------------------------------------------------


class Proposal(msgspec.Struct, frozen=True, kw_only=True):
    """A frozen struct (cheap to copy with ``replace``) whose ballots are a persistent map:
    each ballot makes a new state in O(log n), so folding thousands of ballots stays linear
    while cached states stay immutable."""

    opened: ProposalOpened | None = None
    title: str = ""
    body: str = ""
    options: tuple[Option, ...] = ()
    ballots: Map[uuid.UUID, BallotCast] = msgspec.field(default_factory=Map)
    comments: int = 0
    amendments: int = 0
    withdrawn: bool = False
    outcome: Outcome | None = None
    ended_at: datetime | None = None
    """When it was closed or withdrawn (a facilitator may close it before ``closes_at``)."""

    @property
    def status(self) -> str:
        if self.opened is None:
            return "none"
        if self.withdrawn:
            return "withdrawn"
        return "closed" if self.outcome is not None else "open"

    def question(self) -> Question:
        assert self.opened is not None
        return Question(kind=self.opened.kind, options=self.options, rule=self.opened.rule,
                        organisations=self.opened.organisations, max_choices=self.opened.max_choices)

    def current_tally(self) -> Outcome:
        """What the outcome would be if the proposal closed now."""
        return count(self.question(), list(self.ballots.values()))



# -- decide ---------------------------------------------------------------------

MIN_OPTIONS = {"consent": 0, "choice": 2, "multiple": 2, "ranked": 2, "score": 2, "dot": 2, "time": 1}



def _check_options(kind: Kind, options: tuple[Option, ...]) -> None:
    if len(options) < MIN_OPTIONS[kind]:
        raise InvalidCommand(f"a {kind} proposal needs at least {MIN_OPTIONS[kind]} options", field="options")
    if kind == "consent" and options:
        raise InvalidCommand("a consent proposal has no options: members agree, abstain, disagree or block",
                             field="options")
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        raise InvalidCommand("option ids must be distinct", field="options")
    labels = [" ".join(o.label.split()).casefold() for o in options]
    if len(set(labels)) != len(labels):  # two options a member cannot tell apart
        raise InvalidCommand("options need distinct labels", field="options")
    for index, option in enumerate(options):
        if not option.label.strip():
            raise InvalidCommand("every option needs a label", field=f"options[{index}].label")
        if kind == "time" and (option.starts_at is None or option.ends_at is None or option.ends_at <= option.starts_at):
            raise InvalidCommand("a time slot needs starts_at before ends_at", field=f"options[{index}]")


def _open(command: OpenProposal) -> list[ProposalEvent]:
    if command.closes_at <= command.opens_at:
        raise InvalidCommand("closes_at must be after opens_at", field="closes_at")
    if command.closes_at <= command.at:
        raise InvalidCommand("closes_at must be in the future", field="closes_at")
    if not command.title.strip():
        raise InvalidCommand("a proposal needs a title", field="title")
    _check_options(command.kind, command.options)
    if (problem := command.rule.problem()) is not None:
        raise InvalidCommand(problem[1], field=problem[0])
    if command.rule.double_majority and command.kind not in ("consent", "choice"):
        raise InvalidCommand("a double majority applies to consent and choice proposals", field="rule.double_majority")
    if command.kind == "multiple" and not 1 <= command.max_choices <= len(command.options):
        raise InvalidCommand("max_choices must be between 1 and the number of options", field="max_choices")
    return [ProposalOpened(
        proposal_id=command.proposal_id, group_id=command.group_id, author_id=command.author.member_id,
        kind=command.kind, title=command.title, body=command.body, options=command.options,
        opens_at=command.opens_at, closes_at=command.closes_at, rule=replace(command.rule, edition=EDITION),
        organisations=command.organisations, visibility=command.visibility, amend_policy=command.amend_policy,
        max_choices=command.max_choices, max_score=command.max_score, dots=command.dots, at=command.at,
    )]


def check_reason(choice: Choice, reason: str | None) -> None:
    """Disagreeing or blocking takes a reason, when the ballot is cast.

    Only then: the reason is the member's personal field and reads as None once they are forgotten, so
    a check on a recorded ballot would drop it from the count, live and in every replay."""
    if choice.stance in ("disagree", "block") and not (reason and reason.strip()):
        raise InvalidCommand(f"to {choice.stance}, give a reason", field="reason")


def check_choice(proposal: Proposal, choice: Choice) -> None:
    """A ballot must fit the proposal's kind and options; the offending field is named."""
    opened = proposal.opened
    assert opened is not None
    known = {o.id for o in proposal.options}

    def known_all(ids: list[str] | tuple[str, ...], where: str) -> None:
        for option in ids:
            if option not in known:
                raise InvalidCommand(f"{option!r} is not an option of this proposal", field=where)

    kind = opened.kind
    if kind == "consent":
        if choice.stance is None:
            raise InvalidCommand("say agree, abstain, disagree or block", field="choice.stance")
    elif kind == "choice":
        if choice.option is None:
            raise InvalidCommand("pick one option", field="choice.option")
        known_all([choice.option], "choice.option")
    elif kind == "multiple":
        if not 1 <= len(set(choice.options)) == len(choice.options) <= opened.max_choices:
            raise InvalidCommand(f"pick between 1 and {opened.max_choices} different options", field="choice.options")
        known_all(choice.options, "choice.options")
    elif kind == "ranked":
        if not choice.ranking or len(set(choice.ranking)) != len(choice.ranking):
            raise InvalidCommand("rank one or more different options", field="choice.ranking")
        known_all(choice.ranking, "choice.ranking")
    elif kind in ("score", "dot"):
        if not choice.scores:
            raise InvalidCommand("give at least one option a score", field="choice.scores")
        known_all(list(choice.scores), "choice.scores")
        if any(v < 0 for v in choice.scores.values()):
            raise InvalidCommand("scores cannot be negative", field="choice.scores")
        if kind == "score" and any(v > opened.max_score for v in choice.scores.values()):
            raise InvalidCommand(f"scores go from 0 to {opened.max_score}", field="choice.scores")
        if kind == "dot" and not 1 <= sum(choice.scores.values()) <= opened.dots:
            raise InvalidCommand(f"spread between 1 and {opened.dots} dots", field="choice.scores")
    elif kind == "time":
        if not choice.availability:
            raise InvalidCommand("say yes, if_need_be or no for at least one slot", field="choice.availability")
        known_all(list(choice.availability), "choice.availability")


def _still_valid(proposal: Proposal, ballot: BallotCast) -> bool:
    if ballot.choice is None:  # still sealed for this reader: only decisions, which reads it open, can tell
        return True
    try:
        check_choice(proposal, ballot.choice)  # against the amended options; never its reason (check_reason)
    except InvalidCommand:
        return False
    return True


def _require_open(proposal: Proposal, at: datetime, voting: bool = False) -> ProposalOpened:
    if proposal.opened is None:
        raise NotFound("no such proposal")
    if proposal.status != "open":
        raise CommandRejected(f"the proposal is {proposal.status}")
    if voting and at < proposal.opened.opens_at:
        raise CommandRejected("voting has not opened yet")
    if voting and at >= proposal.opened.closes_at:
        raise CommandRejected("voting has closed")
    return proposal.opened


def _close(command: Close, proposal: Proposal) -> list[ProposalEvent]:
    opened = _require_open(proposal, command.at)
    if command.by is None and command.at < opened.closes_at:
        return []  # not due yet: the scheduler will come back
    if command.by is not None and not command.by.facilitator:
        raise Forbidden("only a facilitator closes a proposal early")
    outcome = proposal.current_tally()
    return [ProposalClosed(proposal_id=opened.proposal_id, group_id=opened.group_id,
                           by=command.by.member_id if command.by else None, at=command.at, outcome=outcome)]


def _by_author_or_facilitator(proposal: Proposal, by: Voter, at: datetime) -> ProposalOpened:
    opened = _require_open(proposal, at)
    if by.member_id != opened.author_id and not by.facilitator:
        raise Forbidden("only the author or a facilitator does that")
    return opened


def _amend(command: Amend, proposal: Proposal) -> list[ProposalEvent]:
    opened = _by_author_or_facilitator(proposal, command.by, command.at)
    options = proposal.options if command.options is None else command.options
    _check_options(opened.kind, options)
    if opened.kind == "multiple" and len(options) < opened.max_choices:  # else every option would be chosen
        raise InvalidCommand(f"this proposal lets each member choose {opened.max_choices}: keep at least that many "
                             "options", field="options")
    title = proposal.title if command.title is None else command.title
    body = proposal.body if command.body is None else command.body
    if (title, body, options) == (proposal.title, proposal.body, proposal.options):
        return []
    # sealed, the count of the ballots kept would tell how many chose a removed option: they are all reset
    sealed_choices_change = opened.visibility != "open" and options != proposal.options
    return [ProposalAmended(proposal_id=opened.proposal_id, by=command.by.member_id, title=title, body=body,
                            options=options, ballots_reset=opened.amend_policy == "reset" or sealed_choices_change,
                            at=command.at)]


def decide(command: ProposalCommand, proposal: Proposal) -> list[ProposalEvent]:
    match command:
        case OpenProposal():
            if proposal.opened is not None:
                raise CommandRejected("this proposal exists already")
            return _open(command)
        case Close():
            return _close(command, proposal)
        case Cast():
            opened = _require_open(proposal, command.at, voting=True)
            check_choice(proposal, command.choice)
            check_reason(command.choice, command.reason)
            return [BallotCast(event_id=command.event_id, proposal_id=opened.proposal_id,
                               member_id=command.voter.member_id, organisation_id=command.voter.organisation_id,
                               lived_experience=command.voter.lived_experience, choice=command.choice,
                               reason=command.reason, at=command.at,
                               seal=opened.proposal_id if opened.visibility != "open" else None)]
        case Retract():
            opened = _require_open(proposal, command.at, voting=True)
            if command.voter.member_id not in proposal.ballots:
                raise CommandRejected("you have no ballot on this proposal to retract")
            return [BallotRetracted(proposal_id=opened.proposal_id, member_id=command.voter.member_id, at=command.at)]
        case Comment():
            opened = _require_open(proposal, command.at)
            if not command.text.strip():
                raise InvalidCommand("a comment needs text", field="text")
            return [CommentAdded(proposal_id=opened.proposal_id, comment_id=command.comment_id,
                                 member_id=command.voter.member_id, text=command.text, at=command.at)]
        case Withdraw():
            opened = _by_author_or_facilitator(proposal, command.by, command.at)
            return [ProposalWithdrawn(proposal_id=opened.proposal_id, by=command.by.member_id, reason=command.reason,
                                      at=command.at)]
        case Amend():
            return _amend(command, proposal)
        case _:
            assert_never(command)


# -- evolve ---------------------------------------------------------------------


def _amended(proposal: Proposal, event: ProposalAmended) -> Proposal:
    amended = replace(proposal, title=event.title, body=event.body, options=event.options,
                      amendments=proposal.amendments + 1)
    # the stated policy for ballots cast before an amendment: all reset, or kept while still valid
    if event.ballots_reset:
        return replace(amended, ballots=Map())
    return replace(amended, ballots=Map({k: v for k, v in amended.ballots.items() if _still_valid(amended, v)}))


def evolve(proposal: Proposal, event: ProposalEvent) -> Proposal:
    match event:
        case ProposalOpened():
            return Proposal(opened=event, title=event.title, body=event.body, options=event.options)
        case BallotCast():
            return replace(proposal, ballots=proposal.ballots.set(event.member_id, event))
        case BallotRetracted():
            return replace(proposal, ballots=proposal.ballots.delete(event.member_id))
        case CommentAdded():
            return replace(proposal, comments=proposal.comments + 1)
        case ProposalWithdrawn():
            return replace(proposal, withdrawn=True, ended_at=event.at)
        case ProposalClosed():
            return replace(proposal, outcome=event.outcome, ended_at=event.at)
        case ProposalAmended():
            return _amended(proposal, event)
        case _:
            assert_never(event)


proposal_decider: Decider[ProposalCommand, Proposal, ProposalEvent] = Decider(
    initial_state=Proposal, decide=decide, evolve=evolve, event_type=ProposalEvent, reads_sealed=True
)
