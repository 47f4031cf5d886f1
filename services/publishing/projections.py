"""Publishing's read model: one row per item, with what is published of it (for lists and feeds)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import asyncpg
import msgspec

from services.publishing.domain.items import Item, item_decider
from services.publishing.events import ITEM_EVENTS
from shared.domain.contract import type_name
from shared.eventlog.envelope import RecordedEvent

ITEM_EVENT_TYPES = frozenset(type_name(t) for t in ITEM_EVENTS)


class ItemList:
    """Items by group and proposal, and the published ones by date (for the public feeds)."""

    name = "publishing_items"
    types = ITEM_EVENT_TYPES
    tables = MappingProxyType({
        "publishing_items": (
            "CREATE TABLE {table} ("
            " item_id uuid PRIMARY KEY, group_id uuid NOT NULL, kind text NOT NULL, status text NOT NULL,"
            " proposal_id uuid, state bytea NOT NULL, published_at timestamptz, updated_position bigint NOT NULL);"
            " CREATE INDEX {table}_by_proposal ON {table} (proposal_id);"
            " CREATE INDEX {table}_published ON {table} (group_id, published_at) WHERE status = 'published'"
        ),
    })

    async def apply(self, conn: asyncpg.Connection, tables: Mapping[str, str], event: RecordedEvent) -> None:
        if event.type not in ITEM_EVENT_TYPES:
            return  # only item events are on item streams
        table = tables["publishing_items"]
        data = item_decider.decode(event)
        row = await conn.fetchrow(f"SELECT state FROM {table} WHERE item_id = $1", data.item_id)
        item = msgspec.msgpack.decode(row["state"], type=Item) if row else Item()
        item = item_decider.evolve(item, data)
        assert item.drafted is not None
        await conn.execute(
            f"INSERT INTO {table} VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (item_id) DO UPDATE SET"
            " status = $4, proposal_id = $5, state = $6, published_at = $7, updated_position = $8",
            item.drafted.item_id, item.drafted.group_id, item.drafted.kind, item.status, item.proposal_id,
            msgspec.msgpack.encode(item), item.published_at if item.status == "published" else None, event.position,
        )


PROJECTIONS = [ItemList()]
