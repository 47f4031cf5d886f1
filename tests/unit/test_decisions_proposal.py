"""Given a proposal's events, when a command arrives, then these events (or this refusal)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.decisions.domain.proposal import (
    Amend,
    Cast,
    Close,
    Comment,
    Retract,
    Withdraw,
    proposal_decider,
)
from services.decisions.domain.rules import EDITION, Rule
from services.decisions.domain.tally import count
from services.decisions.events import (
    BallotCast,
    BallotRetracted,
    Choice,
    CommentAdded,
    ProposalAmended,
    ProposalClosed,
    ProposalWithdrawn,
)
from shared.domain.errors import CommandRejected, CoproError, Forbidden, InvalidCommand
from shared.domain.specification import DeciderSpecification
from tests.unit.decisions_fixtures import ORG_A, ORG_B, ORG_C, T0, open_command, options, uid, voter

D = proposal_decider
spec = DeciderSpecification(proposal_decider)
PID = uuid.UUID(int=9)
DURING = T0 + timedelta(days=1)
AFTER = T0 + timedelta(days=8)


def cast(n: int, choice: Choice, org: uuid.UUID = ORG_A, reason: str | None = None, at=DURING, lived=False) -> Cast:  # type: ignore[no-untyped-def]
    return Cast(event_id=uuid.UUID(int=7000 + n), voter=voter(n, org, lived), choice=choice, reason=reason, at=at)


def field_of(refusal: BaseException) -> str | None:
    assert isinstance(refusal, CoproError)
    return refusal.field


AGREE = Choice(stance="agree")


def test_open_then_vote_change_and_retract_keeps_one_current_ballot_per_member() -> None:
    opened = spec.given_commands(open_command())
    assert opened.state.status == "open" and len(opened.state.ballots) == 0
    changed = spec.given_commands(open_command(), cast(1, AGREE), cast(1, Choice(stance="disagree"),
                                                                       reason="changed my mind"))
    assert len(changed.state.ballots) == 1 and changed.state.ballots[uid(1)].choice.stance == "disagree"
    retracted = changed.when(Retract(voter=voter(1), at=DURING))
    retracted.then(BallotRetracted(proposal_id=PID, member_id=uid(1), at=DURING))
    assert len(retracted.state.ballots) == 0


def test_ballot_event_keeps_the_id_the_shell_chose() -> None:
    spec.given_commands(open_command()).when(cast(3, AGREE)).then(BallotCast(
        event_id=uuid.UUID(int=7003), proposal_id=PID, member_id=uid(3), organisation_id=ORG_A,
        lived_experience=False, choice=AGREE, reason=None, at=DURING))


@pytest.mark.parametrize(("command", "refusal"), [
    (cast(1, AGREE, at=T0 - timedelta(minutes=1)), "not opened"),
    (cast(1, AGREE, at=AFTER), "closed"),
    (Retract(voter=voter(1), at=DURING), "no ballot"),
])
def test_voting_outside_the_window_or_retracting_nothing_is_refused(command: Cast | Retract, refusal: str) -> None:
    spec.given_commands(open_command()).when(command).then_fails(CommandRejected, refusal)


@pytest.mark.parametrize(("kind", "opts", "choice", "reason", "field"), [
    ("consent", (), Choice(), None, "choice.stance"),
    ("consent", (), Choice(stance="block"), None, "reason"),
    ("consent", (), Choice(stance="disagree"), "  ", "reason"),
    ("choice", options("A", "B"), Choice(option="z"), None, "choice.option"),
    ("multiple", options("A", "B"), Choice(options=("a", "a")), None, "choice.options"),
    ("ranked", options("A", "B"), Choice(ranking=()), None, "choice.ranking"),
    ("score", options("A", "B"), Choice(scores={"a": 6}), None, "choice.scores"),
    ("dot", options("A", "B"), Choice(scores={"a": 8, "b": 3}), None, "choice.scores"),
])
def test_ballots_that_do_not_fit_the_kind_name_the_field(kind, opts, choice, reason, field) -> None:  # type: ignore[no-untyped-def]
    refusal = spec.given_commands(open_command(kind, opts)).when(cast(1, choice, reason=reason)).then_fails(InvalidCommand)
    assert field_of(refusal) == field


@pytest.mark.parametrize(("changes", "field"), [
    ({"closes_at": T0}, "closes_at"),
    ({"title": " "}, "title"),
    ({"kind": "choice", "options": options("Only one")}, "options"),
    ({"kind": "consent", "options": options("A", "B")}, "options"),
    ({"kind": "score", "options": options("A", "B"), "rule": Rule(double_majority=True)}, "rule.double_majority"),
    ({"kind": "multiple", "options": options("A", "B"), "max_choices": 3}, "max_choices"),
])
def test_proposals_that_can_never_work_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    refusal = spec.given().when(open_command(**changes)).then_fails(InvalidCommand)  # type: ignore[arg-type]
    assert field_of(refusal) == field


def test_a_proposal_is_opened_once() -> None:
    spec.given_commands(open_command()).when(open_command()).then_fails(CommandRejected, "exists already")


def test_scheduled_close_waits_for_the_closing_time_and_is_idempotent() -> None:
    voted = spec.given_commands(open_command(), cast(1, AGREE))
    voted.when(Close(by=None, at=DURING)).then_nothing()
    closing = voted.when(Close(by=None, at=AFTER))
    [closed] = closing.events
    assert isinstance(closed, ProposalClosed) and closed.outcome.result == "passed" and closed.by is None
    assert closed == ProposalClosed(proposal_id=PID, group_id=uuid.UUID(int=8), by=None, at=AFTER,
                                    outcome=voted.state.current_tally())
    spec.given(*voted.history, closed).when(Close(by=None, at=AFTER)).then_fails(CommandRejected, "closed")


def test_only_a_facilitator_closes_early() -> None:
    voted = spec.given_commands(open_command(), cast(1, AGREE))
    voted.when(Close(by=voter(2), at=DURING)).then_fails(Forbidden, "facilitator")
    [closed] = voted.when(Close(by=voter(2, facilitator=True), at=DURING)).events
    assert isinstance(closed, ProposalClosed) and closed.by == uid(2)


def test_outcome_records_the_rule_and_every_counted_ballot() -> None:
    rule = Rule(counting="organisation_parity")
    voted = spec.given_commands(open_command(rule=rule), cast(1, AGREE, ORG_A), cast(2, AGREE, ORG_B),
                                cast(2, AGREE, ORG_B), Retract(voter=voter(2, ORG_B), at=DURING), cast(3, AGREE, ORG_C))
    [closed] = voted.when(Close(by=None, at=AFTER)).events
    assert isinstance(closed, ProposalClosed)
    assert closed.outcome.rule == msgspec.structs.replace(rule, edition=EDITION)  # recorded under today's rulebook
    assert set(closed.outcome.counted_ballots) == {uuid.UUID(int=7001), uuid.UUID(int=7003)}


def test_amending_keeps_valid_ballots_or_resets_them_as_the_proposal_states() -> None:
    opts = options("March", "April", "May")
    ballots = (cast(1, Choice(option="march")), cast(2, Choice(option="may")))
    amend = Amend(by=voter(0), at=DURING, options=options("March", "April"))
    kept = spec.given_commands(open_command("choice", opts), *ballots, amend)
    assert set(kept.state.ballots) == {uid(1)} and kept.state.amendments == 1
    reset = spec.given_commands(open_command("choice", opts, amend_policy="reset"), *ballots, amend)
    assert len(reset.state.ballots) == 0
    kept.when(Amend(by=voter(5), at=DURING, title="mine now")).then_fails(Forbidden, "author or a facilitator")
    kept.when(Amend(by=voter(5, facilitator=True), at=DURING, title="Clearer title")).then(ProposalAmended(
        proposal_id=PID, by=uid(5), title="Clearer title", body="", options=options("March", "April"),
        ballots_reset=False, at=DURING))
    kept.when(Amend(by=voter(0), at=DURING, title="Hold the event in March")).then_nothing()


def test_a_forgotten_members_disagreement_still_counts_after_an_amendment() -> None:
    """Their reason reads as None once they are forgotten; the amendment checks choices against its options only,
    so the ballot stays counted live and in every replay (it was dropped: the auditor's find)."""
    disagree = cast(1, Choice(stance="disagree"), reason="the venue has no step-free entrance")
    history = spec.given_commands(open_command(), disagree).history
    forgotten = [msgspec.structs.replace(e, reason=None) if isinstance(e, BallotCast) else e for e in history]
    amended = spec.given(*forgotten).when(Amend(by=voter(0), at=DURING, body="typo fixed")).then(ProposalAmended(
        proposal_id=PID, by=uid(0), title=history[0].title, body="typo fixed", options=(), ballots_reset=False,
        at=DURING)).state
    assert set(amended.ballots) == {uid(1)}
    # casting still takes a reason to disagree
    spec.given_commands(open_command()).when(cast(2, Choice(stance="disagree"))).then_fails(InvalidCommand, "reason")


def test_an_amendment_keeps_as_many_options_as_a_member_may_choose() -> None:
    """Amended down to two options with three choices each, both were chosen with one vote between them
    (the partner's find): refused as it is on opening."""
    three = open_command("multiple", options("A", "B", "C"), max_choices=3)
    refused = spec.given_commands(three).when(Amend(by=voter(0), at=DURING, options=options("A", "B")))
    assert refused.then_fails(InvalidCommand, "at least that many").field == "options"  # type: ignore[attr-defined]


def test_changing_a_sealed_proposals_options_resets_every_ballot() -> None:
    """Kept while still valid, the ballot count fell by those who chose the removed option, which the author could
    read before the close, option by option (the attacker's find)."""
    opts = options("Yes", "No")
    sealed = spec.given_commands(open_command("choice", opts, visibility="after_close"),
                                 cast(1, Choice(option="no")), cast(2, Choice(option="yes")))
    amended = sealed.when(Amend(by=voter(0), at=DURING, options=options("Yes", "Maybe")))
    assert len(amended.state.ballots) == 0 and amended.events[0].ballots_reset  # type: ignore[union-attr]
    retitled = sealed.when(Amend(by=voter(0), at=DURING, title="Clearer"))  # the options stay: the ballots too
    assert len(retitled.state.ballots) == 2


def test_options_a_member_cannot_tell_apart_are_refused() -> None:
    """Two options called "Same" were taken (the newcomer's find)."""
    refused = spec.given().when(open_command("choice", options("Same", " same ")))
    assert refused.then_fails(InvalidCommand, "distinct labels").field == "options"  # type: ignore[attr-defined]


def test_withdrawn_proposals_take_no_more_ballots_or_comments() -> None:
    spec.given_commands(open_command()).when(Withdraw(by=voter(0), reason="merged into another", at=DURING)).then(
        ProposalWithdrawn(proposal_id=PID, by=uid(0), reason="merged into another", at=DURING))
    withdrawn = spec.given_commands(open_command(), Withdraw(by=voter(0), reason="merged into another", at=DURING))
    assert withdrawn.state.status == "withdrawn"
    for command in (cast(1, AGREE), Comment(comment_id=uid(99), voter=voter(1), text="hi", at=DURING)):
        withdrawn.when(command).then_fails(CommandRejected, "withdrawn")


def test_comments_need_text_and_are_counted() -> None:
    opened = spec.given_commands(open_command())
    commented = opened.when(Comment(comment_id=uid(99), voter=voter(1), text="Good idea", at=DURING))
    commented.then(CommentAdded(proposal_id=PID, comment_id=uid(99), member_id=uid(1), text="Good idea", at=DURING))
    assert commented.state.comments == 1
    refusal = opened.when(Comment(comment_id=uid(98), voter=voter(1), text="  ", at=DURING)).then_fails(InvalidCommand)
    assert field_of(refusal) == "text"


stances = st.sampled_from(["agree", "abstain", "disagree", "block"])
orgs = st.sampled_from([ORG_A, ORG_B, ORG_C])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("cast"), st.integers(1, 8), stances, orgs),
        st.tuples(st.just("retract"), st.integers(1, 8), stances, orgs),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(steps=steps, rule=st.builds(Rule, counting=st.sampled_from(["per_member", "organisation_parity"]),
                                    quorum_per_organisation=st.integers(0, 2), double_majority=st.booleans(),
                                    blocks_allowed=st.booleans()))
