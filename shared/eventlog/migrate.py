"""Versioned plain-SQL migrations, applied once each, at start-up and by ``copro migrate``.

Several services start at once against one database, so the runner holds a
transaction-level advisory lock: one applies, the others then find nothing to do.
"""

from __future__ import annotations

import re
from importlib import resources

import asyncpg

from shared.eventlog.locks import Lock


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for entry in resources.files("shared.eventlog.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migration_tables() -> set[str]:
    """The tables the migrations make (the log and the services' working tables); any other table in the
    schema is a read model, made by the services themselves."""
    made: set[str] = {"schema_migrations"}
    for _, _, sql in migration_files():
        for statement in re.finditer(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)|ALTER TABLE (\w+) RENAME TO (\w+)", sql):
            created, old, new = statement.groups()
            if created:
                made.add(created)
            else:
                made.discard(old)
                made.add(new)
    return made


async def pending(conn: asyncpg.Connection) -> list[str]:
    """The migrations not applied yet (readable by the app role)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")} if exists else set()
    return [name for version, name, _ in migration_files() if version not in done]


async def migrate(conn: asyncpg.Connection, app_role: str | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied now.

    Run as the owner role; ``app_role`` (the services' role) is then given exactly what the services
    need on every table, by ``copro_grant_app`` (migration 0020)."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", Lock.MIGRATIONS)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied_now.append(name)
        if app_role is not None and app_role != await conn.fetchval("SELECT current_user"):
            await conn.execute("SELECT copro_grant_app($1)", app_role)
    return applied_now


async def migrate_url(url: str, app_role: str | None = None) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn, app_role)
    finally:
        await conn.close()
