"""Equal by default: a parity rule that names no quorum needs a voter from every partner; old rules replay as decided.

Given/when/then on the decisions deciders. A rule recorded before the
default existed carries ``quorum_per_organisation: 0`` and no edition; its
proposals must still close, and recount, exactly as they were closed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest

from services.decisions.domain.group import AdoptRule, CreateGroup, group_decider
from services.decisions.domain.proposal import Cast, Close, proposal_decider
from services.decisions.domain.rules import EDITION, Rule, RuleIn
from services.decisions.domain.tally import count
from services.decisions.events import (
    BallotCast,
    Choice,
    DefaultRuleAdopted,
    GroupCreated,
    Organisation,
    ProposalClosed,
    ProposalEvent,
    ProposalOpened,
)
from shared.domain.specification import DeciderSpecification
from tests.unit.decisions_fixtures import ORG_A, ORG_B, ORG_C, ORGS, T0, open_command, question, voter

proposals = DeciderSpecification(proposal_decider)
groups = DeciderSpecification(group_decider)
AGREE = Choice(stance="agree")
DURING, AFTER = T0 + timedelta(days=1), T0 + timedelta(days=8)
PARITY = {"counting": "organisation_parity"}


def cast(n: int, org: uuid.UUID) -> Cast:
    return Cast(event_id=uuid.UUID(int=7000 + n), voter=voter(n, org), choice=AGREE, reason=None, at=DURING)


def closed_by(*commands: object) -> ProposalClosed:
    [closed] = proposals.given_commands(*commands).when(Close(by=None, at=AFTER)).events  # type: ignore[arg-type]
    assert isinstance(closed, ProposalClosed)
    return closed


def test_a_parity_rule_that_names_no_quorum_needs_one_voter_from_every_partner() -> None:
    rule = msgspec.convert(PARITY, RuleIn).resolve()
    assert rule.quorum_per_organisation == 1 and rule.edition == EDITION
    assert msgspec.convert({"counting": "per_member"}, RuleIn).resolve().quorum_per_organisation == 0
    assert msgspec.convert({**PARITY, "quorum_per_organisation": 0}, RuleIn).resolve().quorum_per_organisation == 0
    assert "at least 1 voter(s) from every partner" in rule.describe()


def test_a_parity_group_with_voters_from_one_partner_of_three_decides_nothing() -> None:
    rule = msgspec.convert(PARITY, RuleIn).resolve()
    closed = closed_by(open_command(rule=rule), cast(1, ORG_A), cast(2, ORG_A), cast(3, ORG_A))
    assert closed.outcome.result == "no_quorum"
    explanation = closed.outcome.explanation
    assert explanation.startswith("No quorum: 2 partner organisation(s) had fewer than 1 voter(s)")
    assert f"Turnout per partner organisation: {ORG_A}: 3 voters, {ORG_B}: 0 voters, {ORG_C}: 0 voters." in explanation


def test_with_a_voter_from_every_partner_the_parity_group_decides_and_says_who_took_part() -> None:
    rule = msgspec.convert(PARITY, RuleIn).resolve()
    closed = closed_by(open_command(rule=rule), cast(1, ORG_A), cast(2, ORG_A), cast(3, ORG_B), cast(4, ORG_C))
    assert closed.outcome.result == "passed"
    assert f"{ORG_A}: 2 voters, {ORG_B}: 1 voter, {ORG_C}: 1 voter." in closed.outcome.explanation


def test_the_rule_may_say_otherwise() -> None:
    rule = msgspec.convert({**PARITY, "quorum_per_organisation": 0}, RuleIn).resolve()
    closed = closed_by(open_command(rule=rule), cast(1, ORG_A))
    assert closed.outcome.result == "passed"
    assert f"{ORG_A}: 1 voter, {ORG_B}: 0 voters, {ORG_C}: 0 voters." in closed.outcome.explanation


@pytest.mark.parametrize("counting", ["per_member", "organisation_parity"])
def test_every_new_outcome_states_turnout_per_partner(counting: str) -> None:
    rule = msgspec.convert({"counting": counting}, RuleIn).resolve()
    closed = closed_by(open_command(rule=rule), cast(1, ORG_A), cast(2, ORG_B), cast(3, ORG_C))
    assert "Turnout per partner organisation:" in closed.outcome.explanation
    assert all(str(org) in closed.outcome.explanation for org in ORGS)


OLD_RULE_JSON = (b'{"counting":"organisation_parity","threshold":{"numerator":1,"denominator":2,"inclusive":false},'
                 b'"quorum_per_organisation":0,"double_majority":false,"blocks_allowed":true}')


def test_a_rule_recorded_before_the_default_replays_exactly_as_it_was_decided() -> None:
    """As the log holds it: quorum 0 stated, no edition. One voter of one partner passed it, and still does,
    with the explanation it was given (no turnout sentence), so the auditor's recount matches."""
    old = msgspec.json.decode(OLD_RULE_JSON, type=Rule)
    assert old.quorum_per_organisation == 0 and old.edition == 1 and not old.explains_turnout
    ballots = [BallotCast(event_id=uuid.UUID(int=5001), proposal_id=uuid.UUID(int=9), member_id=uuid.UUID(int=1001),
                          organisation_id=ORG_A, lived_experience=False, choice=AGREE, at=DURING)]
    outcome = count(question("consent", rule=old), ballots)
    assert outcome.result == "passed" and "Turnout" not in outcome.explanation
    opened = ProposalOpened(proposal_id=uuid.UUID(int=9), group_id=uuid.UUID(int=8), author_id=uuid.UUID(int=1000),
                            kind="consent", title="t", body="", options=(), opens_at=T0, closes_at=T0 + timedelta(days=7),
                            rule=old, organisations=ORGS, visibility="open", amend_policy="keep_valid", at=T0)
    history: list[ProposalEvent] = [opened, *ballots]
    closed = proposals.given(*history).when(Close(by=None, at=AFTER)).events[0]
    assert isinstance(closed, ProposalClosed) and closed.outcome == outcome and closed.outcome.rule == old


