"""The scheduling service's events: its part of the shared log, and the one definition of them.

Meetings (one-off or recurring, with occurrences cancelled or moved, RSVPs
and attendance), secret calendar feed addresses, and the gathering: roles and
sign-ups, attendees, and the table plan. Partner systems and the other
services read these as JSON; the type names and fields below are what is
stored, so old events keep decoding. Personal fields (``__personal__``) are
encrypted with the key of the person named by ``__subject__``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from shared.domain.contract import EventContract, Versioned, same_shape

# --- values the events carry -------------------------------------------------------------------

Answer = Literal["yes", "no", "maybe"]
Perspective = Literal["lived_experience", "service_provider", "both", "other"]


class Session(msgspec.Struct, frozen=True):
    title: str
    starts_at: datetime
    ends_at: datetime


class RoleSpec(msgspec.Struct, frozen=True):
    role_id: str
    name: str
    places: int
    description: str = ""


class TableSpec(msgspec.Struct, frozen=True):
    table_id: str
    size: int
    features: tuple[str, ...] = ()


# --- meetings ----------------------------------------------------------------------------------


class MeetingScheduled(Versioned, frozen=True, kw_only=True, tag="scheduling.MeetingScheduled"):
    """``time_zone``: the group's IANA zone when it was scheduled; the series is expanded in it, so a weekly
    10:30 stays 10:30 local time when the clocks change. A meeting recorded before meetings had one has
    none, and is expanded at the offset it was given (as it always was)."""

    meeting_id: uuid.UUID
    group_id: uuid.UUID
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    rrule: str | None
    source_proposal_id: uuid.UUID | None
    by: uuid.UUID | None
    at: datetime
    time_zone: str | None = None


class OccurrenceCancelled(Versioned, frozen=True, kw_only=True, tag="scheduling.OccurrenceCancelled"):
    """One occurrence of a meeting will not take place.

    The ``reason`` is the cancelling facilitator's own words ("Sam is unwell this week"): personal,
    so it travels encrypted for them (``by``) and reads as ``null`` once they are forgotten. Version 1
    stored it in plain text and named nobody (``by`` is ``null`` there)."""

    __version__ = 2
    __upcasters__ = (same_shape(2),)
    __personal__ = ("reason",)
    __subject__ = "by"

    meeting_id: uuid.UUID
    occurrence: datetime
    reason: str | None
    by: uuid.UUID | None = None
    at: datetime


class OccurrenceMoved(Versioned, frozen=True, kw_only=True, tag="scheduling.OccurrenceMoved"):
    """``location``: where the moved occurrence is held, when not at the meeting's own location (none)."""

    meeting_id: uuid.UUID
    occurrence: datetime
    starts_at: datetime
    ends_at: datetime
    at: datetime
    location: str | None = None


class RsvpGiven(Versioned, frozen=True, kw_only=True, tag="scheduling.RsvpGiven"):
    """A member answered for one occurrence of a meeting, with what they need to take part (if anything).

    ``access_needs`` is private: health and disability in a person's own words, for the meeting's
    organisers to plan with, so the events feed, webhooks and log views show it as ``null``."""

    __personal__ = ("access_needs",)
    __private__ = ("access_needs",)
    __subject__ = "member_id"
    meeting_id: uuid.UUID
    occurrence: datetime
    member_id: uuid.UUID
    answer: Answer
    access_needs: str | None
    at: datetime


class AttendanceRecorded(Versioned, frozen=True, kw_only=True, tag="scheduling.AttendanceRecorded"):
    meeting_id: uuid.UUID
    occurrence: datetime
    present: tuple[uuid.UUID, ...]
    at: datetime


MeetingEvent = MeetingScheduled | OccurrenceCancelled | OccurrenceMoved | RsvpGiven | AttendanceRecorded

# --- calendar feeds (only the token's hash is recorded) ----------------------------------------


class FeedIssued(Versioned, frozen=True, kw_only=True, tag="scheduling.FeedIssued"):
    """A secret calendar address: a member's own (``member_id``) or the group's (none), issued ``by`` someone
    (none: the operator, or recorded before issuers were)."""

    group_id: uuid.UUID
    feed_id: uuid.UUID
    member_id: uuid.UUID | None
    token_hash: str
    at: datetime
    by: uuid.UUID | None = None


class FeedRevoked(Versioned, frozen=True, kw_only=True, tag="scheduling.FeedRevoked"):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    at: datetime


FeedEvent = FeedIssued | FeedRevoked

# --- the gathering: planned, then roles and sign-ups, attendees, the table plan ----------------


class GatheringPlanned(Versioned, frozen=True, kw_only=True, tag="scheduling.GatheringPlanned"):
    gathering_id: uuid.UUID
    group_id: uuid.UUID
    title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    accessibility: str
    sessions: tuple[Session, ...]
    at: datetime


class RoleAdded(Versioned, frozen=True, kw_only=True, tag="scheduling.RoleAdded"):
    role: RoleSpec
    at: datetime


