"""Given a meeting's (or a group's feeds') events, when a command arrives, then these events or this refusal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from services.scheduling.domain.feeds import Issue, Revoke, feeds_decider
from services.scheduling.domain.meetings import Cancel, Move, Moved, RecordAttendance, Rsvp, Schedule, meeting_decider
from services.scheduling.events import (
    AttendanceRecorded,
    FeedIssued,
    FeedRevoked,
    MeetingScheduled,
    OccurrenceCancelled,
    OccurrenceMoved,
    RsvpGiven,
)
from shared.domain.errors import CommandRejected, InvalidCommand, NotFound
from shared.domain.specification import DeciderSpecification

meetings = DeciderSpecification(meeting_decider)
T0 = datetime(2030, 3, 5, 14, tzinfo=UTC)
MEETING = uuid.UUID(int=7)
ADA = uuid.UUID(int=1)
SCHEDULE = Schedule(meeting_id=MEETING, group_id=uuid.UUID(int=8), title="Working group", starts_at=T0,
                    ends_at=T0 + timedelta(hours=1), location="Community centre", rrule="FREQ=WEEKLY;COUNT=26",
                    source_proposal_id=None, by=ADA, at=T0, time_zone="UTC")
SCHEDULED = MeetingScheduled(**msgspec.structs.asdict(SCHEDULE))
WEEK = timedelta(weeks=1)


def test_a_series_is_scheduled_once_with_a_valid_rule() -> None:
    meetings.given().when(SCHEDULE).then(SCHEDULED)
    meetings.given(SCHEDULED).when(SCHEDULE).then_fails(CommandRejected, "scheduled already")
    no_end = meetings.given().when(msgspec.structs.replace(SCHEDULE, rrule="FREQ=WEEKLY"))
    assert no_end.then_fails(InvalidCommand, "COUNT or UNTIL").field == "rrule"  # type: ignore[attr-defined]
    meetings.given().when(msgspec.structs.replace(SCHEDULE, rrule="FREQ=NEVER")).then_fails(InvalidCommand, "RFC 5545")
    meetings.given().when(msgspec.structs.replace(SCHEDULE, rrule="FREQ=DAILY;COUNT=1001")).then_fails(
        InvalidCommand, "at most 1000")
    backwards = meetings.given().when(msgspec.structs.replace(SCHEDULE, ends_at=T0))
    assert backwards.then_fails(InvalidCommand, "after").field == "ends_at"  # type: ignore[attr-defined]
    meetings.given().when(msgspec.structs.replace(SCHEDULE, title="  ")).then_fails(InvalidCommand, "title")
    nowhere = meetings.given().when(msgspec.structs.replace(SCHEDULE, time_zone="Europe/Atlantis"))
    assert nowhere.then_fails(InvalidCommand, "IANA").field == "time_zone"  # type: ignore[attr-defined]


def test_a_rule_is_one_rrule_value_ending_before_3000_and_is_checked_quickly() -> None:
    """Whole iCalendar text in a rule broke the group's calendar for good or placed a meeting in year 9999, and a
    rule of a month of seconds held the service for seconds before its count was refused (the attacker's finds)."""
    import time

    for rule in ("FREQ=DAILY;COUNT=3\nEXDATE:20300102T100000Z", "DTSTART:99991231T230000\nRRULE:FREQ=DAILY;COUNT=1",
                 "FREQ=DAILY;COUNT=2\r\nRRULE:FREQ=YEARLY;COUNT=2", "FREQ=DAILY;COUNT=2 "):
        refused = meetings.given().when(msgspec.structs.replace(SCHEDULE, rrule=rule))
        assert refused.then_fails(InvalidCommand, "one RFC 5545 RRULE").field == "rrule"  # type: ignore[attr-defined]
    far = meetings.given().when(msgspec.structs.replace(SCHEDULE, rrule="FREQ=YEARLY;INTERVAL=7000;COUNT=2"))
    assert far.then_fails(InvalidCommand, "before the year 3000").field == "rrule"  # type: ignore[attr-defined]
    started = time.monotonic()
    meetings.given().when(msgspec.structs.replace(SCHEDULE, rrule="FREQ=SECONDLY;UNTIL=29991231T000000Z")).then_fails(
        InvalidCommand, "at most 1000")
    assert time.monotonic() - started < 1.0  # stopped at the cap, not after counting centuries of seconds
    twice_weekly = msgspec.structs.replace(SCHEDULE, rrule="RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=10")
    meetings.given().when(twice_weekly).then(MeetingScheduled(**msgspec.structs.asdict(twice_weekly)))


LONDON = ZoneInfo("Europe/London")
BEFORE_BST = datetime(2030, 3, 19, 10, 30, tzinfo=UTC)  # a Tuesday; the clocks go forward on Sunday 31 March 2030
WEEKLY = msgspec.structs.replace(SCHEDULE, starts_at=BEFORE_BST, ends_at=BEFORE_BST + timedelta(minutes=90),
                                 rrule="FREQ=WEEKLY;COUNT=4", time_zone="Europe/London")


def test_a_weekly_meeting_stays_at_half_past_ten_local_time_when_the_clocks_go_forward() -> None:
    state = meetings.given(MeetingScheduled(**msgspec.structs.asdict(WEEKLY))).state
    found = state.occurrences(BEFORE_BST, BEFORE_BST + 5 * WEEK)
    assert [(o.astimezone(LONDON).hour, o.astimezone(LONDON).minute) for o in found] == [(10, 30)] * 4
    assert [o.astimezone(UTC).hour for o in found] == [10, 10, 9, 9]  # the UTC time moves instead
    assert [o.utcoffset() for o in found] == [timedelta(0), timedelta(0), timedelta(hours=1), timedelta(hours=1)]
    # the same instant given at another offset is the same series
    as_cet = BEFORE_BST.astimezone(ZoneInfo("Europe/Paris"))
    same = meetings.given(MeetingScheduled(**msgspec.structs.asdict(msgspec.structs.replace(
        WEEKLY, starts_at=as_cet, ends_at=as_cet + timedelta(minutes=90))))).state
    assert same.occurrences(BEFORE_BST, BEFORE_BST + 5 * WEEK) == found


def test_an_occurrence_after_the_change_is_named_by_any_offset_and_a_move_keeps_or_changes_the_place() -> None:
    scheduled = MeetingScheduled(**msgspec.structs.asdict(WEEKLY))
    after = datetime(2030, 4, 2, 9, 30, tzinfo=UTC)  # 10:30 BST
    cancelled = OccurrenceCancelled(meeting_id=MEETING, occurrence=after, reason="Easter", by=ADA, at=T0)
    state = meetings.given(scheduled).when(Cancel(occurrence=after, reason="Easter", by=ADA, at=T0)).then(cancelled).state
    assert after not in state.occurrences(BEFORE_BST, BEFORE_BST + 5 * WEEK)
    meetings.given(scheduled).when(Cancel(occurrence=after + timedelta(hours=1), reason="", by=ADA, at=T0)).then_fails(
        InvalidCommand, "no occurrence")  # 10:30 UTC that day is 11:30 local: not an occurrence
    last = datetime(2030, 4, 9, 10, 30, tzinfo=LONDON)
    move = Move(occurrence=last, starts_at=last + timedelta(days=1), ends_at=last + timedelta(days=1, hours=1),
                location="Library, room 2", at=T0)
    moved = meetings.given(scheduled).when(move).then(OccurrenceMoved(
        meeting_id=MEETING, occurrence=last, starts_at=move.starts_at, ends_at=move.ends_at, location="Library, room 2",
        at=T0)).state
    assert moved.moves()[last] == Moved(starts_at=move.starts_at, ends_at=move.ends_at, location="Library, room 2")
    assert moved.moves()[last].starts_at.tzinfo is LONDON  # shown in the meeting's zone, however it was given


def test_a_meeting_recorded_before_meetings_had_a_zone_still_expands_as_it_was_given() -> None:
    legacy = MeetingScheduled(**{**msgspec.structs.asdict(WEEKLY), "time_zone": None})
    found = meetings.given(legacy).state.occurrences(BEFORE_BST, BEFORE_BST + 5 * WEEK)
    assert [o.astimezone(UTC).hour for o in found] == [10, 10, 10, 10]


def test_one_occurrence_is_cancelled_or_moved_and_the_rest_of_the_series_stays() -> None:
    cancelled = OccurrenceCancelled(meeting_id=MEETING, occurrence=T0 + WEEK, reason="bank holiday", by=ADA, at=T0)
    when = meetings.given(SCHEDULED).when(Cancel(occurrence=T0 + WEEK, reason="bank holiday", by=ADA, at=T0)).then(cancelled)
    assert when.state.occurrences(T0, T0 + 3 * WEEK) == [T0, T0 + 2 * WEEK]
    moved = OccurrenceMoved(meeting_id=MEETING, occurrence=T0 + 2 * WEEK, starts_at=T0 + 2 * WEEK + timedelta(hours=2),
                            ends_at=T0 + 2 * WEEK + timedelta(hours=3), at=T0)
    when = meetings.given(SCHEDULED, cancelled).when(Move(occurrence=moved.occurrence, starts_at=moved.starts_at,
                                                          ends_at=moved.ends_at, at=T0)).then(moved)
    assert when.state.moved == ((moved.occurrence, Moved(starts_at=moved.starts_at, ends_at=moved.ends_at)),)
    # a cancelled occurrence, or a time that is not an occurrence, takes no command
    refused = meetings.given(SCHEDULED, cancelled).when(Cancel(occurrence=T0 + WEEK, reason="", by=ADA, at=T0))
    assert refused.then_fails(InvalidCommand, "no occurrence").field == "occurrence"  # type: ignore[attr-defined]
    meetings.given(SCHEDULED).when(Move(occurrence=T0, starts_at=T0, ends_at=T0, at=T0)).then_fails(
        InvalidCommand, "ends_at must be after starts_at")
    meetings.given().when(Cancel(occurrence=T0, reason="", by=ADA, at=T0)).then_fails(NotFound, "no such meeting")


def test_an_operator_cancels_without_a_reason_because_nobody_could_erase_their_words() -> None:
    unnamed = OccurrenceCancelled(meeting_id=MEETING, occurrence=T0 + WEEK, reason=None, by=None, at=T0)
    meetings.given(SCHEDULED).when(Cancel(occurrence=T0 + WEEK, reason="", by=None, at=T0)).then(unnamed)
    refused = meetings.given(SCHEDULED).when(Cancel(occurrence=T0 + WEEK, reason="Sam is unwell", by=None, at=T0))
    assert refused.then_fails(InvalidCommand, "without a reason").field == "reason"  # type: ignore[attr-defined]


def test_an_answer_replaces_the_members_earlier_one_and_attendance_is_recorded() -> None:
    yes = RsvpGiven(meeting_id=MEETING, occurrence=T0, member_id=ADA, answer="yes", access_needs="a quiet corner", at=T0)
    when = meetings.given(SCHEDULED, yes).when(Rsvp(occurrence=T0, member_id=ADA, answer="no", access_needs=None, at=T0))
    when.then(RsvpGiven(meeting_id=MEETING, occurrence=T0, member_id=ADA, answer="no", access_needs=None, at=T0))
    assert when.state.answers(T0) == {ADA: "no"}
    meetings.given(SCHEDULED).when(Rsvp(occurrence=T0 + timedelta(minutes=5), member_id=ADA, answer="yes",
                                        access_needs=None, at=T0)).then_fails(InvalidCommand, "no occurrence")
    meetings.given(SCHEDULED).when(RecordAttendance(occurrence=T0, present=(ADA,), at=T0)).then(
        AttendanceRecorded(meeting_id=MEETING, occurrence=T0, present=(ADA,), at=T0))


def test_a_feed_address_is_known_by_its_hash_until_revoked() -> None:
    feeds = DeciderSpecification(feeds_decider)
    group, feed = uuid.UUID(int=8), uuid.UUID(int=9)
    issued = FeedIssued(group_id=group, feed_id=feed, member_id=ADA, token_hash="ab12", at=T0)
    when = feeds.given().when(Issue(group_id=group, feed_id=feed, member_id=ADA, token_hash="ab12", at=T0)).then(issued)
    assert dict(when.state.by_hash) == {"ab12": (feed, ADA)}
    revoked = feeds.given(issued).when(Revoke(group_id=group, feed_id=feed, at=T0)).then(
        FeedRevoked(group_id=group, feed_id=feed, at=T0))
    assert dict(revoked.state.by_hash) == {}
    feeds.given(issued).when(Revoke(group_id=group, feed_id=uuid.UUID(int=10), at=T0)).then_fails(
        NotFound, "no such calendar feed")
