"""No hot query's cost grows with the size of the log.

Every query run per event, per request or per poll is planned with EXPLAIN on a log of a few
thousand events, as a prepared statement under both ``plan_cache_mode = force_custom_plan`` and
``force_generic_plan`` (asyncpg prepares every statement, and PostgreSQL switches a prepared
statement to its generic plan after five runs): none may plan a sequential scan of ``events``
or ``log``. A new hot query belongs in ``HOT``.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from shared.audit import export
from shared.domain.ids import new_id
from shared.eventlog import appending, sealer
from shared.eventlog import store as store_module
from shared.eventlog.store import EventStore
from shared.readmodels import projections
from shared.runtime import leader
from tests.conftest import wait_sealed
from tests.integration.events import noted

GROUPS, STREAMS, PER_APPEND, APPENDS_PER_STREAM = 4, 40, 25, 3  # 12,000 events
TOTAL = GROUPS * STREAMS * PER_APPEND * APPENDS_PER_STREAM


def hot(group: uuid.UUID, stream: str, event: uuid.UUID, xid: int, seq: int) -> dict[str, tuple[str, tuple[object, ...]]]:
    """name -> (query, parameters) for every query on a per-event, per-request or per-poll path."""
    now = datetime.now(UTC)
    by_type = "SELECT stream_id FROM events WHERE group_id = $1 AND type = $2 ORDER BY seq"
    return {
        "sealer pending": (sealer._PENDING, (xid, seq, sealer.Sealer("").batch)),
        "sealer blocked": (sealer._BLOCKED, (xid, seq)),
        "sealer head": (sealer._LAST, ()),
        "read all (relay, projections, log route)": (store_module._READ_ALL, (TOTAL - 50, 500)),
        "read all of a group (webhooks, follow)": (store_module._READ_ALL_GROUP, (TOTAL - 50, 500, group)),
        "read a stream": (store_module._READ_STREAM, (stream, 0)),
        "head position (store, projections)": (store_module.HEAD, ()),
        "stored ids": ("SELECT max(stream_version) FROM events WHERE id = ANY($1)", ([event],)),
        "append: stream head (copro_append)": (
            "SELECT e.stream_version, e.chain_hash, e.group_id FROM events e WHERE e.stream_id = $1"
            " ORDER BY e.stream_version DESC LIMIT 1", (stream,)),
        "append of one event (one statement)": (appending.ONE_EVENT[False, False], (
            event, group, stream, 3, "tests.Noted", "\\x7b7d", None, None, None, None, now, "\\x00")),
        "append of one event, guarded, with an idempotency key": (appending.ONE_EVENT[True, True], (
            event, group, stream, 3, "tests.Noted", "\\x7b7d", None, None, None, None, now, "\\x00", "scope", "key",
            "\\x00", stream, 3)),
        "append: guard stream's version (copro_append)": (
            "SELECT coalesce(max(e.stream_version), 0) FROM events e WHERE e.stream_id = $1", (stream,)),
        "released seal keys": (
            "SELECT seal_id, key FROM seal_keys k WHERE seal_id = ANY($1)"
            " AND EXISTS (SELECT 1 FROM events e WHERE e.id = ANY(k.released_by))", ([event],)),
        "group's items / meetings / gatherings": (by_type, (group, "tests.Noted")),
        "publication requested (publishing subscription)": (
            "SELECT 1 FROM events WHERE type = $3 AND group_id = $1"
            " AND position(convert_to($2::text, 'UTF8') in payload) > 0", (group, str(event), "tests.Noted")),
        "proposals opened as of (decisions auditing)": (
            "SELECT DISTINCT stream_id FROM events WHERE group_id = $1 AND type = $3 AND recorded_at <= $2",
            (group, now, "tests.Noted")),
        "position as of (auditing, replay)": (store_module.POSITION_AS_OF, (now,)),
        "trace: caused by": ("SELECT count(*) FROM events WHERE correlation_id = $1", (event,)),
        "projection: any of its types in a stretch": (projections._ANY_OF_TYPES, (TOTAL - 500, TOTAL, ["tests.Noted"])),
        "projection: cursor moved over a stretch": (projections._SKIP, ("stream_totals", TOTAL)),
        "leadership: is the lock held (standby)": (leader._HELD, (1,)),
        "export: a page of the log (export, verify --live)": (export._EVENTS, (TOTAL - 50, 500, None)),
        "export: a page of a group's events": (export._EVENTS, (TOTAL - 50, 500, group)),
    }


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        value = "{" + ",".join(str(v) for v in value) + "}"
    elif isinstance(value, datetime):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


async def _plan(conn: asyncpg.Connection, query: str, params: tuple[object, ...], mode: str) -> str:
    """The plan of ``query`` prepared (parameter types inferred as a client's would be) and executed."""
    await conn.execute(f"SET plan_cache_mode = {mode}")
    await conn.execute(f"PREPARE hot AS {query}")
    try:
        args = f"({', '.join(_literal(p) for p in params)})" if params else ""
        rows = await conn.fetch(f"EXPLAIN EXECUTE hot{args}")
    finally:
        await conn.execute("DEALLOCATE hot")
    return "\n".join(r[0] for r in rows)


@pytest.fixture(scope="module")
async def filled(store: EventStore, owner_database_url: str) -> dict[str, tuple[str, tuple[object, ...]]]:
    groups = [new_id() for _ in range(GROUPS)]
    streams = [(g, f"hot-{g}-{s}") for g in groups for s in range(STREAMS)]

    async def fill(group: uuid.UUID, stream: str) -> None:
        for version in range(APPENDS_PER_STREAM):
            await store.append(group_id=group, stream_id=stream, events=[noted(i) for i in range(PER_APPEND)],
                               expected_version=version * PER_APPEND)

    for start in range(0, len(streams), 16):
        await asyncio.gather(*(fill(g, s) for g, s in streams[start:start + 16]))
    await wait_sealed(store, TOTAL, timeout=60)
    owner = await asyncpg.connect(owner_database_url)  # statistics, as autovacuum keeps them (the owner's to do)
    try:
        await owner.execute("ANALYZE events; ANALYZE log")
    finally:
        await owner.close()
    row = await store.pool.fetchrow("SELECT id, tx_id::text::bigint AS xid, seq FROM events ORDER BY seq DESC LIMIT 1")
    return hot(groups[1], streams[5][1], row["id"], row["xid"], row["seq"])


@pytest.mark.parametrize("mode", ["force_custom_plan", "force_generic_plan"])
async def test_no_hot_query_scans_the_log(store: EventStore, filled: dict[str, tuple[str, tuple[object, ...]]],
                                          mode: str) -> None:
    scans = {}
    async with store.pool.acquire() as conn:
        for name, (query, params) in filled.items():
            plan = await _plan(conn, query, params, mode)
            if "Seq Scan on events" in plan or "Seq Scan on log" in plan:
                scans[name] = plan
        await conn.execute("RESET plan_cache_mode")
    assert not scans, "\n\n".join(f"{name}:\n{plan}" for name, plan in scans.items())
