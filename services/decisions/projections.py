"""The decisions service's read models, kept from the log (``copro projections rebuild``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import asyncpg
import msgspec

from services.decisions.events import (
    ProposalAmended,
    ProposalClosed,
    ProposalEvent,
    ProposalOpened,
    ProposalWithdrawn,
)
from shared.domain.contract import type_name
from shared.eventlog.envelope import RecordedEvent

_PROPOSAL_TYPES = frozenset(type_name(t) for t in (ProposalOpened, ProposalAmended, ProposalClosed, ProposalWithdrawn))


class ProposalList:
    """One row per proposal, for listing, filtering and the closing schedule."""

    name = "decisions_proposals"
    types = _PROPOSAL_TYPES
    tables = MappingProxyType({
        "decisions_proposals": (
            "CREATE TABLE {table} ("
            " proposal_id uuid PRIMARY KEY, group_id uuid NOT NULL, kind text NOT NULL, title text NOT NULL,"
            " status text NOT NULL, opens_at timestamptz NOT NULL, closes_at timestamptz NOT NULL,"
            " result text, opened_position bigint NOT NULL);"
            " CREATE INDEX {table}_by_group ON {table} (group_id, opened_position);"
            " CREATE INDEX {table}_due ON {table} (closes_at) WHERE status = 'open'"
        ),
    })

    async def apply(self, conn: asyncpg.Connection, tables: Mapping[str, str], event: RecordedEvent) -> None:
        if event.type not in _PROPOSAL_TYPES:
            return
        table = tables["decisions_proposals"]
        data = msgspec.json.decode(event.data, type=ProposalEvent)
        if isinstance(data, ProposalOpened):
            await conn.execute(
                f"INSERT INTO {table} VALUES ($1, $2, $3, $4, 'open', $5, $6, NULL, $7) ON CONFLICT DO NOTHING",
                data.proposal_id, data.group_id, data.kind, _text(data.title), data.opens_at, data.closes_at,
                event.position,
            )
        elif isinstance(data, ProposalAmended):
            await conn.execute(f"UPDATE {table} SET title = $2 WHERE proposal_id = $1", data.proposal_id,
                               _text(data.title))
        elif isinstance(data, ProposalWithdrawn):
            await conn.execute(f"UPDATE {table} SET status = 'withdrawn' WHERE proposal_id = $1", data.proposal_id)
        elif isinstance(data, ProposalClosed):
            await conn.execute(f"UPDATE {table} SET status = 'closed', result = $2 WHERE proposal_id = $1",
                               data.proposal_id, data.outcome.result)


def _text(title: str) -> str:
    """A title as PostgreSQL's text holds it: U+0000, which a title recorded before control characters were
    refused may hold, reads as U+FFFD (left in, every group's list and the closer would stop at that event)."""
    return title.replace("\x00", "\ufffd")


PROJECTIONS = [ProposalList()]
