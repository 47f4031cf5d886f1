"""Counting ballots into an outcome, exactly: every weight is a Fraction, never a float.

Pure and deterministic: the same ballots and rule always give the same
outcome, so anyone replaying the log recomputes every recorded outcome.
Ties are never broken by accident: where the rules below do not decide,
the result is ``tie`` and the tied options are named.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from services.decisions.domain.rules import Rule, fraction_text
from services.decisions.events import (
    BallotCast,
    Choice,
    Kind,
    Option,
    OptionTally,
    OrganisationTally,
    Outcome,
    Result,
)

ZERO = Fraction(0)


@dataclass(frozen=True)
class Question:
    """What is being decided, as recorded on the proposal (after any amendment)."""

    kind: Kind
    options: tuple[Option, ...]
    rule: Rule
    organisations: tuple[uuid.UUID, ...]
    max_choices: int = 1


def choice_of(ballot: BallotCast) -> Choice:
    """What a ballot says; a ballot still sealed for this reader cannot be counted."""
    if ballot.choice is None:
        raise ValueError(f"ballot {ballot.event_id} is sealed: its proposal's key was not released")
    return ballot.choice


def weights(rule: Rule, ballots: Sequence[BallotCast]) -> dict[uuid.UUID, Fraction]:
    """Each voter's weight: 1, or under parity 1/(voters from their organisation).

    The lived-experience side of a double majority is weighed the same way among
    those members, so under parity no partner outweighs another there either.
    """
    if rule.counting == "per_member":
        return {b.member_id: Fraction(1) for b in ballots}
    per_org: dict[uuid.UUID, int] = defaultdict(int)
    for ballot in ballots:
        per_org[ballot.organisation_id] += 1
    return {b.member_id: Fraction(1, per_org[b.organisation_id]) for b in ballots}


def _share(rule: Rule, ballots: Sequence[BallotCast], supports: Callable[[BallotCast], bool]) -> Fraction:
    """The weighted share of ``ballots`` (not empty) that ``supports`` something."""
    weight = weights(rule, ballots)
    return sum((weight[b.member_id] for b in ballots if supports(b)), ZERO) / sum(weight.values(), ZERO)


def _contributions(question: Question, ballot: BallotCast) -> dict[str, int]:
    """How many units of its voter's weight a ballot gives each option (consent: each stance)."""
    choice = question.kind
    c = choice_of(ballot)
    if choice == "consent":
        return {c.stance or "abstain": 1}
    if choice == "choice":
        return {c.option: 1} if c.option else {}
    if choice == "multiple":
        return dict.fromkeys(c.options, 1)
    if choice in ("score", "dot"):
        return dict(c.scores)
    if choice == "time":
        return {slot: 1 for slot, answer in c.availability.items() if answer != "no"}
    return {}  # ranked is counted round by round


def _org_weights(rule: Rule, ballots: Sequence[BallotCast]) -> dict[uuid.UUID, Fraction]:
    """What one voter of each organisation weighs: 1, or under parity 1/(its voters)."""
    voters: dict[uuid.UUID, int] = defaultdict(int)
    for ballot in ballots:
        voters[ballot.organisation_id] += 1
    if rule.counting == "per_member":
        return dict.fromkeys(voters, Fraction(1))
    return {org: Fraction(1, n) for org, n in voters.items()}


def _combine(counts: dict[uuid.UUID, dict[str, int]], org_weight: dict[uuid.UUID, Fraction],
             keys: Sequence[str]) -> dict[str, Fraction]:
    """Weighted totals from whole-number counts per organisation: exact, and one product per organisation."""
    totals = dict.fromkeys(keys, ZERO)
    for org, per_option in counts.items():
        for option, units in per_option.items():
            if option in totals:
                totals[option] += org_weight[org] * units
    return totals