def test_replaying_the_events_rebuilds_the_same_state_and_outcome(steps, rule) -> None:  # type: ignore[no-untyped-def]
    state, log = D.initial_state(), []
    for command in [open_command(rule=rule)] + [
        cast(n, Choice(stance=s), org, reason="because", lived=n % 2 == 0) if kind == "cast"
        else Retract(voter=voter(n, org), at=DURING)
        for kind, n, s, org in steps
    ] + [Close(by=None, at=AFTER)]:
        try:
            events = D.decide(command, state)  # type: ignore[arg-type]
        except CommandRejected:
            continue
        log.extend(events)
        for event in events:
            state = D.evolve(state, event)
    replayed = D.fold(log)
    assert replayed == state
    closed = log[-1]
    assert isinstance(closed, ProposalClosed)
    # the recorded outcome is recomputed identically from the ballots it names
    named = {b.event_id: b for b in log if isinstance(b, BallotCast)}
    ballots = [named[i] for i in closed.outcome.counted_ballots]
    assert count(replayed.question(), ballots) == closed.outcome


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["consent", "choice", "ranked", "score", "time"]),
    choices=st.lists(st.tuples(st.integers(0, 3), orgs, st.booleans()), min_size=1, max_size=12),
    duplicated=orgs, copies=st.integers(2, 4), double_majority=st.booleans(), blocks_allowed=st.booleans(),
)
def test_under_parity_duplicating_every_member_of_one_organisation_never_changes_the_outcome(
    kind, choices, duplicated, copies, double_majority, blocks_allowed  # type: ignore[no-untyped-def]
) -> None:
    from tests.unit.decisions_fixtures import ballot, question, slots

    opts = () if kind == "consent" else slots(4) if kind == "time" else options("A", "B", "C", "D")
    ids = [o.id for o in opts]
    as_choice = {
        "consent": lambda k: Choice(stance=("agree", "abstain", "disagree", "block")[k]),  # type: ignore[arg-type]
        "choice": lambda k: Choice(option=ids[k]),
        "ranked": lambda k: Choice(ranking=tuple(ids[k:] + ids[:k])),
        "score": lambda k: Choice(scores={ids[k]: 5, ids[(k + 1) % 4]: k}),
        "time": lambda k: Choice(availability={ids[k]: "yes", ids[(k + 2) % 4]: "if_need_be"}),
    }[kind]
    rule = Rule(counting="organisation_parity", blocks_allowed=blocks_allowed,
                double_majority=double_majority and kind in ("consent", "choice"))
    ballots = [ballot(n, as_choice(k), org, lived, reason="r") for n, (k, org, lived) in enumerate(choices)]
    extra = [ballot(1000 * c + n, b.choice, b.organisation_id, b.lived_experience, reason="r")
             for c in range(1, copies) for n, b in enumerate(ballots) if b.organisation_id == duplicated]
    before = count(question(kind, opts, rule=rule), ballots)
    after = count(question(kind, opts, rule=rule), ballots + extra)
    assert (after.result, after.chosen, after.tally, after.rounds) == (
        before.result, before.chosen, before.tally, before.rounds)
