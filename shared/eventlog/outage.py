"""What "the database is away for now" looks like to asyncpg: one list for every loop that waits an outage out.

Kept apart from the store so that the modules the store itself imports (its append signal) and the
leadership of background roles can name the same failures without an import cycle.
"""

from __future__ import annotations

import asyncpg

DATABASE_AWAY = (
    OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError, asyncpg.InternalClientError,
)
"""Failures that mean "the database is away for now", not "this work is wrong". The last: asyncpg's answer on a
connection an outage left in the middle of an operation ("cannot switch to state ..."); caught nowhere, it
ended background work for good (a projection runner stopped by a PostgreSQL kill -9)."""
