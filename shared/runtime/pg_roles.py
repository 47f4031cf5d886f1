"""PostgreSQL roles: an owner that migrates, an app role the services run as, and a superuser kept apart.

The owner role owns the database and every table the migrations make; the
services log in as the app role, which may read and append to the log and
change only its own working tables (``copro_grant_app`` in migration 0020
grants them table by table). Neither is a superuser, so neither can set
``session_replication_role``; the app role owns no table of the log, so it
cannot alter, drop or truncate one, nor drop or disable a trigger.

The same SQL, for an external PostgreSQL, is in ``deploy/SECURITY.md``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from shared.eventlog.migrate import migration_tables

OWNER_ROLE = "copro_owner"
APP_ROLE = "copro_app"
_LIMITS = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def ensure_roles(admin: asyncpg.Connection, owner_password: str, app_password: str) -> None:
    """Create (or reset) the owner and app roles with their passwords; run as a superuser."""
    for role, password in ((OWNER_ROLE, owner_password), (APP_ROLE, app_password)):
        exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        verb = "ALTER" if exists else "CREATE"
        await admin.execute(f"{verb} ROLE {ident(role)} LOGIN {_LIMITS} PASSWORD {_literal(password)}")


async def adopt(admin: asyncpg.Connection, database: str) -> list[str]:
    """Give the database, and the objects a superuser made in it before roles existed, to their roles.

    Tables the migrations make go to the owner; any other table is a read model and goes to the app
    role (a rebuild replaces it); functions go to the owner. Run as a superuser, connected to
    ``database``; returns what changed hands, for the upgrade's log line.
    """
    await admin.execute(f"ALTER DATABASE {ident(database)} OWNER TO {ident(OWNER_ROLE)}")
    moved: list[str] = []
    made = migration_tables()
    tables = await admin.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_get_userbyid(c.relowner) <> ALL($1::name[])",
        [OWNER_ROLE, APP_ROLE],
    )
    for row in tables:
        role = OWNER_ROLE if row["relname"] in made else APP_ROLE
        await admin.execute(f"ALTER TABLE public.{ident(row['relname'])} OWNER TO {ident(role)}")
        moved.append(f"{row['relname']} -> {role}")
    routines = await admin.fetch(
        "SELECT p.oid::regprocedure::text AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> $1",
        OWNER_ROLE,
    )
    for row in routines:
        await admin.execute(f"ALTER ROUTINE {row['signature']} OWNER TO {ident(OWNER_ROLE)}")
    if await admin.fetchval("SELECT to_regproc('copro_grant_app') IS NOT NULL"):
        await admin.execute(f"SET ROLE {ident(OWNER_ROLE)}")
        try:
            await admin.execute("SELECT copro_grant_app($1)", APP_ROLE)
        finally:
            await admin.execute("RESET ROLE")
    return moved


def on_database(url: str, name: str) -> str:
    """The same server and login, another database."""
    return urlsplit(url)._replace(path="/" + name).geturl()


async def create_database(admin_url: str, name: str, owner: str | None, template: str | None = None) -> None:
    """A new database owned by the owner role (so the owner may migrate it), optionally from a template."""
    admin = await asyncpg.connect(admin_url)
    try:
        clauses = (f" OWNER {ident(owner)}" if owner else "") + (f" TEMPLATE {ident(template)}" if template else "")
        await admin.execute(f"CREATE DATABASE {ident(name)}{clauses}")
    finally:
        await admin.close()
