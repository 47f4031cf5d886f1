"""The given/when/then helper must itself fail when a decider does something else than stated."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest

from shared.domain.decider import Decider
from shared.domain.errors import CommandRejected
from shared.domain.specification import DeciderSpecification


class Add(msgspec.Struct, tag="Add"):
    amount: int


class Added(msgspec.Struct, tag="test.Added"):
    amount: int


def decide(command: Add, total: int) -> Sequence[Added]:
    if total + command.amount > 10:
        raise CommandRejected("over ten")
    return [Added(command.amount)] if command.amount else []


counter: Decider[Add, int, Added] = Decider(initial_state=lambda: 0, decide=decide,
                                            evolve=lambda total, e: total + e.amount, event_type=Added)
spec = DeciderSpecification(counter)


def test_then_passes_on_the_decided_events_and_folds_state() -> None:
    step = spec.given(Added(4)).when(Add(3)).then(Added(3))
    assert step.state == 7
    assert spec.given_commands(Add(2), Add(5)).state == 7
    spec.given(Added(1)).when(Add(0)).then_nothing()


def test_then_fails_on_other_events() -> None:
    with pytest.raises(AssertionError, match="expected"):
        spec.given().when(Add(3)).then(Added(4))


def test_then_fails_names_the_refusal_and_fails_when_there_is_none() -> None:
    spec.given(Added(9)).when(Add(2)).then_fails(CommandRejected, "over ten")
    with pytest.raises(AssertionError, match="expected CommandRejected"):
        spec.given().when(Add(2)).then_fails(CommandRejected)
    with pytest.raises(AssertionError, match="refused"):
        spec.given(Added(9)).when(Add(2)).then(Added(2))
