"""Request and response bodies of the decisions API (msgspec, so they are validated and in OpenAPI)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from services.decisions.domain.rules import Rule, RuleIn
from services.decisions.events import AmendPolicy, Choice, Kind, Option, Outcome, Visibility
from shared.domain.input import Body, Instant
from shared.domain.roles import Role
from shared.domain.zones import DEFAULT_TIME_ZONE

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=20_000)]
TimeZoneName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/London"], description=(
    "an IANA time zone name: the group's meetings are scheduled and shown in it"))]


class OrganisationIn(Body):
    name: Name


class CreateGroupIn(Body):
    name: Name
    organisations: Annotated[list[OrganisationIn], msgspec.Meta(min_length=1, max_length=50)]
    rule: RuleIn = RuleIn()
    time_zone: TimeZoneName = DEFAULT_TIME_ZONE


class TimeZoneIn(Body):
    time_zone: TimeZoneName


class MemberIn(Body):
    name: Name
    organisation_id: uuid.UUID
    lived_experience: bool = False
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=4)] = msgspec.field(
        default_factory=lambda: ["member"])


class MemberPatch(Body):
    name: Name | None = None
    organisation_id: uuid.UUID | None = None
    lived_experience: bool | None = None
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=4)] | None = None


class ForgetIn(Body):
    consent: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, description=(
        "how the member's consent was given (no personal details: this text stays in the log)"))]


class KeyIn(Body):
    public_key: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="raw Ed25519 public key, base64")]


class CountersignIn(Body):
    organisation_id: uuid.UUID
    signature: Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="Ed25519 signature, base64")]


class CountersignatureOut(msgspec.Struct):
    position: int
    signer: str
    valid: bool


class MemberOut(msgspec.Struct):
    member_id: uuid.UUID
    name: str | None
    organisation_id: uuid.UUID
    lived_experience: bool
    roles: list[Role]
    forgotten: Annotated[bool, msgspec.Meta(description="forgotten at their request: their name and words read as null")
                         ] = False


class OrganisationOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    members: list[MemberOut]


class GroupOut(msgspec.Struct):
    group_id: uuid.UUID
    name: str
    rule: Rule
    time_zone: str
    organisations: list[OrganisationOut]


class TokenIn(Body):
    """When the token stops working: in so many days, or at a time (with its offset); neither: until revoked."""

    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None
    expires_at: Instant | None = None


class TokenOut(msgspec.Struct):
    token_id: uuid.UUID
    member_id: uuid.UUID
    token: str
    note: str = "shown once: only its hash is kept"
    expires_at: datetime | None = None


class OptionIn(Body):
    label: Name
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None


class ProposalIn(Body):
    kind: Kind
    title: Name
    closes_at: Instant
    body: Text = ""
    options: Annotated[list[OptionIn], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    opens_at: Instant | None = None
    rule: RuleIn | None = None
    visibility: Visibility = "open"
    amend_policy: AmendPolicy = "keep_valid"
    max_choices: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    max_score: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    dots: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10


class AmendIn(Body):
    title: Name | None = None
    body: Text | None = None
    options: Annotated[list[OptionIn], msgspec.Meta(max_length=100)] | None = None


class BallotIn(Body):
    choice: Choice
    reason: Text | None = None


class BallotOut(msgspec.Struct):
    ballot_id: uuid.UUID
    proposal_id: uuid.UUID
    member_id: uuid.UUID
    choice: Choice
    reason: str | None
    at: datetime


class WithdrawIn(Body):
    reason: Text


class CommentIn(Body):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000)]


class CommentOut(msgspec.Struct):
    comment_id: uuid.UUID
    proposal_id: uuid.UUID
    member_id: uuid.UUID
    text: str | None
    at: datetime


class ProposalOut(msgspec.Struct):
    proposal_id: uuid.UUID
    group_id: uuid.UUID
    author_id: uuid.UUID
    kind: Kind
    title: str
    body: str
    options: list[Option]
    opens_at: datetime
    closes_at: datetime
    status: str
    rule: Rule
    rule_in_words: str
    visibility: Visibility
    amend_policy: AmendPolicy
    max_choices: int
    max_score: int
    dots: int
    ballots: int
    amendments: int
    comments: int
    my_ballot: Choice | None
    tally_visible: bool
    tally: Outcome | None
    outcome: Outcome | None
    explanation: str | None
    closed_at: Annotated[datetime | None, msgspec.Meta(description=(
        "when it was closed or withdrawn, which may be before `closes_at`; null while it is open"))] = None


class ProposalSummary(msgspec.Struct):
    proposal_id: uuid.UUID
    kind: Kind
    title: str
    status: str
    opens_at: datetime
    closes_at: datetime
    result: str | None
    cursor: int


class ProposalPage(msgspec.Struct):
    proposals: list[ProposalSummary]
    next: int | None


class ProposalAsOf(msgspec.Struct):
    proposal_id: uuid.UUID
    title: str
    kind: str
    status: str
    ballots: int
    result: str | None


class GroupAsOf(msgspec.Struct):
    as_of: datetime
    position: int
    group: GroupOut
    proposals: list[ProposalAsOf]
