"""decisions' event contract, and the kernel's reader of it: member tokens resolve from the group's events."""

from __future__ import annotations

import uuid

import msgspec

from services.decisions.domain.group import AddMember, CreateGroup, IssueToken, RevokeToken, group_decider, group_stream
from services.decisions.domain.rules import Rule
from services.decisions.events import CONTRACT, GroupEvent, Organisation, ProposalEvent
from shared.access.principals import Principal
from shared.access.roster import Members, member_token
from shared.access.tokens import token_digest
from shared.domain.decider import event_type_name
from shared.domain.ids import new_id
from shared.domain.specification import DeciderSpecification
from shared.eventlog.envelope import NewEvent
from shared.eventlog.memory import InMemoryEventStore
from tests.unit.decisions_fixtures import ORG_A, ORG_B, T0, uid

GID = uuid.UUID(int=8)


def test_the_contract_names_every_event_the_deciders_record_once_and_versioned() -> None:
    written = [*GroupEvent.__args__, *ProposalEvent.__args__]  # type: ignore[attr-defined]
    assert list(CONTRACT.types) == written
    names = [entry.name for entry in CONTRACT.catalogue()]
    assert len(set(names)) == len(names) and all(n.startswith("decisions.") for n in names)
    assert {entry.name: entry.version for entry in CONTRACT.catalogue() if entry.version != 1} == {
        "decisions.ProposalWithdrawn": 2}  # version 2: the withdrawing member's reason is personal
    personal = {entry.name: entry.personal for entry in CONTRACT.catalogue() if entry.personal}
    assert personal == {"decisions.MemberAdded": ("name",), "decisions.MemberUpdated": ("name",),
                        "decisions.BallotCast": ("reason",), "decisions.CommentAdded": ("text",),
                        "decisions.ProposalWithdrawn": ("reason",)}


async def test_the_kernels_members_resolve_a_token_from_decisions_events_until_it_is_revoked() -> None:
    token = member_token(GID, "secret")
    spec = DeciderSpecification(group_decider)
    history = spec.given_commands(
        CreateGroup(group_id=GID, name="Working group", rule=Rule(), at=T0,
                    organisations=(Organisation(ORG_A, "Changing Futures"), Organisation(ORG_B, "SCALE"))),
        AddMember(member_id=uid(1), name="Ada", organisation_id=ORG_A, lived_experience=True,
                  roles=("facilitator",), at=T0),
        IssueToken(member_id=uid(1), token_id=uid(50), token_hash=token_digest(token), at=T0),
    )
    store = InMemoryEventStore()

    async def record(events: list[GroupEvent], version: int) -> None:
        # as stored: the JSON the decider's events encode to, which the kernel decodes with its own structs
        await store.append(group_id=GID, stream_id=group_stream(GID), expected_version=version, events=[
            NewEvent(id=new_id(), type=event_type_name(e), data=msgspec.json.decode(msgspec.json.encode(e)))
            for e in events])

    await record(history.history, 0)
    members = Members(store)  # type: ignore[arg-type]  # it reads streams only
    assert await members.resolve(token) == Principal(kind="member", group_id=GID, member_id=uid(1),
                                                     organisation_id=ORG_A, roles=("facilitator",))
    assert await members.resolve(member_token(GID, "guessed")) is None
    await record(history.when(RevokeToken(token_id=uid(50), at=T0)).events, len(history.history))
    assert await members.resolve(token) is None
