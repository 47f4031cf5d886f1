"""What keeps ``copro up`` serving: its processes and embedded servers, restarted when they die.

``copro up`` runs the log process (sealer, relay, signer), each service and the
web app in its own process. The
supervisor looks at them a few times a second: a process that exited is
started again after a back-off (a quarter of a second, doubling per failure
in a row up to ten seconds; a process that ran for a minute starts the count
afresh) while the others go on serving. The embedded PostgreSQL and NATS it
uses are started again the same way when they stop (their data is on disk:
PostgreSQL recovers from its write-ahead log, JetStream from its store); the
services wait an outage out, and background leadership (sealer, relay,
webhook delivery) moves to a live process when its holder's connection ends
(the services stand by for the log process, see ``shared/web/log_process.py``).

Its processes end with it, even when it is killed outright (``follow_supervisor``).
One ``copro up`` per home: it holds ``<home>/up.lock`` while it runs and
writes the process ids it supervises to ``<home>/up.json`` (for ``copro
status``, operators and the chaos suite). A second one refuses at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from shared.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from shared.runtime.settings import Settings

FIRST_DELAY = 0.25
MOST_DELAY = 10.0
STEADY_AFTER = 60.0
"""A process that ran this long before it died is restarted after the first delay again."""

_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_PDEATHSIG = 1
SUPERVISOR_PID = "COPRO_SUPERVISOR_PID"
"""Set in the environment of each process ``copro up`` starts: the process id it must not outlive."""


def _say(line: str) -> None:
    print(f"copro: {line}", file=sys.stderr, flush=True)


def become_subreaper() -> None:
    """Adopt orphaned descendants (PostgreSQL's postmaster daemonizes), so a dead one is reaped by us
    and its process id does not linger as a zombie that would stop a restart (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def follow_supervisor() -> None:
    """End with the ``copro up`` that started this process, even one killed with SIGKILL (it then has no
    chance to stop its children, which would keep the ports and refuse the next ``copro up``): the kernel
    sends this process SIGTERM, and the server stops as on Ctrl-C (Linux only). Started by a ``copro up``
    that is already gone, it stops at once."""
    supervisor = os.environ.get(SUPERVISOR_PID)
    if not supervisor:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(supervisor):
        raise SystemExit("copro: the copro up that started this process has stopped")


class AlreadyRunning(RuntimeError):
    """Another ``copro up`` runs for this home, or the ports it needs are taken."""


def _port_taken(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class HomeLock:
    """``<home>/up.lock``, held (flock) for as long as a ``copro up`` runs for the home."""

    def __init__(self, home: Path) -> None:
        self.path = home / "up.lock"
        self.state = home / "up.json"
        self._file: IO[str] | None = None

    def take(self, settings: Settings, names: tuple[str, ...]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(f"copro up already runs for {self.path.parent}: {self.describe()}") from None
        self._file = handle
        taken = [f"{name} port {port}" for name, port in _ports(settings, names) if _port_taken(settings.host, port)]
        if taken:
            self.release()
            raise AlreadyRunning(f"in use by another program (another copro up on another home?): {', '.join(taken)}")

    def describe(self) -> str:
        try:
            state = json.loads(self.state.read_text())
        except (OSError, ValueError):
            return "its process ids are not known yet"
        return ", ".join(f"{name} pid {pid}" for name, pid in state.items())

    def write(self, pids: dict[str, int]) -> None:
        temporary = self.state.with_suffix(".tmp")
        temporary.write_text(json.dumps(pids))
        temporary.replace(self.state)

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.state.unlink()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _ports(settings: Settings, names: tuple[str, ...]) -> list[tuple[str, int]]:
    ports = {"web": settings.web_port, "log": settings.log_port}
    return [(name, ports.get(name) or settings.ports[name]) for name in names]


@dataclass
class Watched:
    """One thing the supervisor keeps alive, with its back-off state."""

    name: str
    alive: Callable[[], bool]
    start: Callable[[], None]
    pid: Callable[[], int | None]
    failures: int = 0
    started_at: float = field(default_factory=time.monotonic)
    due: float | None = None
    died_at: float | None = None
    restarts: int = 0

    def check(self, now: float) -> bool:
        """Restart when due; True when something changed."""
        if self.due is None:
            if self.alive():
                return False
            ran = now - self.started_at
            self.failures = 1 if ran >= STEADY_AFTER else self.failures + 1
            delay = min(MOST_DELAY, FIRST_DELAY * 2 ** (self.failures - 1))
            self.due, self.died_at = now + delay, now
            _say(f"{self.name} stopped; starting it again in {delay:.2f}s")
            return False
        if now < self.due:
            return False
        try:
            self.start()
        except Exception as exc:  # a server that cannot start yet is tried again later
            self.failures += 1
            delay = min(MOST_DELAY, FIRST_DELAY * 2 ** (self.failures - 1))
            self.due = time.monotonic() + delay
            _say(f"{self.name} did not start ({exc}); trying again in {delay:.2f}s")
            return False
        self.started_at, self.due, self.restarts = time.monotonic(), None, self.restarts + 1
        _say(f"{self.name} started again (pid {self.pid()}, {self.started_at - (self.died_at or now):.1f}s after it stopped)")
        return True


class Supervisor:
    """The service processes of ``copro up`` and the embedded servers it uses."""

    def __init__(self, settings: Settings, env: dict[str, str], names: tuple[str, ...], lock: HomeLock) -> None:
        self.settings = settings
        self.env = env
        self.lock = lock
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.watched: list[Watched] = []
        self.started_servers: set[str] = set()
        if settings.database_url is None:
            pg = EmbeddedPostgres(settings.home, settings.embedded_pg_port)
            self.watched.append(Watched("postgres", pg.running, lambda: self._server(pg, "postgres"), lambda: _pg_pid(pg)))
        if settings.nats_url is None:
            nats = EmbeddedNats(settings.home, settings.embedded_nats_port, settings.nats_stream)
            self.watched.append(Watched("nats", nats.running, lambda: self._server(nats, "nats"), nats.pid))
        for name in names:
            self.watched.append(Watched(name, partial(self._alive, name), partial(self._spawn, name),
                                        partial(self._pid, name)))

    def _server(self, server: EmbeddedPostgres | EmbeddedNats, name: str) -> None:
        if server.start():
            self.started_servers.add(name)

    def _spawn(self, name: str) -> None:
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", "shared.runtime.cli", "serve", name], env={**self.env, SUPERVISOR_PID: str(os.getpid())})

    def _pid(self, name: str) -> int | None:
        child = self.children.get(name)
        return child.pid if child is not None else None

    def _alive(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.poll() is None

    def start(self) -> None:
        for item in self.watched:
            if item.name in self.children or item.name in ("postgres", "nats"):
                continue
            item.start()
        self.record()

    def record(self) -> None:
        pids = {"up": os.getpid()}
        for item in self.watched:
            if (pid := item.pid()) is not None:
                pids[item.name] = pid
        self.lock.write(pids)

    def tick(self) -> None:
        now = time.monotonic()
        if any([item.check(now) for item in self.watched]):
            self.record()

    def exited_during_start(self) -> list[str]:
        return [name for name, child in self.children.items() if child.poll() is not None]

    def stop(self, signal_number: int, seconds: float = 15) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal_number)
        for child in self.children.values():
            try:
                child.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                child.kill()


def _pg_pid(pg: EmbeddedPostgres) -> int | None:
    try:
        return int((pg.pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None
