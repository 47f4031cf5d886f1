"""Small event types the kernel tests append (the kernel itself knows none)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import MappingProxyType

import asyncpg
import msgspec

from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent, RecordedEvent


class Noted(msgspec.Struct, tag="test.Noted"):
    n: int


class PersonJoined(msgspec.Struct, tag="test.PersonJoined"):
    __personal__ = ("name", "email")
    __subject__ = "person_id"

    person_id: uuid.UUID
    name: str | None
    email: str | None = None
    organisation: str = ""


def noted(n: int) -> NewEvent:
    return NewEvent(id=new_id(), type="test.Noted", data=Noted(n=n))


class StreamTotals:
    """Per stream: how many events, the sum of their n, the last position seen."""

    name = "stream_totals"
    types = frozenset({"test.Noted"})
    tables = MappingProxyType({
        "stream_totals": "CREATE TABLE {table} (stream_id text PRIMARY KEY, events int NOT NULL,"
        " total bigint NOT NULL, last_position bigint NOT NULL);"
        " CREATE INDEX {table}_by_total ON {table} (total)",
    })

    async def apply(self, conn: asyncpg.Connection, tables: Mapping[str, str], event: RecordedEvent) -> None:
        if event.type != "test.Noted":
            return
        await conn.execute(
            f"INSERT INTO {tables['stream_totals']} AS t VALUES ($1, 1, $2, $3) ON CONFLICT (stream_id) DO UPDATE"
            " SET events = t.events + 1, total = t.total + $2, last_position = $3",
            event.stream_id, event.decode(Noted).n, event.position,
        )


PROJECTIONS = [StreamTotals()]
