"""Given a group's events, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

import uuid

import pytest

from services.decisions.events import MemberUpdated, Organisation, TokenIssued
from services.decisions.domain.group import (
    AddMember,
    AdoptRule,
    CreateGroup,
    Group,
    IssueToken,
    RemoveMember,
    RevokeToken,
    UpdateMember,
    group_decider,
)
from services.decisions.domain.rules import Rule, Threshold
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound
from tests.unit.decisions_fixtures import ORG_A, ORG_B, T0, uid

D = group_decider
CREATE = CreateGroup(group_id=uuid.UUID(int=8), name="Working group", rule=Rule(), at=T0,
                     organisations=(Organisation(ORG_A, "Changing Futures"), Organisation(ORG_B, "SCALE")))


def given_(*commands: object) -> Group:
    state = D.initial_state()
    for command in commands:
        for event in D.decide(command, state):  # type: ignore[arg-type]
            state = D.evolve(state, event)
    return state


def add(n: int, org: uuid.UUID = ORG_A, roles: tuple[str, ...] = ("member",)) -> AddMember:
    return AddMember(member_id=uid(n), name=f"Person {n}", organisation_id=org, lived_experience=False,
                     roles=roles, at=T0)  # type: ignore[arg-type]


def test_a_group_is_created_once_with_distinct_partners() -> None:
    group = given_(CREATE)
    assert group.exists and group.organisation_ids() == (ORG_A, ORG_B)
    with pytest.raises(CommandRejected):
        D.decide(CREATE, group)
    twins = CreateGroup(group_id=uuid.UUID(int=9), name="x", rule=Rule(), at=T0,
                        organisations=(Organisation(ORG_A, "Same"), Organisation(ORG_B, " same ")))
    with pytest.raises(InvalidCommand) as refused:
        D.decide(twins, Group())
    assert refused.value.field == "organisations"


def test_members_belong_to_a_partner_and_have_a_role() -> None:
    group = given_(CREATE, add(1))
    assert group.members[uid(1)].organisation_id == ORG_A
    with pytest.raises(CommandRejected):
        D.decide(add(1), group)
    with pytest.raises(InvalidCommand) as refused:
        D.decide(add(2, org=uuid.UUID(int=77)), group)
    assert refused.value.field == "organisation_id"
    with pytest.raises(InvalidCommand) as refused:
        D.decide(add(3, roles=()), group)
    assert refused.value.field == "roles"
    with pytest.raises(NotFound):
        D.decide(add(1), Group())


def test_updating_a_member_changes_only_what_is_given_and_nothing_is_a_no_op() -> None:
    group = given_(CREATE, add(1))
    [event] = D.decide(UpdateMember(member_id=uid(1), at=T0, roles=("facilitator",)), group)
    assert isinstance(event, MemberUpdated) and event.roles == ("facilitator",) and event.name == "Person 1"
    assert D.decide(UpdateMember(member_id=uid(1), at=T0, name="Person 1"), group) == []
    with pytest.raises(NotFound):
        D.decide(UpdateMember(member_id=uid(9), at=T0), group)


def test_tokens_resolve_to_their_member_until_revoked_or_the_member_is_removed() -> None:
    group = given_(CREATE, add(1), add(2))
    [issued] = D.decide(IssueToken(member_id=uid(1), token_id=uid(50), token_hash="h1", at=T0), group)
    assert isinstance(issued, TokenIssued)
    group = D.evolve(group, issued)
    member = group.member_by_token("h1")
    assert member is not None and member.member_id == uid(1)
    assert D.fold(D.decide(RevokeToken(token_id=uid(50), at=T0), group), group).member_by_token("h1") is None
    removed = D.fold(D.decide(RemoveMember(member_id=uid(1), at=T0), group), group)
    assert removed.member_by_token("h1") is None and uid(1) not in removed.members
    with pytest.raises(NotFound):
        D.decide(RevokeToken(token_id=uid(51), at=T0), group)


def test_the_default_rule_is_validated_and_unchanged_rules_record_nothing() -> None:
    group = given_(CREATE)
    assert D.decide(AdoptRule(rule=Rule(), at=T0), group) == []
    parity = Rule(counting="organisation_parity")
    assert D.fold(D.decide(AdoptRule(rule=parity, at=T0), group), group).rule == parity
    with pytest.raises(InvalidCommand) as refused:
        D.decide(AdoptRule(rule=Rule(threshold=Threshold(numerator=2, denominator=2)), at=T0), group)
    assert refused.value.field == "rule.threshold"
