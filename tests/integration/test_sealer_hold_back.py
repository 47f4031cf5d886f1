"""The sealer in a database of its own, where no other sealer runs: its hold-back (a committed event behind a
still-running older transaction is not sealed, and the sealer knows it is held back) and its checkpoints."""

from __future__ import annotations

import asyncpg

from shared.domain.ids import new_id
from shared.eventlog.sealer import Sealer
from shared.eventlog.store import EventStore
from tests.integration.events import noted


async def test_the_sealer_holds_back_what_an_older_transaction_may_precede(database_url: str) -> None:
    """A committed event behind a still-running older transaction is not sealed, and the sealer knows it is
    held back (it retries soon instead of waiting for a writer); once the older one commits both are sealed."""
    store = await EventStore.connect(database_url)
    sealer_conn = await asyncpg.connect(database_url)
    sealer = Sealer(database_url)
    try:
        await sealer._load_head(sealer_conn)
        while (await sealer._seal(sealer_conn))[0]:
            pass
        group = new_id()
        older = await store.pool.acquire()
        try:
            late = older.transaction()
            await late.start()
            await older.execute("SELECT pg_current_xact_id()")  # the older transaction, running
            await store.append(group_id=group, stream_id=f"after-{group}", events=[noted(1)], expected_version=0)
            assert await sealer._seal(sealer_conn) == (0, True)
            await older.execute(
                "SELECT * FROM copro_append($1, $2, NULL, $3, $4, $5, $6, NULL, NULL, NULL, NULL, now(), '', NULL, ''::bytea)",
                group, f"before-{group}", [new_id()], ["test.Noted"], [b'{"type":"test.Noted","n":0}'], [b"\x00" * 32])
            await late.commit()
        finally:
            await store.pool.release(older)
        assert await sealer._seal(sealer_conn) == (2, False)
        assert await sealer._seal(sealer_conn) == (0, False)
    finally:
        await sealer_conn.close()
        await store.close()


async def test_checkpoints_fall_on_every_multiple_across_seals(database_url: str) -> None:
    """Seals of 7 events with a checkpoint every 5 positions: one checkpoint on each multiple, holding the
    log's global hash there, whichever seal reached it."""
    store = await EventStore.connect(database_url)
    conn = await asyncpg.connect(database_url)
    sealer = Sealer(database_url, batch=7, checkpoint_every=5)
    try:
        await sealer._load_head(conn)
        while (await sealer._seal(conn))[0]:
            pass
        start = sealer._position
        group = new_id()
        for i in range(8):
            await store.append(group_id=group, stream_id=f"marks-{group}-{i}", events=[noted(k) for k in range(5)],
                               expected_version=0)
        sizes = []
        while (sealed := (await sealer._seal(conn))[0]):
            sizes.append(sealed)
        assert sizes == [7, 7, 7, 7, 7, 5]
        marks = await conn.fetch(
            "SELECT c.position, c.global_hash = l.global_hash AS same FROM checkpoints c JOIN log l USING (position)"
            " WHERE c.position > $1 ORDER BY c.position", start)
        assert [m["position"] for m in marks] == [p for p in range(start + 1, start + 41) if p % 5 == 0]
        assert all(m["same"] for m in marks)
    finally:
        await conn.close()
        await store.close()
