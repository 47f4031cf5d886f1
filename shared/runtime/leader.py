"""Single-leader background work, elected by a PostgreSQL advisory lock.

Every service process runs a candidate for each singleton job (the sealer,
the relay, webhook delivery). The candidate that holds the session lock
works; when its process or connection dies, PostgreSQL releases the lock and
another candidate, in any replica, takes over within a second. A database
outage is waited out, never fatal.

The lock's connection names its holder (``application_name`` =
``copro <role> <host>:<pid>``), so ``leaders()`` (and ``copro status``) can
say which replica leads which role. A leader whose work does not go through
the lock's connection calls ``still_leading`` between rounds: a lost
connection ends its leadership before it does more.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

import asyncpg

from shared.eventlog.locks import Lock
from shared.eventlog.outage import DATABASE_AWAY
from shared.runtime.logs import Condition
from shared.runtime.waiting import pause

log = logging.getLogger(__name__)

Work = Callable[[asyncpg.Connection], Awaitable[None]]

# A granted session advisory lock of this database (``pg_locks l``), and its 64-bit key
_GRANTED = ("l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
_KEY = "((l.classid::bigint << 32) | l.objid::bigint)"
_HOLDERS = (f"SELECT {_KEY} AS key, a.application_name AS holder"
            f" FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE {_GRANTED}")
_HELD = f"SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {_GRANTED} AND {_KEY} = $1)"
ROLES = {Lock.SEALER: "sealer", Lock.RELAY: "relay", Lock.WEBHOOK_DELIVERY: "webhook delivery"}


def holder_name(role: str) -> str:
    """How a leader's connection names itself: the role, the host (a pod's name) and the process id."""
    return f"copro {role} {socket.gethostname()}:{os.getpid()}"[:63]


async def leaders(conn: asyncpg.Connection) -> dict[str, str]:
    """Which process leads each background role right now (roles without a leader are absent)."""
    rows = await conn.fetch(_HOLDERS)
    keys = {int(key): role for key, role in ROLES.items()}
    return {keys[row["key"]]: row["holder"] for row in rows if row["key"] in keys}


async def restart_leader(conn: asyncpg.Connection, key: int) -> bool:
    """End the session of whoever holds ``key``: the role starts over in whichever replica takes the lock next
    (for a relay: from the stream's own last message). True if there was a leader."""
    ended = await conn.fetchval(
        f"SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l WHERE {_GRANTED} AND {_KEY} = $1", key)
    return bool(ended)


async def still_leading(conn: asyncpg.Connection) -> None:
    """Raise if the lock's connection is gone (and with it the lock); cheap enough for every round."""
    await conn.fetchval("SELECT 1", timeout=5)


class Leadership:
    """Runs ``work`` while this process holds the advisory lock ``key``."""

    def __init__(self, url: str, key: int, name: str, server_settings: dict[str, str] | None = None,
                 standby: float = 0.0) -> None:
        self.url = url
        self.standby = standby
        self.key = key
        self.name = name
        self.server_settings = {"application_name": holder_name(name), **(server_settings or {})}
        self.is_leader = False
        self.condition = Condition(log, name)

    async def _take(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        """Wait for the lock. A standby (``standby`` > 0) tries only once the lock has stayed free that long,
        so the process meant to lead (the log process under ``copro up``) takes it back after a restart and
        the services' request loops keep the work only while it is down."""
        free_since: float | None = None
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if self.standby <= 0 or (free_since is not None and loop.time() - free_since >= self.standby):
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                    return
                free_since = None
            elif await conn.fetchval(_HELD, self.key):
                free_since = None
            elif free_since is None:
                free_since = loop.time()
            await pause(stop, min(1.0, self.standby / 4) if self.standby > 0 else 1.0)

    async def run(self, work: Work, stop: asyncio.Event) -> None:
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.url, server_settings=self.server_settings)
                await self._take(conn, stop)
                self.condition.working()
                if stop.is_set():
                    return
                self.is_leader = True
                log.info("%s: this process leads now (%s)", self.name, self.server_settings["application_name"])
                await work(conn)
            except (TimeoutError, *DATABASE_AWAY, asyncpg.PostgresError) as exc:
                self.condition.failing("the database is unreachable; waiting for it", exc)
                await pause(stop, 1.0)
            except Exception:  # a role never ends for good: it starts over, and says why
                log.exception("%s: failed; starting over in a second", self.name)
                await pause(stop, 1.0)
            finally:
                if self.is_leader:
                    log.info("%s: this process leads no more", self.name)
                self.is_leader = False
                if conn is not None and not conn.is_closed():
                    await conn.close()