def _counts(question: Question, ballots: Sequence[BallotCast]) -> dict[uuid.UUID, dict[str, int]]:
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ballot in ballots:
        per_option = counts[ballot.organisation_id]
        for option, units in _contributions(question, ballot).items():
            per_option[option] += units
    return counts


def _quorum_gap(question: Question, ballots: Sequence[BallotCast]) -> list[uuid.UUID]:
    needed = question.rule.quorum_per_organisation
    if not needed:
        return []
    voters: dict[uuid.UUID, int] = defaultdict(int)
    for ballot in ballots:
        voters[ballot.organisation_id] += 1
    return [org for org in question.organisations if voters[org] < needed]


def _organisations(question: Question, ballots: Sequence[BallotCast]) -> tuple[OrganisationTally, ...]:
    orgs = list(question.organisations) + sorted(
        {b.organisation_id for b in ballots} - set(question.organisations), key=str
    )
    org_weight = _org_weights(question.rule, ballots)
    if question.kind == "ranked":
        counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for ballot in ballots:
            if choice_of(ballot).ranking:
                counts[ballot.organisation_id][choice_of(ballot).ranking[0]] += 1
    else:
        counts = _counts(question, ballots)
    voters: dict[uuid.UUID, int] = defaultdict(int)
    for ballot in ballots:
        voters[ballot.organisation_id] += 1
    return tuple(
        OrganisationTally(
            organisation_id=org, voters=voters[org],
            weight_per_voter=fraction_text(org_weight.get(org, ZERO)),
            per_option={k: fraction_text(org_weight[org] * v) for k, v in sorted(counts.get(org, {}).items())},
        )
        for org in orgs
    )


def _totals(question: Question, ballots: Sequence[BallotCast]) -> dict[str, Fraction]:
    keys = ["agree", "abstain", "disagree", "block"] if question.kind == "consent" else [o.id for o in question.options]
    return _combine(_counts(question, ballots), _org_weights(question.rule, ballots), keys)


def _top(totals: dict[str, Fraction], order: Sequence[str]) -> list[str]:
    best = max(totals.values(), default=ZERO)
    return [o for o in order if totals.get(o, ZERO) == best]


def _labels(question: Question) -> dict[str, str]:
    return {o.id: o.label for o in question.options}


def _consent(question: Question, ballots: Sequence[BallotCast], totals: dict[str, Fraction]) -> tuple[Result, str]:
    rule = question.rule
    blockers = [b for b in ballots if choice_of(b).stance == "block"]
    if blockers and rule.blocks_allowed:
        return "blocked", f"{len(blockers)} member(s) blocked it, and this rule lets a block stop a proposal"
    agree = totals["agree"]
    against = totals["disagree"] + (ZERO if rule.blocks_allowed else totals["block"])
    if agree + against == 0:
        return "rejected", "nobody agreed or disagreed (abstentions do not carry a proposal)"
    share = agree / (agree + against)
    if not rule.threshold.met(share):
        return "rejected", f"agreement was {share} of the weight that took a side; it needed {rule.threshold.describe()}"
    if rule.double_majority:
        lived = [b for b in ballots if b.lived_experience and choice_of(b).stance in ("agree", "disagree", "block")]
        if not lived:
            return "rejected", "no member with lived experience took a side, so there is no double majority"
        lived_share = _share(rule, lived, lambda b: choice_of(b).stance == "agree")
        if not rule.threshold.met(lived_share):
            return "rejected", (f"overall agreement was {share}, but among members with lived experience it was "
                                f"{lived_share}; a double majority needs {rule.threshold.describe()} in both")
    return "passed", f"agreement was {share} of the weight that took a side, {rule.threshold.describe()} was needed"


