"""The decisions service's public event contract: its part of the shared log, the one definition.

Every type name starts with ``decisions.``, which also names the NATS
subject (``copro.<group>.decisions.<Type>``). Names and free text a person
may withdraw are personal fields, encrypted with that person's key. The
stored type names and JSON of these structs are the contract: other services
and partners read them, and the log already holds them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.decisions.domain.rules import Rule
from shared.domain.contract import EventContract, Versioned, same_shape
from shared.domain.input import FrozenBody
from shared.domain.roles import Role

Kind = Literal["consent", "choice", "multiple", "ranked", "score", "dot", "time"]
Visibility = Literal["open", "after_vote", "after_close"]
AmendPolicy = Literal["keep_valid", "reset"]
Stance = Literal["agree", "abstain", "disagree", "block"]
Availability = Literal["yes", "if_need_be", "no"]
OptionId = Annotated[str, msgspec.Meta(max_length=64)]
"""An option's id as a ballot names it (ids are at most 64 characters: ``OptionIn``)."""
Result = Literal["passed", "rejected", "blocked", "no_quorum", "tie", "chosen"]


class Organisation(msgspec.Struct, frozen=True):
    id: uuid.UUID
    name: str


class Option(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class Choice(FrozenBody, frozen=True, kw_only=True, omit_defaults=True):
    """What a ballot says; which field is used depends on the proposal's kind. Part of a request
    (``BallotIn``) too, so an unknown field is refused."""

    stance: Stance | None = None
    option: OptionId | None = None
    options: Annotated[tuple[OptionId, ...], msgspec.Meta(max_length=100)] = ()
    ranking: Annotated[tuple[OptionId, ...], msgspec.Meta(max_length=100)] = ()
    scores: Annotated[dict[OptionId, Annotated[int, msgspec.Meta(ge=0, le=1000)]], msgspec.Meta(max_length=100)] = (
        msgspec.field(default_factory=dict))
    availability: Annotated[dict[OptionId, Availability], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=dict)


class OptionTally(msgspec.Struct, frozen=True, kw_only=True):
    option: str
    weight: str
    extra: dict[str, str] = {}


class OrganisationTally(msgspec.Struct, frozen=True, kw_only=True):
    organisation_id: uuid.UUID
    voters: int
    weight_per_voter: str
    per_option: dict[str, str]


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    result: Result
    chosen: tuple[str, ...]
    ranking: tuple[str, ...]
    tally: tuple[OptionTally, ...]
    organisations: tuple[OrganisationTally, ...]
    rounds: tuple[dict[str, str], ...]
    rule: Rule
    counted_ballots: tuple[uuid.UUID, ...]
    explanation: str


class GroupCreated(Versioned, frozen=True, kw_only=True, tag="decisions.GroupCreated"):
    """``time_zone`` is the IANA zone the group meets in; a group created before groups had one has
    none recorded, and reads as ``UTC`` (where its meetings were expanded)."""

    group_id: uuid.UUID
    name: str
    organisations: tuple[Organisation, ...]
    rule: Rule
    at: datetime
    time_zone: str | None = None


class MemberAdded(Versioned, frozen=True, kw_only=True, tag="decisions.MemberAdded"):
    __personal__ = ("name",)
    __subject__ = "member_id"
    group_id: uuid.UUID
    member_id: uuid.UUID
    name: str | None
    organisation_id: uuid.UUID
    lived_experience: bool
    roles: tuple[Role, ...]
    at: datetime


class MemberUpdated(Versioned, frozen=True, kw_only=True, tag="decisions.MemberUpdated"):
    __personal__ = ("name",)
    __subject__ = "member_id"
    group_id: uuid.UUID
    member_id: uuid.UUID
    name: str | None
    organisation_id: uuid.UUID
    lived_experience: bool
    roles: tuple[Role, ...]
    at: datetime


class MemberRemoved(Versioned, frozen=True, kw_only=True, tag="decisions.MemberRemoved"):
    group_id: uuid.UUID
    member_id: uuid.UUID
    at: datetime


class MemberForgotten(Versioned, frozen=True, kw_only=True, tag="decisions.MemberForgotten"):
    """The member's key is destroyed: their name, reasons and comments read as erased from now on."""

    group_id: uuid.UUID
    member_id: uuid.UUID
    by: uuid.UUID | None
    consent: str
    at: datetime


class OrganisationKeyRegistered(Versioned, frozen=True, kw_only=True,
                                tag="decisions.OrganisationKeyRegistered"):
    """A partner's Ed25519 public key (base64), for countersigning checkpoints."""

    group_id: uuid.UUID
    organisation_id: uuid.UUID
    public_key: str
    at: datetime


class TokenIssued(Versioned, frozen=True, kw_only=True, tag="decisions.TokenIssued"):
    """Only the token's SHA-256 travels in the log; the token itself is shown once. A token with
    ``expires_at`` stops working then (none: until revoked)."""

    group_id: uuid.UUID
    member_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str
    at: datetime
    expires_at: datetime | None = None


class TokenRevoked(Versioned, frozen=True, kw_only=True, tag="decisions.TokenRevoked"):
    group_id: uuid.UUID
    token_id: uuid.UUID
    at: datetime


class SignInLinkIssued(Versioned, frozen=True, kw_only=True, tag="decisions.SignInLinkIssued"):
    """A one-time sign-in link for a member; only the code's SHA-256 travels in the log."""

    group_id: uuid.UUID
    member_id: uuid.UUID
    link_id: uuid.UUID
    code_hash: str
    expires_at: datetime
    at: datetime


class SignedIn(Versioned, frozen=True, kw_only=True, tag="decisions.SignedIn"):
    """A sign-in link used (once): the member's new token, known by its SHA-256, stops working at ``expires_at``."""

    group_id: uuid.UUID
    member_id: uuid.UUID
    link_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str
    expires_at: datetime
    at: datetime


class DefaultRuleAdopted(Versioned, frozen=True, kw_only=True, tag="decisions.DefaultRuleAdopted"):
    group_id: uuid.UUID
    rule: Rule
    at: datetime


class TimeZoneChanged(Versioned, frozen=True, kw_only=True, tag="decisions.TimeZoneChanged"):
    """The group's IANA time zone from now on: meetings scheduled after it are in this zone (a meeting
    keeps the zone it was scheduled in)."""

    group_id: uuid.UUID
    time_zone: str
    at: datetime


GroupEvent = (
    GroupCreated | MemberAdded | MemberUpdated | MemberRemoved | MemberForgotten | TokenIssued | TokenRevoked
    | DefaultRuleAdopted | OrganisationKeyRegistered | SignInLinkIssued | SignedIn | TimeZoneChanged
)


class ProposalOpened(Versioned, frozen=True, kw_only=True, tag="decisions.ProposalOpened"):
    proposal_id: uuid.UUID
    group_id: uuid.UUID
    author_id: uuid.UUID
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
    max_choices: int = 1
    max_score: int = 5
    dots: int = 10
    at: datetime


class ProposalAmended(Versioned, frozen=True, kw_only=True, tag="decisions.ProposalAmended"):
    proposal_id: uuid.UUID
    by: uuid.UUID
    title: str
    body: str
    options: tuple[Option, ...]
    ballots_reset: bool
    at: datetime


class BallotCast(Versioned, frozen=True, kw_only=True, tag="decisions.BallotCast"):
    """Casting again replaces the member's current ballot; ``event_id`` is this event's id in the log.

    Under ``after_vote`` or ``after_close`` visibility ``seal`` names the proposal's ballot key and
    the log stores ``choice`` and ``reason`` as ``null``, sealed together in ``sealed``
    (``shared/eventlog/sealing.py``) until the proposal's ``ProposalClosed`` or ``ProposalWithdrawn``
    releases the key (its ``seal_key``). Who voted, their organisation and lived experience stay
    readable: counts of who voted may be known, what they chose may not.
    """

    __personal__ = ("reason",)
    __subject__ = "member_id"
    __sealed__ = ("choice", "reason")
    __seal__ = "seal"
    event_id: uuid.UUID
    proposal_id: uuid.UUID
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    lived_experience: bool
    choice: Choice | None
    """``None`` only while sealed."""
    reason: str | None = None
    seal: uuid.UUID | None = None
    sealed: str | None = None
    at: datetime


class BallotRetracted(Versioned, frozen=True, kw_only=True, tag="decisions.BallotRetracted"):
    proposal_id: uuid.UUID
    member_id: uuid.UUID
    at: datetime


class CommentAdded(Versioned, frozen=True, kw_only=True, tag="decisions.CommentAdded"):
    __personal__ = ("text",)
    __subject__ = "member_id"
    proposal_id: uuid.UUID
    comment_id: uuid.UUID
    member_id: uuid.UUID
    text: str | None
    at: datetime


class ProposalWithdrawn(Versioned, frozen=True, kw_only=True, tag="decisions.ProposalWithdrawn"):
    """Ends the proposal; like a close it releases the ballots' key (``seal_key``), so the log stays whole.

    The ``reason`` is the withdrawing member's own words ("Ada is in hospital"): personal, so it
    travels encrypted and reads as ``null`` once they are forgotten (version 2; version 1 stored it
    in plain text)."""

    __version__ = 2
    __upcasters__ = (same_shape(2),)
    __personal__ = ("reason",)
    __subject__ = "by"

    __unseals__ = "proposal_id"
    proposal_id: uuid.UUID
    by: uuid.UUID
    reason: str | None
    seal_key: str | None = None
    at: datetime


class ProposalClosed(Versioned, frozen=True, kw_only=True, tag="decisions.ProposalClosed"):
    """The outcome, and the key of the proposal's sealed ballots (``<proposal id>:<base64 key>``, written
    by the store) so that everyone holding the log can read and recount them from now on."""

    __unseals__ = "proposal_id"
    proposal_id: uuid.UUID
    group_id: uuid.UUID
    by: uuid.UUID | None
    at: datetime
    outcome: Outcome
    seal_key: str | None = None


ProposalEvent = (
    ProposalOpened | ProposalAmended | BallotCast | BallotRetracted | CommentAdded | ProposalWithdrawn | ProposalClosed
)


CONTRACT = EventContract("decisions", [
    GroupCreated, MemberAdded, MemberUpdated, MemberRemoved, MemberForgotten, TokenIssued, TokenRevoked,
    DefaultRuleAdopted, OrganisationKeyRegistered, SignInLinkIssued, SignedIn, TimeZoneChanged,
    ProposalOpened, ProposalAmended, BallotCast, BallotRetracted, CommentAdded, ProposalWithdrawn, ProposalClosed,
])
