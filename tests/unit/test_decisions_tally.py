"""Given ballots and a rule, then this outcome: every kind, every rule, ties and edge cases."""

from __future__ import annotations

from fractions import Fraction

from services.decisions.domain.rules import Rule, Threshold
from services.decisions.domain.tally import count
from services.decisions.events import Choice
from tests.unit.decisions_fixtures import ORG_A, ORG_B, ORG_C, ballot, options, question, slots

AGREE, DISAGREE, ABSTAIN, BLOCK = (Choice(stance=s) for s in ("agree", "disagree", "abstain", "block"))  # type: ignore[arg-type]


def tally_of(outcome, option: str) -> Fraction:  # type: ignore[no-untyped-def]
    return Fraction(next(t.weight for t in outcome.tally if t.option == option))


def test_consent_passes_with_a_majority_of_those_taking_a_side() -> None:
    outcome = count(question("consent"), [ballot(1, AGREE), ballot(2, AGREE), ballot(3, DISAGREE, reason="cost"),
                                          ballot(4, ABSTAIN)])
    assert outcome.result == "passed"
    assert tally_of(outcome, "agree") == 2 and tally_of(outcome, "abstain") == 1
    assert "2/3" in outcome.explanation
    assert outcome.counted_ballots == tuple(ballot(n, AGREE).event_id for n in (1, 2, 3, 4))


def test_consent_exactly_half_is_not_more_than_half_but_is_at_least_half() -> None:
    ballots = [ballot(1, AGREE), ballot(2, DISAGREE, reason="no")]
    assert count(question("consent"), ballots).result == "rejected"
    at_least = Rule(threshold=Threshold(numerator=1, denominator=2, inclusive=True))
    assert count(question("consent", rule=at_least), ballots).result == "passed"


def test_a_single_block_stops_consent_while_blocks_are_allowed() -> None:
    ballots = [ballot(n, AGREE) for n in range(1, 9)] + [ballot(9, BLOCK, reason="unsafe for members")]
    assert count(question("consent"), ballots).result == "blocked"
    no_blocks = Rule(blocks_allowed=False)
    outcome = count(question("consent", rule=no_blocks), ballots)
    assert outcome.result == "passed" and "blocks count as disagreement" in outcome.explanation


def test_abstentions_alone_do_not_carry_a_proposal() -> None:
    assert count(question("consent"), [ballot(1, ABSTAIN)]).result == "rejected"
    assert count(question("consent"), []).result == "rejected"


def test_organisation_parity_and_per_member_give_different_results() -> None:
    # organisation A has 4 members who agree; B and C have one member each who disagrees
    ballots = [ballot(n, AGREE, ORG_A) for n in range(1, 5)] + [
        ballot(5, DISAGREE, ORG_B, reason="not yet"), ballot(6, DISAGREE, ORG_C, reason="not yet")]
    assert count(question("consent", rule=Rule(counting="per_member")), ballots).result == "passed"
    parity = count(question("consent", rule=Rule(counting="organisation_parity")), ballots)
    assert parity.result == "rejected"
    assert tally_of(parity, "agree") == 1 and tally_of(parity, "disagree") == 2
    by_org = {o.organisation_id: o for o in parity.organisations}
    assert by_org[ORG_A].weight_per_voter == "1/4" and by_org[ORG_B].weight_per_voter == "1"


def test_quorum_per_organisation() -> None:
    rule = Rule(quorum_per_organisation=1)
    ballots = [ballot(1, AGREE, ORG_A), ballot(2, AGREE, ORG_B)]
    outcome = count(question("consent", rule=rule), ballots)
    assert outcome.result == "no_quorum" and "1 partner organisation" in outcome.explanation
    assert count(question("consent", rule=rule), [*ballots, ballot(3, ABSTAIN, ORG_C)]).result == "passed"


def test_double_majority_fails_when_lived_experience_members_disagree() -> None:
    rule = Rule(double_majority=True)
    ballots = [ballot(n, AGREE, lived=False) for n in range(1, 6)] + [
        ballot(6, DISAGREE, lived=True, reason="r"), ballot(7, DISAGREE, lived=True, reason="r"),
        ballot(8, AGREE, lived=True)]
    assert count(question("consent"), ballots).result == "passed"
    outcome = count(question("consent", rule=rule), ballots)
    assert outcome.result == "rejected" and "lived experience" in outcome.explanation
    assert count(question("consent", rule=rule), [ballot(1, AGREE)]).result == "rejected"  # no lived voter at all


def test_choice_needs_its_threshold_and_reports_ties() -> None:
    opts = options("March", "April", "May")
    pick = [Choice(option=o) for o in ("march", "april", "may")]
    plurality = Rule(threshold=Threshold(numerator=0, denominator=1))
    ballots = [ballot(1, pick[0]), ballot(2, pick[0]), ballot(3, pick[1]), ballot(4, pick[2])]
    assert count(question("choice", opts), ballots).result == "rejected"  # 1/2 is not more than 1/2
    chosen = count(question("choice", opts, rule=plurality), ballots)
    assert (chosen.result, chosen.chosen) == ("chosen", ("march",))
    tie = count(question("choice", opts, rule=plurality), [ballot(1, pick[0]), ballot(2, pick[1])])
    assert (tie.result, tie.chosen) == ("tie", ("march", "april"))


