"""Scheduling's commands through the one handler, on the in-memory log: retries, repeats, the reaction."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from services.scheduling.domain.meetings import Meeting, Rsvp, Schedule, meeting_decider, meeting_stream
from services.scheduling.events import MeetingScheduled, RsvpGiven
from services.scheduling.subscriptions import DECISIONS_PROPOSAL_STREAM, meeting_for, schedule_chosen_slot
from shared.domain.errors import CommandRejected
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent, RecordedEvent
from shared.eventlog.handler import StateCache, handle, load
from shared.eventlog.memory import InMemoryEventStore
from shared.fanout.cloudevents import Delivered

GROUP = uuid.UUID(int=8)
MEETING = uuid.UUID(int=7)
T0 = datetime(2030, 3, 5, 10, 30, tzinfo=UTC)
SCHEDULE = Schedule(meeting_id=MEETING, group_id=GROUP, title="Working group", starts_at=T0,
                    ends_at=T0 + timedelta(hours=1), location="", rrule="FREQ=WEEKLY;COUNT=4",
                    source_proposal_id=None, by=None, at=T0, time_zone="UTC")


async def _in_lisbon(group_id: uuid.UUID) -> str:
    assert group_id == GROUP
    return "Europe/Lisbon"


def rsvp(member: int, answer: str = "yes") -> Rsvp:
    return Rsvp(occurrence=T0, member_id=uuid.UUID(int=member), answer=answer, access_needs=None, at=T0)  # type: ignore[arg-type]


class RacingStore(InMemoryEventStore):
    """Another writer gets in once, between a handler's read of the stream and its append."""

    def __init__(self) -> None:
        super().__init__()
        self.race: Callable[[], Awaitable[object]] | None = None

    async def read_stream(
        self, stream_id: str, after_version: int = 0, *, unsealed: bool = False
    ) -> list[RecordedEvent]:
        found = await super().read_stream(stream_id, after_version, unsealed=unsealed)
        if self.race is not None:
            race, self.race = self.race, None
            await race()
        return found


@pytest.mark.parametrize("cached", [False, True])
async def test_an_rsvp_that_loses_a_race_is_decided_again_on_the_newer_meeting(cached: bool) -> None:
    store = RacingStore()
    cache: StateCache[Meeting] | None = StateCache() if cached else None
    stream = meeting_stream(MEETING)
    await handle(store, meeting_decider, SCHEDULE, group_id=GROUP, stream_id=stream, cache=cache)
    theirs = RsvpGiven(meeting_id=MEETING, occurrence=T0, member_id=uuid.UUID(int=1), answer="no", access_needs=None,
                       at=T0)
    store.race = lambda: store.append(group_id=GROUP, stream_id=stream, expected_version=1,
                                      events=[NewEvent(id=new_id(), type="scheduling.RsvpGiven", data=theirs)])
    done = await handle(store, meeting_decider, rsvp(2), group_id=GROUP, stream_id=stream, cache=cache)
    assert [r.type for r in store.streams[stream]] == ["scheduling.MeetingScheduled", "scheduling.RsvpGiven",
                                                       "scheduling.RsvpGiven"]
    assert done.version == 3
    assert done.state.answers(T0) == {uuid.UUID(int=1): "no", uuid.UUID(int=2): "yes"}
    reloaded, version = await load(store, meeting_decider, stream)
    assert version == 3 and reloaded == done.state


async def test_the_same_rsvp_sent_twice_with_one_idempotency_key_is_stored_once() -> None:
    store = InMemoryEventStore()
    stream = meeting_stream(MEETING)
    await handle(store, meeting_decider, SCHEDULE, group_id=GROUP, stream_id=stream)
    first = await handle(store, meeting_decider, rsvp(2), group_id=GROUP, stream_id=stream, idempotency_key="k1",
                         idempotency_scope="rsvp", request_hash=b"same")
    again = await handle(store, meeting_decider, rsvp(2), group_id=GROUP, stream_id=stream, idempotency_key="k1",
                         idempotency_scope="rsvp", request_hash=b"same")
    assert len(store.streams[stream]) == 2
    assert first.result is not None and again.result is not None
    assert again.result.duplicate and again.events == [] and again.result.event_ids == first.result.event_ids
    with pytest.raises(CommandRejected, match="scheduled already"):  # scheduling the same meeting again changes nothing
        await handle(store, meeting_decider, SCHEDULE, group_id=GROUP, stream_id=stream)
    assert len(store.streams[stream]) == 2


def _closed(proposal_id: uuid.UUID, result: str, chosen: list[str]) -> Delivered:
    payload = {"type": "decisions.ProposalClosed", "proposal_id": str(proposal_id), "group_id": str(GROUP),
               "outcome": {"result": result, "chosen": chosen, "explanation": "ignored by scheduling"}}
    return Delivered(id=new_id(), type="decisions.ProposalClosed", source="/copro/decisions", group_id=GROUP,
                     stream_id=f"{DECISIONS_PROPOSAL_STREAM}{proposal_id}", stream_version=3, position=42, time=T0,
                     data=msgspec.Raw(msgspec.json.encode(payload)))


async def _opened(store: InMemoryEventStore, kind: str = "time") -> uuid.UUID:
    """A proposal as decisions writes it (its JSON only: scheduling never imports decisions)."""
    proposal_id = new_id()
    opened = {"type": "decisions.ProposalOpened", "proposal_id": str(proposal_id), "group_id": str(GROUP),
              "kind": kind, "title": "Weekly working group", "closes_at": T0.isoformat(),
              "options": [{"id": "tue", "label": "Tuesday", "starts_at": T0.isoformat(),
                           "ends_at": (T0 + timedelta(minutes=90)).isoformat()},
                          {"id": "thu", "label": "Thursday"}]}
    await store.append(group_id=GROUP, stream_id=f"{DECISIONS_PROPOSAL_STREAM}{proposal_id}", expected_version=0,
                       events=[NewEvent(id=new_id(), type="decisions.ProposalOpened", data=opened)])
    return proposal_id


async def test_a_closed_time_proposal_schedules_its_meeting_once_however_often_it_is_delivered() -> None:
    store = InMemoryEventStore()
    proposal_id = await _opened(store)
    closed = _closed(proposal_id, "chosen", ["tue"])
    for _ in range(3):
        await schedule_chosen_slot(store, StateCache(), closed, _in_lisbon)
    [recorded] = store.streams[meeting_stream(meeting_for(proposal_id))]
    scheduled = msgspec.json.decode(recorded.data, type=MeetingScheduled)
    assert (scheduled.title, scheduled.starts_at, scheduled.ends_at) == ("Weekly working group", T0,
                                                                         T0 + timedelta(minutes=90))
    assert scheduled.source_proposal_id == proposal_id and scheduled.group_id == GROUP and scheduled.rrule is None
    assert scheduled.time_zone == "Europe/Lisbon"  # the group's zone, as its roster says


async def test_no_meeting_without_a_chosen_slot_with_times_or_for_another_kind_of_proposal() -> None:
    store = InMemoryEventStore()
    proposal_id = await _opened(store)
    for delivered in (_closed(proposal_id, "tie", ["tue", "thu"]), _closed(proposal_id, "chosen", []),
                      _closed(proposal_id, "chosen", ["thu"])):  # Thursday has no times
        await schedule_chosen_slot(store, None, delivered, _in_lisbon)
    consent = await _opened(store, kind="consent")
    await schedule_chosen_slot(store, None, _closed(consent, "chosen", ["tue"]), _in_lisbon)
    assert not [s for s in store.streams if s.startswith("scheduling.")]
