"""What publishing's routes and reaction share, built once at start-up by ``app.start``."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.publishing.domain.items import Item
from services.publishing.jobs import Delivery
from shared.access.roster import Members
from shared.eventlog.handler import StateCache
from shared.eventlog.store import EventStore


@dataclass(frozen=True)
class Publishing:
    """The log, the group rosters, the item states recently used, and the webhook delivery."""

    store: EventStore
    members: Members
    delivery: Delivery
    items: StateCache[Item] = field(default_factory=StateCache)