class CapacityDeclared(Versioned, frozen=True, kw_only=True, tag="scheduling.CapacityDeclared"):
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    max_roles: int
    at: datetime


class SignedUp(Versioned, frozen=True, kw_only=True, tag="scheduling.SignedUp"):
    role_id: str
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    waitlisted: bool
    at: datetime


class Withdrew(Versioned, frozen=True, kw_only=True, tag="scheduling.Withdrew"):
    role_id: str
    member_id: uuid.UUID
    at: datetime


class Promoted(Versioned, frozen=True, kw_only=True, tag="scheduling.Promoted"):
    role_id: str
    member_id: uuid.UUID
    at: datetime


class Swapped(Versioned, frozen=True, kw_only=True, tag="scheduling.Swapped"):
    role_id: str
    from_member: uuid.UUID
    to_member: uuid.UUID
    to_organisation: uuid.UUID
    at: datetime


class SignUpsClosed(Versioned, frozen=True, kw_only=True, tag="scheduling.SignUpsClosed"):
    at: datetime


SignUpEvent = RoleAdded | CapacityDeclared | SignedUp | Withdrew | Promoted | Swapped | SignUpsClosed


class AttendeeRegistered(Versioned, frozen=True, kw_only=True, tag="scheduling.AttendeeRegistered"):
    """A person registered for the gathering (or its waiting list).

    Their access ``needs`` and whom they would sit with or apart from (``seat_with``, ``not_with``: a
    safeguarding matter) are personal and private: encrypted for the attendee, erased with them, and
    read by scheduling's table planning only (the events feed, webhooks and log views show ``null``).
    Registrations recorded before held them in plain text; general readers see those as ``null`` too.
    Version 2: the three travel as ``pii:v1:`` text (NATS, exports) and read as ``null`` once the
    attendee is forgotten; the shape copro reads is unchanged, so its upcaster rewrites nothing."""

    __version__ = 2
    __upcasters__ = (same_shape(2),)
    __personal__ = ("name", "needs", "seat_with", "not_with")
    __private__ = ("needs", "seat_with", "not_with")
    __subject__ = "attendee_id"
    attendee_id: uuid.UUID
    name: str | None
    perspective: Perspective
    organisation: str
    needs: tuple[str, ...] | None
    seat_with: tuple[uuid.UUID, ...] | None
    not_with: tuple[uuid.UUID, ...] | None
    waitlisted: bool
    at: datetime
    by: uuid.UUID | None = None
    """The member who registered the attendee, and may cancel (none: recorded before registrants were)."""


class AttendeeCancelled(Versioned, frozen=True, kw_only=True, tag="scheduling.AttendeeCancelled"):
    attendee_id: uuid.UUID
    at: datetime


class AttendeePromoted(Versioned, frozen=True, kw_only=True, tag="scheduling.AttendeePromoted"):
    attendee_id: uuid.UUID
    at: datetime


AttendeeEvent = AttendeeRegistered | AttendeeCancelled | AttendeePromoted


class TablesSet(Versioned, frozen=True, kw_only=True, tag="scheduling.TablesSet"):
    tables: tuple[TableSpec, ...]
    at: datetime


class TablePlanned(Versioned, frozen=True, kw_only=True, tag="scheduling.TablePlanned"):
    seats: dict[str, str]
    quality: dict[str, float]
    overall: float
    moved: int
    at: datetime


class PlanLocked(Versioned, frozen=True, kw_only=True, tag="scheduling.PlanLocked"):
    at: datetime


class PrintLinkIssued(Versioned, frozen=True, kw_only=True, tag="scheduling.PrintLinkIssued"):
    """A facilitator's secret address of the printable table plan (a browser sends no bearer token): only
    its hash is recorded; it works until ``expires_at``, while ``by`` is still a facilitator, unless revoked."""

    link_id: uuid.UUID
    token_hash: str
    by: uuid.UUID | None
    expires_at: datetime
    at: datetime


class PrintLinkRevoked(Versioned, frozen=True, kw_only=True, tag="scheduling.PrintLinkRevoked"):
    link_id: uuid.UUID
    at: datetime


SeatingEvent = TablesSet | TablePlanned | PlanLocked | PrintLinkIssued | PrintLinkRevoked

GatheringEvent = GatheringPlanned | SignUpEvent | AttendeeEvent | SeatingEvent


CONTRACT = EventContract("scheduling", [
    MeetingScheduled, OccurrenceCancelled, OccurrenceMoved, RsvpGiven, AttendanceRecorded,
    FeedIssued, FeedRevoked,
    GatheringPlanned, RoleAdded, CapacityDeclared, SignedUp, Withdrew, Promoted, Swapped, SignUpsClosed,
    AttendeeRegistered, AttendeeCancelled, AttendeePromoted, TablesSet, TablePlanned, PlanLocked,
    PrintLinkIssued, PrintLinkRevoked,
])
