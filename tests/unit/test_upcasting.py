"""Old stored events still decode, and a breaking change reads through its upcaster.

The fixtures in ``tests/fixtures/events/`` are payloads as earlier versions of
copro stored them; each is decoded by the current contract and folded by its
aggregate's decider. The upcaster hook is shown on a small event of this test's
own: version 2 renamed a field, and a version 1 payload still decodes.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from services.decisions.domain.group import group_decider
from services.decisions.domain.proposal import proposal_decider
from services.decisions.events import BallotCast, GroupCreated, TokenIssued
from services.publishing.domain.webhooks import webhook_decider
from services.publishing.events import WebhookRegistered
from services.scheduling.events import AttendeeRegistered
from shared.domain.contract import EventContract, Upcaster, Versioned, decoder_for
from shared.domain.decider import Decider
from shared.domain.fingerprints import fingerprint
from shared.eventlog.envelope import Metadata, RecordedEvent
from shared.runtime.discovery import contracts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
ALL = [p for p in sorted(FIXTURES.glob("*.json"))]


class Stored(msgspec.Struct):
    data: bytes


def stored(name: str) -> Stored:
    return Stored((FIXTURES / f"{name}.json").read_bytes().strip())


def union() -> Any:
    types = [t for c in contracts() for t in c.types]
    out: Any = types[0]
    for t in types[1:]:
        out = out | t
    return out


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_stored_fixture_decodes_with_the_current_contract(path: Path) -> None:
    event = decoder_for(union()).decode(path.read_bytes())
    assert event.__struct_config__.tag == json.loads(path.read_bytes())["type"]
    assert len(ALL) >= 6


def test_a_rule_from_before_editions_keeps_its_meaning_and_a_token_from_before_expiry_never_expires() -> None:
    events = [group_decider.decode(stored(n)) for n in (
        "decisions.GroupCreated.before-rule-edition", "decisions.MemberAdded", "decisions.TokenIssued.before-expiry")]
    created, token = events[0], events[2]
    assert isinstance(created, GroupCreated) and created.rule.edition == 1 and created.rule.quorum_per_organisation == 0
    assert isinstance(token, TokenIssued) and token.expires_at is None
    group = group_decider.fold(events)
    assert group.tokens[token.token_id][0] == token.member_id and len(group.members) == 1


def test_a_ballot_from_before_sealing_reads_as_an_open_ballot() -> None:
    ballot = proposal_decider.decode(stored("decisions.BallotCast.before-sealing"))
    assert isinstance(ballot, BallotCast)
    assert ballot.seal is None and ballot.sealed is None and ballot.choice is not None
    assert ballot.choice.stance == "agree"


def test_a_webhook_that_held_its_secret_decodes_without_it() -> None:
    registered = webhook_decider.decode(stored("publishing.WebhookRegistered.with-secret"))
    assert isinstance(registered, WebhookRegistered) and registered.secret_fingerprint is None
    assert webhook_decider.fold([registered]).live


def test_a_version_1_registration_reads_with_its_urls_fingerprint_not_the_url() -> None:
    registered = webhook_decider.decode(stored("publishing.WebhookRegistered.with-url"))
    assert isinstance(registered, WebhookRegistered)
    assert registered.endpoint_fingerprint == fingerprint("https://partner.example.org/copro?token=partners-own")
    assert "url" not in msgspec.structs.asdict(registered) and webhook_decider.fold([registered]).live


def test_a_registration_from_before_registrants_has_no_owner() -> None:
    event = decoder_for(AttendeeRegistered).decode(stored("scheduling.AttendeeRegistered.before-registrants").data)
    assert event.by is None and event.name is None


# -- the hook: a breaking change, version 2, and its upcaster ------------------------------------------


def _renamed(payload: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in payload.items() if k != "label"}
    return {**out, "title": payload["label"], "tags": payload.get("tags", "").split(",") if payload.get("tags") else []}


class Noted(Versioned, frozen=True, kw_only=True, tag="test.Noted"):
    """Version 2 renamed ``label`` to ``title`` and made ``tags`` a list (it was a comma-separated string)."""

    __version__ = 2
    __upcasters__ = (Upcaster(2, stored_before=lambda p: "label" in p, upcast=_renamed),)
    title: str
    tags: list[str]
    at: datetime


class Cleared(Versioned, frozen=True, kw_only=True, tag="test.Cleared"):
    at: datetime


NOTED_V1 = b'{"type":"test.Noted","label":"Venue","tags":"hall,access","at":"2025-01-01T00:00:00Z"}'
NOTED_V2 = b'{"type":"test.Noted","title":"Venue","tags":["hall","access"],"at":"2025-01-01T00:00:00Z"}'


def test_a_decider_reads_a_version_1_payload_through_its_upcaster() -> None:
    decider: Decider[Any, list[str], Any] = Decider(
        initial_state=list, decide=lambda c, s: [], evolve=lambda s, e: [*s, *getattr(e, "tags", [])],
        event_type=Noted | Cleared)
    old, new = decider.decode(Stored(NOTED_V1)), decider.decode(Stored(NOTED_V2))
    assert old == new and isinstance(old, Noted) and old.title == "Venue" and old.tags == ["hall", "access"]
    assert decider.decode(Stored(b'{"type":"test.Cleared","at":"2025-01-01T00:00:00Z"}')).at.year == 2025
    assert decider.fold([old, new]) == ["hall", "access", "hall", "access"]
    recorded = RecordedEvent(
        id=uuid.uuid4(), group_id=uuid.uuid4(), stream_id="s", stream_version=1, position=1, type="test.Noted",
        data=msgspec.Raw(NOTED_V1), metadata=Metadata(), recorded_at=datetime(2025, 1, 1),
        content_hash=b"", chain_hash=b"")
    assert recorded.decode(Noted) == new  # a reader in another service upcasts the same way


def test_without_its_upcaster_the_old_payload_would_not_decode() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(NOTED_V1, type=Noted)


def test_a_contract_refuses_a_new_version_without_an_upcaster() -> None:
    class Broken(Versioned, frozen=True, kw_only=True, tag="test.Broken"):
        __version__ = 3
        __upcasters__ = (Upcaster(2, stored_before=lambda p: True, upcast=lambda p: p),)
        at: datetime

    with pytest.raises(TypeError, match="one upcaster to each version"):
        EventContract("test", [Broken])
    EventContract("test", [Noted, Cleared])  # version 2 with its upcaster: accepted


def test_a_private_field_must_be_personal() -> None:
    """Private (no general reader sees it) only ever narrows personal (encrypted, erasable)."""

    class Loose(Versioned, frozen=True, kw_only=True, tag="test.Loose"):
        __private__ = ("note",)
        note: str | None
        at: datetime

    with pytest.raises(TypeError, match="a private field is a personal field too"):
        EventContract("test", [Loose])
