"""Secret calendar feed addresses: issued per group or per member, revocable; only hashes in the log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import assert_never

import msgspec
from immutables import Map
from msgspec.structs import replace

from services.scheduling.events import FeedEvent, FeedIssued, FeedRevoked
from shared.domain.decider import Decider
from shared.domain.errors import NotFound


def feeds_stream(group_id: uuid.UUID) -> str:
    return f"scheduling.feeds.{group_id}"


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    member_id: uuid.UUID | None
    token_hash: str
    at: datetime
    by: uuid.UUID | None = None


class Revoke(msgspec.Struct, frozen=True, kw_only=True):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    at: datetime


FeedCommand = Issue | Revoke


class Feeds(msgspec.Struct, frozen=True):
    by_hash: Map[str, tuple[uuid.UUID, uuid.UUID | None]] = msgspec.field(default_factory=Map)  # -> (feed, member)

    def owner(self, feed_id: uuid.UUID) -> uuid.UUID | None:
        """The member a live feed belongs to (None: the group's feed, its facilitators'); 404 for no live feed."""
        for feed, member in self.by_hash.values():
            if feed == feed_id:
                return member
        raise NotFound("no such calendar feed")


def decide(command: FeedCommand, feeds: Feeds) -> list[FeedEvent]:
    match command:
        case Issue():
            return [FeedIssued(**msgspec.structs.asdict(command))]
        case Revoke():
            feeds.owner(command.feed_id)
            return [FeedRevoked(**msgspec.structs.asdict(command))]
        case _:
            assert_never(command)


def evolve(feeds: Feeds, event: FeedEvent) -> Feeds:
    match event:
        case FeedIssued():
            return replace(feeds, by_hash=feeds.by_hash.set(event.token_hash, (event.feed_id, event.member_id)))
        case FeedRevoked():
            return replace(feeds, by_hash=Map({h: f for h, f in feeds.by_hash.items() if f[0] != event.feed_id}))
        case _:
            assert_never(event)


feeds_decider: Decider[FeedCommand, Feeds, FeedEvent] = Decider(
    initial_state=Feeds, decide=decide, evolve=evolve, event_type=FeedEvent
)
