"""Single-leader background work, elected by a PostgreSQL advisory lock.

Every service process runs a candidate for each singleton job (the sealer,
the relay). The candidate that holds the session lock works; when its
connection dies, PostgreSQL releases the lock and another candidate takes
over within a second. A database outage is waited out, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from shared.runtime.logs import Condition
from shared.runtime.waiting import pause

log = logging.getLogger(__name__)

Work = Callable[[asyncpg.Connection], Awaitable[None]]


class Leadership:
    """Runs ``work`` while this process holds the advisory lock ``key``."""

    def __init__(self, url: str, key: int, name: str, server_settings: dict[str, str] | None = None) -> None:
        self.url = url
        self.key = key
        self.name = name
        self.server_settings = server_settings or {}
        self.is_leader = False
        self.condition = Condition(log, name)

    async def run(self, work: Work, stop: asyncio.Event) -> None:
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.url, server_settings=self.server_settings)
                while not stop.is_set() and not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                    await pause(stop, 1.0)
                self.condition.working()
                if stop.is_set():
                    return
                self.is_leader = True
                log.info("%s: this process leads now", self.name)
                await work(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.condition.failing("the database is unreachable; waiting for it", exc)
                await pause(stop, 1.0)
            finally:
                if self.is_leader:
                    log.info("%s: this process leads no more", self.name)
                self.is_leader = False
                if conn is not None and not conn.is_closed():
                    await conn.close()
