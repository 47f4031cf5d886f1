"""Given events, when a command, then events or an error: the one way deciders are tested.

Modelled on Emmett's ``DeciderSpecification``: a test states the history it
starts from, the command, and what must follow, so each test reads as a
sentence of the domain and cannot reach any I/O.

    spec = DeciderSpecification(proposal_decider)
    spec.given(opened).when(Cast(...)).then(BallotCast(...))
    spec.given(opened, closed).when(Cast(...)).then_fails(CommandRejected, "closed")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.domain.decider import Decider

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")


@dataclass(frozen=True)
class DeciderSpecification(Generic[C, S, E]):
    """Entry point: ``given`` the history a test starts from."""

    decider: Decider[C, S, E]

    def given(self, *events: E) -> Given[C, S, E]:
        return Given(self.decider, list(events))

    def given_commands(self, *commands: C) -> Given[C, S, E]:
        """A history made by deciding earlier commands in turn (each on the state the ones before left)."""
        state, history = self.decider.initial_state(), []
        for command in commands:
            decided = list(self.decider.decide(command, state))
            history.extend(decided)
            state = self.decider.fold(decided, state)
        return Given(self.decider, history)


@dataclass(frozen=True)
class Given(Generic[C, S, E]):
    decider: Decider[C, S, E]
    history: list[E]

    @property
    def state(self) -> S:
        """The state the history folds to (for assertions about state itself)."""
        return self.decider.fold(self.history)

    def when(self, command: C) -> When[C, S, E]:
        return When(self.decider, self.history, command)


@dataclass(frozen=True)
class When(Generic[C, S, E]):
    decider: Decider[C, S, E]
    history: list[E]
    command: C
    _outcome: list[object] = field(default_factory=list, repr=False)

    def _decide(self) -> Sequence[E] | BaseException:
        if not self._outcome:
            try:
                self._outcome.append(list(self.decider.decide(self.command, self.decider.fold(self.history))))
            except Exception as error:  # the specification reports whatever the decider raised
                self._outcome.append(error)
        found = self._outcome[0]
        assert isinstance(found, list | BaseException)
        return found

    @property
    def events(self) -> list[E]:
        """The events decided, for tests that inspect them field by field; fails if the decider refused."""
        outcome = self._decide()
        if isinstance(outcome, BaseException):
            raise AssertionError(f"expected events, the decider refused: {outcome!r}") from outcome
        return list(outcome)

    @property
    def state(self) -> S:
        """The state after the history and the decided events."""
        return self.decider.fold(self.events, self.decider.fold(self.history))

    def then(self, *expected: E) -> When[C, S, E]:
        """Exactly these events, in this order."""
        decided = self.events
        assert decided == list(expected), f"expected {list(expected)!r}, decided {decided!r}"
        return self

    def then_nothing(self) -> When[C, S, E]:
        """Nothing to record (a repeat that changes nothing, say)."""
        return self.then()

    def then_fails(self, error: type[BaseException], containing: str = "") -> BaseException:
        """The decider refused with this error, whose message contains ``containing``."""
        outcome = self._decide()
        if not isinstance(outcome, BaseException):
            raise AssertionError(f"expected {error.__name__}, decided {outcome!r}")
        assert isinstance(outcome, error), f"expected {error.__name__}, raised {outcome!r}"
        assert containing in str(outcome), f"expected {containing!r} in {str(outcome)!r}"
        return outcome
