"""Secret calendar feed addresses: issued per group or per member, revocable; only hashes in the log."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from immutables import Map
from msgspec.structs import replace

from shared.domain.decider import Decider
from shared.domain.errors import NotFound


class FeedIssued(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.FeedIssued"):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    member_id: uuid.UUID | None
    token_hash: str
    at: datetime


class FeedRevoked(msgspec.Struct, frozen=True, kw_only=True, tag="scheduling.FeedRevoked"):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    at: datetime


FeedEvent = FeedIssued | FeedRevoked


class Feeds(msgspec.Struct, frozen=True):
    by_hash: Map[str, tuple[uuid.UUID, uuid.UUID | None]] = msgspec.field(default_factory=Map)  # -> (feed, member)


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    member_id: uuid.UUID | None
    token_hash: str
    at: datetime


class Revoke(msgspec.Struct, frozen=True, kw_only=True):
    group_id: uuid.UUID
    feed_id: uuid.UUID
    at: datetime


def decide(command: Issue | Revoke, feeds: Feeds) -> list[FeedEvent]:
    if isinstance(command, Issue):
        return [FeedIssued(**msgspec.structs.asdict(command))]
    if not any(feed == command.feed_id for feed, _ in feeds.by_hash.values()):
        raise NotFound("no such calendar feed")
    return [FeedRevoked(**msgspec.structs.asdict(command))]


def evolve(feeds: Feeds, event: FeedEvent) -> Feeds:
    if isinstance(event, FeedIssued):
        return replace(feeds, by_hash=feeds.by_hash.set(event.token_hash, (event.feed_id, event.member_id)))
    return replace(feeds, by_hash=Map({h: f for h, f in feeds.by_hash.items() if f[0] != event.feed_id}))


feeds_decider: Decider[Issue | Revoke, Feeds, FeedEvent] = Decider(
    initial_state=Feeds, decide=decide, evolve=evolve, event_type=FeedEvent
)


def feeds_stream(group_id: uuid.UUID) -> str:
    return f"scheduling.feeds.{group_id}"
