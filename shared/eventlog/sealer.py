"""The sealer: gives committed events their gap-free global position.

Writers commit concurrently and out of order, so a sequence number taken at
insert time can become visible after a larger one: a reader following it
would skip the late event for good. The sealer reads only events of
transactions older than the oldest still running one
(``tx_id < pg_snapshot_xmin(pg_current_snapshot())``), in (transaction,
insert) order; nothing can commit into that range any more. It appends them
to ``log`` with contiguous positions, extends the global hash chain, records
a checkpoint every ``checkpoint_every`` positions and NOTIFYs readers, all
inside one call of ``copro_seal`` (migration 0061).

Every service process runs one; a session advisory lock elects the single
active sealer, and when its connection dies another takes over.

The sealer commits with ``synchronous_commit = off``: ``log`` is derived
from ``events`` deterministically (same events, same order, same hashes), so
a seal lost in a crash is re-made identically from the durable events, and
writers keep the disk flushes to themselves.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from shared.eventlog import integrity
from shared.eventlog.locks import Lock
from shared.eventlog.signal import APPENDED_CHANNEL
from shared.eventlog.store import SEALED_CHANNEL
from shared.runtime.leader import Leadership
from shared.runtime.waiting import wait_any

log = logging.getLogger(__name__)


# What is safely committed past the cursor, as ``copro_seal`` (migration 0061) reads it; kept here for
# tests/integration/test_hot_queries.py, which plans it.
_PENDING = (
    "SELECT seq, tx_id, chain_hash FROM events"
    " WHERE (tx_id, seq) > ($1::xid8, $2) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())"
    " ORDER BY tx_id, seq LIMIT $3"
)
_LAST = "SELECT position, seq, tx_id, global_hash FROM log ORDER BY position DESC LIMIT 1"
# Is any event past the cursor, committed or not? As ``copro_seal`` asks it when it seals nothing (kept
# here for the hot-query test). The first one in index order: an EXISTS would be planned generically as
# a sequential scan of the whole log (PostgreSQL drops ORDER BY/LIMIT there).
_BLOCKED = "SELECT seq FROM events WHERE (tx_id, seq) > ($1::xid8, $2) ORDER BY tx_id, seq LIMIT 1"
# One seal, one round trip: read, chain, append to the log, checkpoints, notice (migration 0061).
_SEAL = (
    "SELECT sealed, last_position, last_hash, last_tx, last_seq, blocked"
    " FROM copro_seal($1, $2, $3::xid8, $4, $5, $6, $7)"
)


class Sealer:
    def __init__(
        self,
        url: str,
        *,
        batch: int = 5000,
        checkpoint_every: int = 1000,
        safety_poll: float = 1.0,
        retry_blocked: float = 0.002,
        gather: float = 0.002,
        awake: float = 0.05,
        standby: float = 0.0,
    ) -> None:
        self.url = url
        self.batch = batch
        self.checkpoint_every = checkpoint_every
        self.safety_poll = safety_poll
        self.retry_blocked = retry_blocked
        self.gather = gather
        self.awake = awake
        self._leadership = Leadership(url, Lock.SEALER, "sealer", {"synchronous_commit": "off"}, standby)
        self._wake = asyncio.Event()
        self._position = 0
        self._cursor: tuple[int, int] = (0, 0)
        self._hash = integrity.GENESIS

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _load_head(self, conn: asyncpg.Connection) -> None:
        row = await conn.fetchrow(_LAST)
        if row is None:
            self._position, self._cursor, self._hash = 0, (0, 0), integrity.GENESIS
        else:
            self._position = row["position"]
            self._cursor = (row["tx_id"], row["seq"])
            self._hash = bytes(row["global_hash"])

    async def seal_once(self, conn: asyncpg.Connection) -> int:
        """Seal what is safely committed; returns how many events were sealed."""
        return (await self._seal(conn))[0]

    async def _seal(self, conn: asyncpg.Connection) -> tuple[int, bool]:
        """How many events were sealed, and (when none) whether a committed one is held back."""
        sealed, position, chained, tx_id, seq, blocked = await conn.fetchrow(
            _SEAL, self._position, self._hash, self._cursor[0], self._cursor[1], self.batch, self.checkpoint_every,
            SEALED_CHANNEL,
        )
        if sealed:
            self._position, self._hash, self._cursor = position, bytes(chained), (tx_id, seq)
        return int(sealed), bool(blocked)

    @property
    def is_leader(self) -> bool:
        return self._leadership.is_leader

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Seal until ``stop`` is set, surviving database outages and leader changes."""
        stop = stop or asyncio.Event()
        await self._leadership.run(lambda conn: self._lead(conn, stop), stop)

    async def _lead(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        await conn.add_listener(APPENDED_CHANNEL, self._on_notify)
        await self._load_head(conn)
        loop = asyncio.get_running_loop()
        awake_until = 0.0
        while not stop.is_set():
            self._wake.clear()
            sealed, blocked = await self._seal(conn)
            if sealed:
                awake_until = loop.time() + self.awake
            if sealed or loop.time() < awake_until:
                # let a few more commits gather: fewer, larger seals under load; and while appends keep
                # coming, look again without waiting to be woken (writers signal at most every 20 ms)
                await asyncio.sleep(self.gather)
                continue
            # Committed events held back by an older running transaction are
            # retried soon; otherwise wait for a writer's signal.
            await wait_any(stop, self._wake, self.retry_blocked if blocked else self.safety_poll)
