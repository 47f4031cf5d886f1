"""The decisions deciders run by the kernel's command handler, on the in-memory log (no PostgreSQL).

Two replicas or two members acting at once meet at the log's expected-version
check: the loser reloads, decides again on what the winner recorded, and
either succeeds or is refused by the domain, never overwrites. A write
repeated with its ``Idempotency-Key`` is stored once and answered the same.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from services.decisions.domain.proposal import Cast, Close, proposal_decider, proposal_stream
from services.decisions.events import BallotCast, Choice, ProposalClosed
from shared.domain.decider import event_type_name
from shared.domain.errors import CommandRejected, ConcurrencyConflict, IdempotencyMismatch
from shared.eventlog.envelope import AppendResult, Metadata, NewEvent
from shared.eventlog.handler import Idempotency, StateCache, execute, handle
from shared.eventlog.memory import InMemoryEventStore
from tests.unit.decisions_fixtures import T0, open_command, uid, voter

GROUP = uuid.UUID(int=8)
PROPOSAL = uuid.UUID(int=9)
STREAM = proposal_stream(PROPOSAL)
DURING = T0 + timedelta(days=1)
AFTER = T0 + timedelta(days=8)


def cast(n: int, stance: str = "agree", event_id: int | None = None) -> Cast:
    return Cast(event_id=uuid.UUID(int=event_id or 7000 + n), voter=voter(n), choice=Choice(stance=stance),  # type: ignore[arg-type]
                reason=None, at=DURING)


def stored(event: Any) -> NewEvent:
    return NewEvent(id=getattr(event, "event_id", None) or uuid.uuid4(), type=event_type_name(event), data=event)


class Contended(InMemoryEventStore):
    """A log where another writer (a second replica, another member) appends ``rival`` to the stream
    just before this process's next append there, as if both had read the same version."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: Any = None

    async def append(self, **given: Any) -> AppendResult:
        if self.rival is not None and given["stream_id"] == STREAM:
            rival, self.rival = self.rival, None
            await super().append(group_id=GROUP, stream_id=STREAM, events=[stored(rival)],
                                 expected_version=len(self.streams[STREAM]))
        return await super().append(**given)


async def opened_proposal() -> Contended:
    store = Contended()
    [opened] = proposal_decider.decide(open_command(), proposal_decider.initial_state())
    await store.append(group_id=GROUP, stream_id=STREAM, events=[stored(opened)], expected_version=0)
    return store


def ballot_of(n: int) -> BallotCast:
    """Member ``n``'s ballot, decided by another process on the freshly opened proposal."""
    opened = proposal_decider.fold(proposal_decider.decide(open_command(), proposal_decider.initial_state()))
    [event] = proposal_decider.decide(cast(n), opened)
    assert isinstance(event, BallotCast)
    return event


async def test_two_members_voting_at_once_both_count_the_loser_retries_on_the_newer_state() -> None:
    store = await opened_proposal()
    store.rival = ballot_of(2)
    cache: StateCache[Any] = StateCache()
    done = await handle(store, proposal_decider, cast(1), group_id=GROUP, stream_id=STREAM, cache=cache)
    assert done.version == 3 and set(done.state.ballots) == {uid(1), uid(2)}
    assert [r.type for r in await store.read_stream(STREAM)] == [
        "decisions.ProposalOpened", "decisions.BallotCast", "decisions.BallotCast"]
    assert cache.get(STREAM) == (3, done.state)


async def test_a_conflict_on_the_last_attempt_reaches_the_caller() -> None:
    store = await opened_proposal()
    store.rival = ballot_of(2)
    with pytest.raises(ConcurrencyConflict):
        await handle(store, proposal_decider, cast(1), group_id=GROUP, stream_id=STREAM, attempts=1)
    assert len(await store.read_stream(STREAM)) == 2  # the rival's ballot only: nothing overwritten


async def test_two_replicas_closing_at_once_close_it_once() -> None:
    store = await opened_proposal()
    await handle(store, proposal_decider, cast(1), group_id=GROUP, stream_id=STREAM)
    [rival] = proposal_decider.decide(Close(by=None, at=AFTER), proposal_decider.fold(
        proposal_decider.decode(r) for r in await store.read_stream(STREAM)))
    assert isinstance(rival, ProposalClosed)
    store.rival = rival
    with pytest.raises(CommandRejected, match="closed"):
        await handle(store, proposal_decider, Close(by=None, at=AFTER), group_id=GROUP, stream_id=STREAM)
    types = [r.type for r in await store.read_stream(STREAM)]
    assert types.count("decisions.ProposalClosed") == 1


async def test_a_ballot_repeated_with_its_idempotency_key_is_stored_once_and_answered_the_same() -> None:
    store = await opened_proposal()
    once = Idempotency(key="ballot-1", scope=f"{GROUP}:{uid(1)}", request_hash=b"POST ballots agree")
    first = await execute(store, proposal_decider, cast(1, event_id=1), group_id=GROUP, stream_id=STREAM,
                          metadata=Metadata(), once=once)
    # a repeat is a new request: the shell picks new ids, and still gets the first answer
    again = await execute(store, proposal_decider, cast(1, event_id=2), group_id=GROUP, stream_id=STREAM,
                          metadata=Metadata(), once=once)
    assert again == first
    [ballot] = first[1]
    assert isinstance(ballot, BallotCast) and ballot.event_id == uuid.UUID(int=1)
    assert len(await store.read_stream(STREAM)) == 2
    other = Idempotency(key="ballot-1", scope=once.scope, request_hash=b"POST ballots abstain")
    with pytest.raises(IdempotencyMismatch):
        await execute(store, proposal_decider, cast(1, "abstain", event_id=3), group_id=GROUP, stream_id=STREAM,
                      metadata=Metadata(), once=other)
    elsewhere = Idempotency(key="ballot-1", scope=f"{GROUP}:{uid(2)}", request_hash=b"POST ballots agree")
    _, [theirs] = await execute(store, proposal_decider, cast(2, event_id=4), group_id=GROUP, stream_id=STREAM,
                                metadata=Metadata(), once=elsewhere)
    assert isinstance(theirs, BallotCast) and theirs.member_id == uid(2)  # the same key of another member is theirs
    assert len(await store.read_stream(STREAM)) == 3
