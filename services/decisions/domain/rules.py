"""Decision rules are data, recorded with each proposal, so a replay uses the rule that was in force.

"Equal" is a choice a group makes, and these are its options: one member
one vote, or parity of organisations (each partner carries the same total
weight whatever its headcount); a threshold as an exact fraction; a quorum
from every partner; a double majority with members who have lived
experience; and whether a block stops a consent proposal.

Two forms: ``RuleIn`` is what a request may say (strict, bounded, with
defaults that depend on the counting), ``Rule`` is the rule as recorded in
the log, every field explicit. Equal by default: under organisation parity
a rule that does not name a quorum requires one voter from every partner.
A rule recorded before that default existed says ``quorum_per_organisation:
0`` explicitly, and its ``edition`` (absent, so 1) keeps its outcomes'
explanations as they were written, so every old outcome replays exactly.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Literal

import msgspec

from shared.domain.input import FrozenBody

Counting = Literal["per_member", "organisation_parity"]


class Threshold(msgspec.Struct, frozen=True, kw_only=True):
    """A share a result must reach: ``more than`` or ``at least`` numerator/denominator."""

    numerator: Annotated[int, msgspec.Meta(ge=0)] = 1
    denominator: Annotated[int, msgspec.Meta(ge=1)] = 2
    inclusive: bool = False

    def met(self, share: Fraction) -> bool:
        bar = Fraction(self.numerator, self.denominator)
        return share >= bar if self.inclusive else share > bar

    def describe(self) -> str:
        return f"{'at least' if self.inclusive else 'more than'} {self.numerator}/{self.denominator}"


EDITION = 2
"""The rulebook a new rule is recorded under. 1: before turnout was explained; 2: every outcome's explanation
states turnout per partner organisation."""


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """A rule as recorded (in ``GroupCreated``, ``DefaultRuleAdopted``, ``ProposalOpened``, ``Outcome``)."""

    counting: Counting = "per_member"
    threshold: Threshold = Threshold()
    quorum_per_organisation: Annotated[int, msgspec.Meta(ge=0, le=1000)] = 0
    double_majority: bool = False
    blocks_allowed: bool = True
    edition: int = 1
    """The rulebook it was recorded under (absent in rules recorded before editions: 1)."""

    @property
    def explains_turnout(self) -> bool:
        return self.edition >= 2

    def problem(self) -> tuple[str, str] | None:
        """(field, why) when the rule can never be applied, else None."""
        if self.threshold.numerator > self.threshold.denominator:
            return "rule.threshold", "the threshold cannot be more than the whole (numerator > denominator)"
        if self.threshold.numerator == self.threshold.denominator and not self.threshold.inclusive:
            return "rule.threshold", "no share can be more than the whole: use inclusive for unanimity"
        return None

    def describe(self, kind: str = "consent") -> str:
        """The rule in words, as it applies to a proposal of this kind."""
        parts = [
            "one member, one vote" if self.counting == "per_member"
            else "each partner organisation carries the same total weight",
        ]
        if kind in ("consent", "choice"):
            parts.append(f"a result needs {self.threshold.describe()} of the weight cast")
        elif kind == "ranked":
            parts.append("instant-runoff until an option has more than half of the continuing weight")
        else:
            parts.append("the highest total wins; an equal highest is a tie")
        if self.quorum_per_organisation:
            parts.append(f"at least {self.quorum_per_organisation} voter(s) from every partner")
        if self.double_majority:
            parts.append("and the same majority among members with lived experience")
        if kind == "consent":
            parts.append("a block stops the proposal" if self.blocks_allowed else "blocks count as disagreement")
        return "; ".join(parts)


class ThresholdIn(FrozenBody, frozen=True, kw_only=True):
    numerator: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1
    denominator: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 2
    inclusive: bool = False


class RuleIn(FrozenBody, frozen=True, kw_only=True):
    """A decision rule as a request states it; ``resolve`` gives the rule to record, every default made explicit."""

    counting: Counting = "per_member"
    threshold: ThresholdIn = ThresholdIn()
    quorum_per_organisation: Annotated[int, msgspec.Meta(ge=0, le=1000, description=(
        "voters needed from every partner organisation; when absent, 1 under organisation_parity "
        "(no decision unless every partner took part) and 0 per member"))] | None = None
    double_majority: bool = False
    blocks_allowed: bool = True

    def resolve(self) -> Rule:
        quorum = self.quorum_per_organisation
        if quorum is None:
            quorum = 1 if self.counting == "organisation_parity" else 0
        threshold = Threshold(numerator=self.threshold.numerator, denominator=self.threshold.denominator,
                              inclusive=self.threshold.inclusive)
        return Rule(counting=self.counting, threshold=threshold, quorum_per_organisation=quorum,
                    double_majority=self.double_majority, blocks_allowed=self.blocks_allowed, edition=EDITION)


def fraction_text(value: Fraction) -> str:
    """Exact fractions travel as text: ``"3/4"``, ``"1"``, ``"0"``."""
    return str(value)