def test_a_new_group_records_its_parity_rule_with_the_quorum_explicit() -> None:
    rule = msgspec.convert(PARITY, RuleIn).resolve()
    org = Organisation(id=ORG_A, name="A")
    create = CreateGroup(group_id=uuid.UUID(int=8), name="g", organisations=(org,), rule=rule, at=T0)
    [created] = groups.given().when(create).events
    assert isinstance(created, GroupCreated)
    encoded = msgspec.json.decode(msgspec.json.encode(created))
    assert encoded["rule"]["quorum_per_organisation"] == 1 and encoded["rule"]["edition"] == EDITION
    adopted = groups.given(created).when(AdoptRule(rule=msgspec.convert({**PARITY, "quorum_per_organisation": 2},
                                                                        RuleIn).resolve(), at=T0)).events
    assert isinstance(adopted[0], DefaultRuleAdopted) and adopted[0].rule.quorum_per_organisation == 2


def test_a_proposal_opened_today_under_an_old_group_rule_keeps_its_quorum_and_explains_turnout() -> None:
    """Only new rules get the new default; the old rule's stated quorum stays, the explanation gains turnout."""
    old = msgspec.json.decode(OLD_RULE_JSON, type=Rule)
    [opened] = proposals.given().when(open_command(rule=old)).events
    assert isinstance(opened, ProposalOpened)
    assert opened.rule.quorum_per_organisation == 0 and opened.rule.edition == EDITION
    closed = closed_by(open_command(rule=old), cast(1, ORG_A))
    assert closed.outcome.result == "passed" and "Turnout per partner organisation" in closed.outcome.explanation


def test_a_typo_in_a_rule_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="double_majorty"):
        msgspec.convert({"double_majorty": True}, RuleIn)
    with pytest.raises(msgspec.ValidationError, match="numerater"):
        msgspec.convert({"threshold": {"numerater": 2}}, RuleIn)