def _choice(
    question: Question, ballots: Sequence[BallotCast], totals: dict[str, Fraction]
) -> tuple[Result, tuple[str, ...], str]:
    rule = question.rule
    order = [o.id for o in question.options]
    cast = sum(totals.values(), ZERO)
    if cast == 0:
        return "rejected", (), "no ballots were cast"
    top = _top(totals, order)
    labels = _labels(question)
    if len(top) > 1:
        return "tie", tuple(top), f"{' and '.join(labels[t] for t in top)} tied with {totals[top[0]]} of the weight each"
    share = totals[top[0]] / cast
    if not rule.threshold.met(share):
        return "rejected", (), (f"the most supported option, {labels[top[0]]}, had {share} of the weight; "
                                f"it needed {rule.threshold.describe()}")
    if rule.double_majority:
        lived = [b for b in ballots if b.lived_experience and choice_of(b).option]
        lived_share = _share(rule, lived, lambda b: choice_of(b).option == top[0]) if lived else ZERO
        if not rule.threshold.met(lived_share):
            return "rejected", (), (f"{labels[top[0]]} had {share} overall but {lived_share} among members with lived "
                                    f"experience; a double majority needs {rule.threshold.describe()} in both")
    return "chosen", (top[0],), f"{labels[top[0]]} had {share} of the weight, {rule.threshold.describe()} was needed"


def _highest(question: Question, totals: dict[str, Fraction], seats: int, what: str) -> tuple[Result, tuple[str, ...], str]:
    order = sorted((o.id for o in question.options), key=lambda o: -totals[o])
    if not any(totals.values()):
        return "rejected", (), "no ballots were cast"
    chosen = order[:seats]
    boundary = totals[chosen[-1]]
    beyond = [o for o in order[seats:] if totals[o] == boundary]
    labels = _labels(question)
    if beyond:
        tied = [o for o in order if totals[o] == boundary]
        return "tie", tuple(tied), f"{', '.join(labels[t] for t in tied)} tied for the last place with {boundary} {what}"
    return "chosen", tuple(chosen), f"{', '.join(labels[c] for c in chosen)}: the highest {what}"


def _time(
    question: Question, ballots: Sequence[BallotCast], totals: dict[str, Fraction]
) -> tuple[Result, tuple[str, ...], str, dict[str, Fraction]]:
    firm: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ballot in ballots:
        for slot, answer in choice_of(ballot).availability.items():
            if answer == "yes":
                firm[ballot.organisation_id][slot] += 1
    yes = _combine(firm, _org_weights(question.rule, ballots), [o.id for o in question.options])
    if not any(totals.values()):
        return "rejected", (), "nobody could make any slot", yes
    order = [o.id for o in question.options]
    top = _top(totals, order)
    top = _top({o: yes[o] for o in top}, top)
    labels = _labels(question)
    if len(top) > 1:
        return "tie", tuple(top), f"{' and '.join(labels[t] for t in top)} suit the same weight of people, equally firmly", yes
    why = f"{labels[top[0]]} suits the most ({totals[top[0]]}, of which {yes[top[0]]} without reservation)"
    return "chosen", (top[0],), why, yes


def _ranked(question: Question, ballots: Sequence[BallotCast]
            ) -> tuple[Result, tuple[str, ...], tuple[str, ...], list[dict[str, Fraction]], str]:
    """Instant-runoff. The lowest is eliminated each round; a tie for lowest goes to whoever
    had less in the earliest round that separates them, then to the option listed later."""
    order = [o.id for o in question.options]
    org_weight = _org_weights(question.rule, ballots)
    continuing = list(order)
    rounds: list[dict[str, Fraction]] = []
    eliminated: list[str] = []
    labels = _labels(question)
    while True:
        firsts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        still = set(continuing)
        for ballot in ballots:
            for option in choice_of(ballot).ranking:
                if option in still:
                    firsts[ballot.organisation_id][option] += 1
                    break
        counts = _combine(firsts, org_weight, continuing)
        rounds.append(counts)
        active = sum(counts.values(), ZERO)
        if active == 0:
            return "rejected", (), tuple(continuing), rounds, "no ballot ranked any option"
        leader = max(continuing, key=lambda o: counts[o])
        if counts[leader] * 2 > active:
            ranking = (leader, *[o for o in continuing if o != leader], *reversed(eliminated))
            return "chosen", (leader,), ranking, rounds, (
                f"{labels[leader]} won in round {len(rounds)} with {counts[leader]} of {active} continuing weight")
        if len(continuing) == 2 or len(set(counts.values())) == 1:
            tied = tuple(o for o in continuing if counts[o] == counts[leader])
            if len(tied) > 1:
                return "tie", tied, (*tied, *reversed(eliminated)), rounds, (
                    f"{' and '.join(labels[t] for t in tied)} tied in round {len(rounds)}")
        lowest = min(counts.values())
        candidates = [o for o in continuing if counts[o] == lowest]
        for earlier in rounds:
            if len(candidates) == 1:
                break
            least = min(earlier[o] for o in candidates)
            candidates = [o for o in candidates if earlier[o] == least]
        loser = max(candidates, key=order.index)
        continuing.remove(loser)
        eliminated.append(loser)


