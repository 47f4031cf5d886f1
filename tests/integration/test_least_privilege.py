"""Least privilege in PostgreSQL: the services' app role can read and append to the log, never rewrite it;
the embedded server requires passwords, kept in COPRO_HOME with mode 0600; a trusting home is upgraded."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from shared.domain.ids import new_id
from shared.eventlog.migrate import migrate_url
from shared.eventlog.store import EventStore
from shared.runtime.credentials import user_of
from shared.runtime.embedded import EmbeddedPostgres, Servers, free_port
from shared.runtime.pg_roles import APP_ROLE, OWNER_ROLE
from shared.runtime.settings import Settings
from tests.conftest import eventually, wait_sealed
from tests.integration.events import noted

LOG_TABLES = ("events", "log", "checkpoints", "checkpoint_signatures")
WORKING_TABLES = ("idempotency", "data_keys", "access_tokens", "relay_cursors", "projection_cursors",
                  "processed_events", "dead_letters", "webhook_cursors", "webhook_deliveries", "webhook_dead_letters")


def _embedded(servers: Servers) -> None:
    if servers.admin_url is None:
        pytest.skip("an external PostgreSQL: its roles are the operator's (deploy/SECURITY.md)")


async def test_the_app_role_cannot_rewrite_history(store: EventStore, servers: Servers) -> None:
    _embedded(servers)
    group = new_id()
    await store.append(group_id=group, stream_id=f"lp-{group}", events=[noted(1)], expected_version=0)
    await wait_sealed(store, 1)
    async with store.pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        assert not await conn.fetchval("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication"
                                       " FROM pg_roles WHERE rolname = current_user")
        refused = [
            "SET session_replication_role = replica",
            *(f"{verb} {table}" for table in LOG_TABLES for verb in ("TRUNCATE", "DELETE FROM")),
            *(f"UPDATE {table} SET position = position" for table in ("log", "checkpoints", "checkpoint_signatures")),
            "UPDATE events SET type = 'x'",
            "ALTER TABLE events ADD COLUMN forged text",
            "ALTER TABLE events DISABLE TRIGGER events_append_only",
            "ALTER TABLE events DISABLE TRIGGER ALL",
            "DROP TRIGGER events_append_only ON events",
            "DROP TRIGGER log_append_only ON log",
            "DROP TABLE events CASCADE",
            "ALTER TABLE log RENAME TO old_log",
            "CREATE OR REPLACE FUNCTION copro_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$",
            "CREATE TRIGGER forged BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION copro_refuse_change()",
            "ALTER ROLE copro_app SUPERUSER",
            "CREATE SCHEMA shadow",
        ]
        for statement in refused:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
        assert await conn.fetchval("SELECT count(*) FROM events") >= 1
        # what it may do: read and append (the store just did), and keep its own working tables
        await conn.execute("UPDATE relay_cursors SET updated_at = now() WHERE false")


async def test_grants_are_per_table_and_the_owner_owns_the_log(store: EventStore, servers: Servers) -> None:
    _embedded(servers)
    rows = await store.pool.fetch(
        "SELECT table_name, array_agg(privilege_type::text ORDER BY privilege_type) AS privileges"
        " FROM information_schema.role_table_grants WHERE grantee = $1 AND table_schema = 'public'"
        " GROUP BY table_name", APP_ROLE)
    granted = {r["table_name"]: set(r["privileges"]) for r in rows}
    for table in LOG_TABLES:
        assert granted[table] == {"SELECT", "INSERT"}, table
    for table in WORKING_TABLES:
        assert granted[table] == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
    assert granted["schema_migrations"] == {"SELECT"}
    assert not any({"TRUNCATE", "TRIGGER", "REFERENCES"} & p for p in granted.values())
    owners = dict(await store.pool.fetch(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1::text[])",
        [*LOG_TABLES, *WORKING_TABLES]))
    assert set(owners.values()) == {OWNER_ROLE}


async def test_services_under_test_run_as_the_app_role(
    api: AsyncTestClient, store: EventStore, servers: Servers, owner_database_url: str  # type: ignore[type-arg]
) -> None:
    _embedded(servers)
    assert (await api.get("/readyz")).status_code in (200, 503)  # the service is up, its connections open
    owner = await asyncpg.connect(owner_database_url)
    logins: set[str] = set()

    async def only_the_app_role() -> bool:  # the migrations' own session may still be on its way out
        nonlocal logins
        logins = {r["usename"] for r in await owner.fetch(
            "SELECT usename FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND usename IS NOT NULL")}  # not an autovacuum worker passing through (it has no user)
        return logins == {APP_ROLE}

    try:
        await eventually(only_the_app_role, 30, "only app-role sessions")
    except AssertionError:
        raise AssertionError(f"sessions of {logins} on the services' database") from None
    finally:
        await owner.close()
    # the service's pool, sealer, relay, projections, listeners: all the app role
    # its read models are its own (a rebuild replaces them); the log is not
    owners = dict(await store.pool.fetch(
        "SELECT tablename, tableowner FROM pg_tables WHERE tablename IN ('decisions_proposals', 'events')"))
    assert owners == {"decisions_proposals": APP_ROLE, "events": OWNER_ROLE}


async def test_passwords_are_required_and_kept_private(servers: Servers, settings: Settings) -> None:
    _embedded(servers)
    pg = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
    assert stat.S_IMODE(pg.passwords_file.stat().st_mode) == 0o600
    hba = [line for line in (pg.pgdata / "pg_hba.conf").read_text().splitlines() if line and not line.startswith("#")]
    assert hba and all(line.split()[-1] == "scram-sha-256" for line in hba)
    for user in ("postgres", OWNER_ROLE, APP_ROLE):
        with pytest.raises(asyncpg.InvalidPasswordError):  # trust is gone: no password, no connection
            await asyncpg.connect(f"postgresql://{user}@127.0.0.1:{pg.port}/postgres")
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(f"postgresql://{user}:wrong@127.0.0.1:{pg.port}/postgres")
    assert user_of(servers.database_url) == APP_ROLE


async def test_a_home_made_with_trust_is_upgraded_at_its_next_start(tmp_path: Path) -> None:
    """An older copro ran initdb --auth=trust and made its tables as the superuser: it must still start."""
    pg = EmbeddedPostgres(tmp_path, free_port())
    pg.pgdata.mkdir()
    pg.pgdata.chmod(0o700)
    run_as = pg._run_as()
    subprocess.run([pg._bin("initdb"), "-D", str(pg.pgdata), "-U", "postgres", "--auth=trust", "--no-instructions"],
                   check=True, capture_output=True, **run_as)  # type: ignore[call-overload]
    options = f"-c listen_addresses=127.0.0.1 -c port={pg.port} -c unix_socket_directories=''"
    subprocess.run([pg._bin("pg_ctl"), "-D", str(pg.pgdata), "-l", str(pg.pgdata / "server.log"), "-o", options,
                    "-w", "-t", "60", "start"],
                   check=True, capture_output=True, **run_as)  # type: ignore[call-overload]
    try:
        old = f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        await migrate_url(old)  # the old home's log, owned by the superuser
        conn = await asyncpg.connect(old)
        await conn.execute("CREATE TABLE decisions_proposals (proposal_id uuid PRIMARY KEY)")  # a read model
        await conn.close()
        assert pg._trusting()

        pg.start()  # running already: secured in place

        assert not pg._trusting()
        assert stat.S_IMODE(pg.passwords_file.stat().st_mode) == 0o600
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(old)
        await migrate_url(pg.owner_url, app_role=APP_ROLE)  # the owner now migrates the upgraded database
        app = await asyncpg.connect(pg.url)
        try:
            owners = dict(await app.fetch("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'"))
            assert owners["events"] == OWNER_ROLE and owners["decisions_proposals"] == APP_ROLE
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute("SET session_replication_role = replica")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app.execute("ALTER TABLE events DISABLE TRIGGER ALL")
            assert await app.fetchval("SELECT count(*) FROM events") == 0
        finally:
            await app.close()
    finally:
        pg.stop()
