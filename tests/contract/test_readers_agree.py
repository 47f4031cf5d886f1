"""Every reader of another service's events agrees with the writer's published contract.

A service never imports another: it decodes the published JSON with a small
struct of its own. Here each such reader decodes events its writer encoded,
for generated examples of every shape the writer's types allow, and every
field it reads must equal the writer's. A writer that renames or retypes a
field a reader depends on fails this test, not production.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, get_type_hints

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.decisions import events as decisions
from services.decisions import subscriptions as decisions_reads
from services.decisions.domain import rules
from services.decisions.domain.group import group_decider, group_stream
from services.decisions.domain.proposal import proposal_stream
from services.publishing import events as publishing
from services.publishing import subscriptions as publishing_reads
from services.scheduling import subscriptions as scheduling_reads
from shared.access import roster

PAIRS: list[tuple[str, type[Any], type[Any]]] = [
    ("the kernel's roster", roster._Created, decisions.GroupCreated),
    ("the kernel's roster", roster._Member, decisions.MemberAdded),
    ("the kernel's roster", roster._Updated, decisions.MemberUpdated),
    ("the kernel's roster", roster._Removed, decisions.MemberRemoved),
    ("the kernel's roster", roster._Forgotten, decisions.MemberForgotten),
    ("the kernel's roster", roster._Issued, decisions.TokenIssued),
    ("the kernel's roster", roster._SignedIn, decisions.SignedIn),
    ("the kernel's roster", roster._Revoked, decisions.TokenRevoked),
    ("the kernel's roster", roster._ZoneChanged, decisions.TimeZoneChanged),
    ("scheduling", scheduling_reads._Closed, decisions.ProposalClosed),
    ("scheduling", scheduling_reads._Opened, decisions.ProposalOpened),
    ("publishing", publishing_reads.ProposalClosed, decisions.ProposalClosed),
    ("publishing", publishing_reads.ProposalWithdrawn, decisions.ProposalWithdrawn),
    ("decisions", decisions_reads.PublicationRequested, publishing.PublicationRequested),
]


def _register_structs(*modules: Any) -> None:
    """Draw every field of the writers' structs from its type, defaults included (hypothesis would pass a
    default factory itself as the value)."""
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, msgspec.Struct) and value.__module__ == module.__name__:
                hints = get_type_hints(value, include_extras=True)
                fields = {f.name: st.from_type(hints[f.name]) for f in msgspec.structs.fields(value)}
                st.register_type_strategy(value, st.builds(value, **fields))


_register_structs(decisions, publishing, rules)


def _agrees(read: Any, written: Any, path: str) -> None:
    """Every value the reader holds equals the writer's at the same place (the reader may hold less)."""
    if isinstance(read, dict):
        assert isinstance(written, dict), f"{path}: the reader expects an object"
        for key, value in read.items():
            if key == "type" and key not in written:
                continue
            assert key in written, f"{path}.{key}: the writer has no such field"
            _agrees(value, written[key], f"{path}.{key}")
    elif isinstance(read, list):
        assert isinstance(written, list) and len(read) == len(written), f"{path}: lists differ"
        for n, (r, w) in enumerate(zip(read, written, strict=True)):
            _agrees(r, w, f"{path}[{n}]")
    else:
        assert read == written, f"{path}: read {read!r}, written {written!r}"


@pytest.mark.parametrize(("reader_name", "reader", "writer"), PAIRS,
                         ids=[f"{r.__name__}<-{w.__name__}" for _, r, w in PAIRS])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reader_decodes_what_the_writer_publishes(reader_name: str, reader: type[Any], writer: type[Any],
                                                  data: st.DataObject) -> None:
    example = data.draw(st.from_type(writer))
    published = msgspec.json.encode(example)
    decoded = msgspec.json.decode(published, type=reader)
    as_read = msgspec.json.decode(msgspec.json.encode(decoded))  # the reader's view, as plain JSON values
    _agrees(as_read, msgspec.json.decode(published), f"{reader_name} {writer.__name__}")


def test_readers_name_the_writers_streams() -> None:
    """Stream ids travel with every event (``ce-streamid``): readers that load a writer's stream spell it as the writer."""
    some = uuid.uuid4()
    assert f"{roster.DECISIONS_GROUP_STREAM}{some}" == group_stream(some)
    assert f"{scheduling_reads.DECISIONS_PROPOSAL_STREAM}{some}" == proposal_stream(some)


def test_the_roster_reads_the_groups_time_zone_as_decisions_decides_it() -> None:
    """Scheduling schedules meetings in the zone the roster reads: created without one (before zones), with
    one, and changed by a facilitator, it must be the zone decisions' own group state holds."""
    at = datetime(2030, 1, 1, tzinfo=UTC)
    gid = uuid.uuid4()
    organisations = (decisions.Organisation(id=uuid.uuid4(), name="SCALE"),)
    histories = [
        [decisions.GroupCreated(group_id=gid, name="g", organisations=organisations, rule=rules.Rule(), at=at)],
        [decisions.GroupCreated(group_id=gid, name="g", organisations=organisations, rule=rules.Rule(), at=at,
                                time_zone="Europe/London")],
        [decisions.GroupCreated(group_id=gid, name="g", organisations=organisations, rule=rules.Rule(), at=at,
                                time_zone="Europe/London"),
         decisions.TimeZoneChanged(group_id=gid, time_zone="Pacific/Auckland", at=at)],
    ]
    for history in histories:
        read = roster.Roster()
        for event in history:
            read = roster._evolve(read, roster._read(msgspec.json.encode(event)))
        assert read.time_zone == group_decider.fold(history).time_zone
    assert [group_decider.fold(h).time_zone for h in histories] == ["UTC", "Europe/London", "Pacific/Auckland"]