def count(question: Question, ballots: Sequence[BallotCast]) -> Outcome:
    """The outcome of a closed proposal from its current ballots."""
    organisations = _organisations(question, ballots)
    counted = tuple(b.event_id for b in ballots)
    rounds: list[dict[str, Fraction]] = []
    extra: dict[str, dict[str, str]] = {}
    totals = _totals(question, ballots)
    ranking: tuple[str, ...]
    missing = _quorum_gap(question, ballots)
    if missing:
        result: Result = "no_quorum"
        chosen: tuple[str, ...] = ()
        why = (f"{len(missing)} partner organisation(s) had fewer than {question.rule.quorum_per_organisation} "
               "voter(s), so no decision can be taken")
        ranking = ()
    elif question.kind == "consent":
        result, why = _consent(question, ballots, totals)
        chosen, ranking = (), ()
    elif question.kind == "choice":
        result, chosen, why = _choice(question, ballots, totals)
        ranking = tuple(sorted(totals, key=lambda o: -totals[o]))
    elif question.kind == "ranked":
        result, chosen, ranking, rounds, why = _ranked(question, ballots)
        totals = dict(rounds[-1]) if rounds else totals
    elif question.kind == "time":
        result, chosen, why, yes = _time(question, ballots, totals)
        extra = {o: {"yes": fraction_text(yes[o])} for o in yes}
        ranking = tuple(sorted(totals, key=lambda o: (-totals[o], -yes[o])))
    else:
        seats = question.max_choices if question.kind == "multiple" else 1
        what = {"multiple": "support", "score": "total score", "dot": "dots"}[question.kind]
        result, chosen, why = _highest(question, totals, seats, what)
        ranking = tuple(sorted(totals, key=lambda o: -totals[o]))
    return Outcome(
        result=result,
        chosen=chosen,
        ranking=ranking,
        tally=tuple(OptionTally(option=k, weight=fraction_text(v), extra=extra.get(k, {})) for k, v in totals.items()),
        organisations=organisations,
        rounds=tuple({k: fraction_text(v) for k, v in r.items()} for r in rounds),
        rule=question.rule,
        counted_ballots=counted,
        explanation=(f"{_headline(result)}: {why}. Rule: {question.rule.describe(question.kind)}."
                     f"{_turnout(question, organisations)}"),
    )


def _turnout(question: Question, organisations: Sequence[OrganisationTally]) -> str:
    """Who took part, per partner (rules of edition 2 on; older recorded outcomes keep the words they were given)."""
    if not question.rule.explains_turnout:
        return ""
    listed = ", ".join(f"{o.organisation_id}: {o.voters} voter{'' if o.voters == 1 else 's'}" for o in organisations)
    return f" Turnout per partner organisation: {listed or 'none'}."


def _headline(result: Result) -> str:
    return {
        "passed": "Passed", "rejected": "Not passed", "blocked": "Blocked", "no_quorum": "No quorum",
        "tie": "Tie", "chosen": "Decided",
    }[result]
