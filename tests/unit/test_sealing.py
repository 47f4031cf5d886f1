"""Sealed fields, pure: what the store does to a sealed ballot's bytes and what a partner does to open them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest

from services.decisions.domain.proposal import Cast, proposal_decider
from services.decisions.domain.tally import count
from services.decisions.events import BallotCast, Choice, ProposalClosed, ProposalWithdrawn
from shared.domain.specification import DeciderSpecification
from shared.eventlog import personal, sealing
from tests.unit.decisions_fixtures import T0, open_command, options, voter

PID = uuid.UUID(int=9)
EVENT = uuid.UUID(int=7001)
DURING = T0 + timedelta(days=1)
spec = DeciderSpecification(proposal_decider)


def ballot(seal: uuid.UUID | None = PID) -> BallotCast:
    return BallotCast(event_id=EVENT, proposal_id=PID, member_id=uuid.UUID(int=1001), organisation_id=uuid.UUID(int=1),
                      lived_experience=True, choice=Choice(option="library"), reason="steps", seal=seal, at=DURING)


def stored(data: BallotCast, key: bytes) -> bytes:
    """The store's steps for a new event: personal fields first, then the seal."""
    payload = personal.encode_payload(data, EVENT, personal.new_key())
    sealed = sealing.seal_of(data)
    return payload if sealed is None else sealing.seal_payload(payload, EVENT, *sealed, key)


@pytest.mark.parametrize("visibility", ["after_vote", "after_close"])
def test_a_ballot_under_hidden_results_is_sealed_with_its_proposals_key(visibility: str) -> None:
    given = spec.given_commands(open_command("choice", options("Hall", "Library"), visibility=visibility))
    cast = Cast(event_id=EVENT, voter=voter(1), choice=Choice(option="hall"), reason=None, at=DURING)
    [event] = given.when(cast).events
    assert isinstance(event, BallotCast) and event.seal == PID and event.choice == Choice(option="hall")
    [plain] = spec.given_commands(open_command("choice", options("Hall", "Library"))).when(cast).events
    assert isinstance(plain, BallotCast) and plain.seal is None  # open visibility: nothing to seal


def test_sealed_bytes_hide_choice_and_reason_and_open_with_the_released_key_only() -> None:
    key = sealing.new_key()
    payload = stored(ballot(), key)
    assert b"library" not in payload and b"steps" not in payload
    data = msgspec.json.decode(payload)
    assert data["choice"] is None and data["reason"] is None and data["seal"] == str(PID)
    assert sealing.seal_in(payload) == PID
    assert sealing.unseal(payload, EVENT, {}) == payload  # no key: stays sealed
    assert sealing.unseal(payload, EVENT, {PID: sealing.new_key()}) == payload  # a wrong key opens nothing
    assert sealing.unseal(payload, uuid.UUID(int=1), {PID: key}) == payload  # moved into another event: neither
    opened = msgspec.json.decode(sealing.unseal(payload, EVENT, {PID: key}), type=BallotCast)
    assert opened.choice == Choice(option="library") and opened.sealed is None
    assert opened.reason is not None and opened.reason.startswith("pii:v1:")  # the person's key still guards it
    assert stored(ballot(seal=None), key).count(b"library") == 1  # unsealed ballots are stored as before


def test_a_close_and_a_withdrawal_carry_the_key_that_anyone_reads_back() -> None:
    key = sealing.new_key()
    assert sealing.release_of(ballot()) is None
    outcome = count(spec.given_commands(open_command("choice", options("Hall", "Library"))).state.question(), [])
    closing = ProposalClosed(proposal_id=PID, group_id=uuid.UUID(int=8), by=None, at=DURING, outcome=outcome)
    withdrawn = ProposalWithdrawn(proposal_id=PID, by=uuid.UUID(int=1001), reason="moved", at=DURING)
    for event in (closing, withdrawn):
        assert sealing.release_of(event) == PID
        payload = sealing.with_released_key(msgspec.json.encode(event), PID, key)
        assert sealing.released_key(payload) == (PID, key)
        assert msgspec.json.decode(payload, type=type(event)).seal_key is not None
    assert sealing.released_key(msgspec.json.encode(closing)) is None


def test_text_that_looks_sealed_is_not_mistaken_for_a_seal() -> None:
    lookalike = msgspec.json.encode({"title": f'"sealed":"sealed:v1:{PID}:AAAA', "seal_key": None})
    assert sealing.seal_in(lookalike) is None
    assert sealing.unseal(lookalike, EVENT, {PID: sealing.new_key()}) == lookalike
    assert sealing.released_key(lookalike) is None


def test_a_sealed_ballots_length_does_not_tell_what_it_says() -> None:
    key = sealing.new_key()
    agree = msgspec.structs.replace(ballot(), choice=Choice(stance="agree"), reason=None)
    block = msgspec.structs.replace(ballot(), choice=Choice(stance="block"), reason="not without step-free access")
    abstain = msgspec.structs.replace(ballot(), choice=Choice(stance="abstain"), reason=None)
    sizes = {len(msgspec.json.decode(stored(b, key))["sealed"]) for b in (agree, block, abstain)}
    assert len(sizes) == 1
