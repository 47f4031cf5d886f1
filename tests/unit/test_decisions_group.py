"""Given a group's events, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from services.decisions.domain.group import (
    AddMember,
    AdoptRule,
    ChangeTimeZone,
    CreateGroup,
    ForgetMember,
    Group,
    IssueSignInLink,
    IssueToken,
    RemoveMember,
    RevokeToken,
    SignIn,
    UpdateMember,
    group_decider,
)
from services.decisions.domain.rules import Rule, Threshold
from services.decisions.events import (
    DefaultRuleAdopted,
    GroupCreated,
    MemberAdded,
    MemberRemoved,
    MemberUpdated,
    Organisation,
    TimeZoneChanged,
    TokenIssued,
    TokenRevoked,
)
from shared.domain.errors import CommandRejected, CoproError, InvalidCommand, NotFound, PersonForgotten, Unauthenticated
from shared.domain.specification import DeciderSpecification
from tests.unit.decisions_fixtures import ORG_A, ORG_B, T0, uid

spec = DeciderSpecification(group_decider)
GID = uuid.UUID(int=8)
CREATE = CreateGroup(group_id=GID, name="Working group", rule=Rule(), at=T0,
                     organisations=(Organisation(ORG_A, "Changing Futures"), Organisation(ORG_B, "SCALE")))


def add(n: int, org: uuid.UUID = ORG_A, roles: tuple[str, ...] = ("member",)) -> AddMember:
    return AddMember(member_id=uid(n), name=f"Person {n}", organisation_id=org, lived_experience=False,
                     roles=roles, at=T0)  # type: ignore[arg-type]


def field_of(refusal: BaseException) -> str | None:
    assert isinstance(refusal, CoproError)
    return refusal.field


def holder(group: Group, token_hash: str) -> uuid.UUID | None:
    """The member a token hash stands for in the group's state, if it still works."""
    found = [member for member, known in group.tokens.values() if known == token_hash and member in group.members]
    return found[0] if found else None


def test_a_group_is_created_once_with_distinct_partners() -> None:
    spec.given().when(CREATE).then(GroupCreated(group_id=GID, name="Working group", organisations=CREATE.organisations,
                                                rule=Rule(), at=T0, time_zone="Europe/London"))
    created = spec.given_commands(CREATE)
    assert created.state.exists and created.state.organisation_ids() == (ORG_A, ORG_B)
    created.when(CREATE).then_fails(CommandRejected, "exists already")
    twins = CreateGroup(group_id=uuid.UUID(int=9), name="x", rule=Rule(), at=T0,
                        organisations=(Organisation(ORG_A, "Same"), Organisation(ORG_B, " same ")))
    assert field_of(spec.given().when(twins).then_fails(InvalidCommand)) == "organisations"


def test_members_belong_to_a_partner_and_have_a_role() -> None:
    group = spec.given_commands(CREATE, add(1))
    assert group.state.members[uid(1)].organisation_id == ORG_A
    group.when(add(4)).then(MemberAdded(group_id=GID, member_id=uid(4), name="Person 4", organisation_id=ORG_A,
                                        lived_experience=False, roles=("member",), at=T0))
    group.when(add(1)).then_fails(CommandRejected, "in the group already")
    assert field_of(group.when(add(2, org=uuid.UUID(int=77))).then_fails(InvalidCommand)) == "organisation_id"
    assert field_of(group.when(add(3, roles=())).then_fails(InvalidCommand)) == "roles"
    spec.given().when(add(1)).then_fails(NotFound, "no such group")


def test_updating_a_member_changes_only_what_is_given_and_nothing_is_a_no_op() -> None:
    group = spec.given_commands(CREATE, add(1))
    [event] = group.when(UpdateMember(member_id=uid(1), at=T0, roles=("facilitator",))).events
    assert isinstance(event, MemberUpdated) and event.roles == ("facilitator",) and event.name == "Person 1"
    group.when(UpdateMember(member_id=uid(1), at=T0, name="Person 1")).then_nothing()
    group.when(UpdateMember(member_id=uid(9), at=T0)).then_fails(NotFound, "no such member")


def test_tokens_resolve_to_their_member_until_revoked_or_the_member_is_removed() -> None:
    group = spec.given_commands(CREATE, add(1), add(2))
    issuing = group.when(IssueToken(member_id=uid(1), token_id=uid(50), token_hash="h1", at=T0))
    [issued] = issuing.then(TokenIssued(group_id=GID, member_id=uid(1), token_id=uid(50), token_hash="h1", at=T0)).events
    assert holder(issuing.state, "h1") == uid(1)
    with_token = spec.given(*group.history, issued)
    revoked = with_token.when(RevokeToken(token_id=uid(50), at=T0))
    revoked.then(TokenRevoked(group_id=GID, token_id=uid(50), at=T0))
    assert holder(revoked.state, "h1") is None
    removed = with_token.when(RemoveMember(member_id=uid(1), at=T0))
    removed.then(MemberRemoved(group_id=GID, member_id=uid(1), at=T0))
    assert holder(removed.state, "h1") is None and uid(1) not in removed.state.members
    assert uid(50) not in removed.state.tokens
    with_token.when(RevokeToken(token_id=uid(51), at=T0)).then_fails(NotFound, "no such token")