def test_choice_double_majority() -> None:
    opts = options("Online", "In person")
    rule = Rule(double_majority=True)
    ballots = [ballot(n, Choice(option="online")) for n in range(1, 6)] + [
        ballot(n, Choice(option="in person"), lived=True) for n in range(6, 9)]
    assert count(question("choice", opts), ballots).result == "chosen"
    assert count(question("choice", opts, rule=rule), ballots).result == "rejected"


def test_multiple_chooses_the_top_n_and_reports_a_tie_at_the_boundary() -> None:
    opts = options("Food", "Venue", "Music", "Badges")
    ballots = [ballot(1, Choice(options=("food", "venue"))), ballot(2, Choice(options=("food", "music"))),
               ballot(3, Choice(options=("venue", "food")))]
    outcome = count(question("multiple", opts, max_choices=2), ballots)
    assert (outcome.result, outcome.chosen) == ("chosen", ("food", "venue"))
    tie = count(question("multiple", opts, max_choices=2), ballots[:2])
    assert tie.result == "tie" and set(tie.chosen) == {"venue", "music"}


def test_ranked_instant_runoff_transfers_eliminated_votes() -> None:
    opts = options("Alpha", "Bravo", "Charlie")
    ranks = {
        1: ("alpha", "charlie"), 2: ("alpha", "charlie"), 3: ("bravo", "charlie"), 4: ("bravo", "alpha"),
        5: ("charlie", "bravo"),
    }
    ballots = [ballot(n, Choice(ranking=r)) for n, r in ranks.items()]
    outcome = count(question("ranked", opts), ballots)
    # round 1: alpha 2, bravo 2, charlie 1 -> charlie out, its ballot goes to bravo: bravo 3 of 5
    assert (outcome.result, outcome.chosen) == ("chosen", ("bravo",))
    assert outcome.rounds[0] == {"alpha": "2", "bravo": "2", "charlie": "1"}
    assert outcome.rounds[1] == {"alpha": "2", "bravo": "3"}
    assert outcome.ranking == ("bravo", "alpha", "charlie")


def test_ranked_tie_for_last_goes_by_earlier_rounds_then_listing_and_a_final_tie_is_a_tie() -> None:
    opts = options("Alpha", "Bravo", "Charlie", "Delta")
    ballots = [ballot(1, Choice(ranking=("alpha",))), ballot(2, Choice(ranking=("bravo",))),
               ballot(3, Choice(ranking=("charlie", "alpha"))), ballot(4, Choice(ranking=("delta", "bravo")))]
    outcome = count(question("ranked", opts), ballots)
    # all tied at 1 in round 1: a tie among every continuing option is reported, not broken
    assert outcome.result == "tie" and len(outcome.rounds) == 1
    two_way = count(question("ranked", options("Alpha", "Bravo")), ballots[:2])
    assert (two_way.result, set(two_way.chosen)) == ("tie", {"alpha", "bravo"})
    ballots.append(ballot(5, Choice(ranking=("alpha",))))
    # alpha 2, others 1: bravo, charlie and delta tie for last; delta is listed last and goes first
    outcome = count(question("ranked", opts), ballots)
    assert list(outcome.rounds[1]) == ["alpha", "bravo", "charlie"]
    assert outcome.result == "chosen" and outcome.chosen == ("alpha",)


def test_score_and_dot_sum_weighted_points() -> None:
    opts = options("Quiet room", "Big hall")
    ballots = [ballot(1, Choice(scores={"quiet room": 5, "big hall": 1})),
               ballot(2, Choice(scores={"quiet room": 2, "big hall": 4}))]
    outcome = count(question("score", opts), ballots)
    assert outcome.chosen == ("quiet room",) and tally_of(outcome, "quiet room") == 7
    dots = count(question("dot", opts), [ballot(1, Choice(scores={"big hall": 3})),
                                         ballot(2, Choice(scores={"quiet room": 3}))])
    assert dots.result == "tie"


def test_time_picks_the_slot_most_can_make_preferring_firm_yeses() -> None:
    opts = slots(3)
    ballots = [ballot(1, Choice(availability={"s0": "yes", "s1": "if_need_be"})),
               ballot(2, Choice(availability={"s0": "if_need_be", "s1": "yes", "s2": "yes"})),
               ballot(3, Choice(availability={"s1": "yes", "s2": "no"}))]
    outcome = count(question("time", opts), ballots)
    assert (outcome.result, outcome.chosen) == ("chosen", ("s1",))
    even = count(question("time", opts), ballots[:2])
    # s0 and s1 both suit 2, each with one firm yes: a tie, named
    assert (even.result, set(even.chosen)) == ("tie", {"s0", "s1"})


def test_parity_weights_are_exact_fractions_never_floats() -> None:
    ballots = [ballot(n, AGREE, ORG_A) for n in range(1, 4)] + [ballot(4, DISAGREE, ORG_B, reason="r")]
    outcome = count(question("consent", rule=Rule(counting="organisation_parity")), ballots)
    assert tally_of(outcome, "agree") == 1 and outcome.organisations[0].weight_per_voter == "1/3"
    assert all("." not in t.weight for t in outcome.tally)