def test_the_default_rule_is_validated_and_unchanged_rules_record_nothing() -> None:
    group = spec.given_commands(CREATE)
    group.when(AdoptRule(rule=Rule(), at=T0)).then_nothing()
    parity = Rule(counting="organisation_parity")
    adopted = group.when(AdoptRule(rule=parity, at=T0)).then(DefaultRuleAdopted(group_id=GID, rule=parity, at=T0))
    assert adopted.state.rule == parity
    unanimity_without_inclusive = Rule(threshold=Threshold(numerator=2, denominator=2))
    refusal = group.when(AdoptRule(rule=unanimity_without_inclusive, at=T0)).then_fails(InvalidCommand)
    assert field_of(refusal) == "rule.threshold"


def test_a_group_meets_in_an_iana_time_zone_that_a_facilitator_can_change() -> None:
    lisbon = replace(CREATE, time_zone="Europe/Lisbon")
    created = spec.given().when(lisbon).then(GroupCreated(group_id=GID, name="Working group", rule=Rule(), at=T0,
                                                          organisations=CREATE.organisations, time_zone="Europe/Lisbon"))
    assert created.state.time_zone == "Europe/Lisbon"
    assert field_of(spec.given().when(replace(CREATE, time_zone="Mars/Olympus")).then_fails(
        InvalidCommand, "IANA")) == "time_zone"
    assert field_of(spec.given().when(replace(CREATE, time_zone="+01:00")).then_fails(InvalidCommand, "IANA")) == "time_zone"
    made = GroupCreated(group_id=GID, name="Working group", organisations=CREATE.organisations, rule=Rule(), at=T0,
                        time_zone="Europe/London")
    changed = spec.given(made).when(ChangeTimeZone(time_zone="America/New_York", at=T0)).then(
        TimeZoneChanged(group_id=GID, time_zone="America/New_York", at=T0))
    assert changed.state.time_zone == "America/New_York"
    spec.given(made).when(ChangeTimeZone(time_zone="Europe/London", at=T0)).then_nothing()
    spec.given(made).when(ChangeTimeZone(time_zone="Nowhere", at=T0)).then_fails(InvalidCommand, "IANA")
    spec.given().when(ChangeTimeZone(time_zone="UTC", at=T0)).then_fails(NotFound, "no such group")


def test_a_group_recorded_before_groups_had_a_zone_reads_as_utc() -> None:
    """Its meetings were expanded in UTC: reading the old event must not move them."""
    old = GroupCreated(group_id=GID, name="Working group", organisations=CREATE.organisations, rule=Rule(), at=T0)
    assert old.time_zone is None
    assert spec.given(old).when(ChangeTimeZone(time_zone="UTC", at=T0)).then_nothing().state.time_zone == "UTC"


def test_a_forgotten_member_gets_no_way_back_in_and_is_forgotten_once() -> None:
    """Nobody can issue a forgotten member a token or a sign-in link, a link issued before does not work, and
    forgetting them again records nothing (each of these was possible: the partner's and the auditor's finds)."""
    T1 = T0 + timedelta(minutes=1)
    link = IssueSignInLink(member_id=uid(1), link_id=uid(60), code_hash="c1", expires_at=T0 + timedelta(days=1), at=T0)
    forget = ForgetMember(member_id=uid(1), by=None, consent="asked in person, agreed", at=T1)
    gone = spec.given_commands(CREATE, add(1), link, forget)
    refused = gone.when(IssueToken(member_id=uid(1), token_id=uid(50), token_hash="h1", at=T1))
    assert field_of(refused.then_fails(PersonForgotten, "forgotten")) == "member_id"
    gone.when(replace(link, link_id=uid(61), code_hash="c2", at=T1)).then_fails(PersonForgotten, "forgotten")
    gone.when(SignIn(code_hash="c1", token_id=uid(51), token_hash="h2", token_expires_at=T1 + timedelta(days=30),
                     at=T1)).then_fails(Unauthenticated, "unknown, used or expired")
    gone.when(forget).then_nothing()
    assert gone.state.members[uid(1)].forgotten and gone.state.members[uid(1)].name is None
    # a member update after forgetting keeps them forgotten
    updated = spec.given_commands(CREATE, add(1), forget, UpdateMember(
        member_id=uid(1), name=None, organisation_id=ORG_A, lived_experience=False, roles=("member",), at=T1))
    assert updated.state.members[uid(1)].forgotten
