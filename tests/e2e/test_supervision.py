"""``copro up`` heals itself: a killed service, NATS or PostgreSQL comes back without a person."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from shared.runtime.embedded import free_port
from tests.e2e.test_copro_up import _get

PORTS = {name: free_port() for name in ("decisions", "scheduling", "publishing")}
WEB_PORT = free_port()
LOG_PORT = free_port()


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, COPRO_HOME=str(home), COPRO_EMBEDDED_PG_PORT=str(free_port()),
               COPRO_EMBEDDED_NATS_PORT=str(free_port()), COPRO_WEB_PORT=str(WEB_PORT), COPRO_LOG_PORT=str(LOG_PORT))
    env.pop("COPRO_DATABASE_URL", None)
    env.pop("COPRO_NATS_URL", None)
    for name, port in PORTS.items():
        env[f"COPRO_{name.upper()}_PORT"] = str(port)
    return env


def _until(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {seconds}s:\n{log.read_text()}")


def _ready() -> bool:
    return all(_get(f"http://127.0.0.1:{p}/readyz") == 200 for p in PORTS.values())


def _pids(home: Path) -> dict[str, int]:
    try:
        return {k: int(v) for k, v in json.loads((home / "up.json").read_text()).items()}
    except (OSError, ValueError):
        return {}


def test_up_restarts_what_dies_and_a_second_up_refuses(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "up.log"
    env = _env(home)
    up = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "up"], env=env,
                          stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        _until(_ready, 120, "ready", log)
        _until(lambda: "Press Ctrl-C" in log.read_text(), 30, "up printed", log)

        second = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "up"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert "already runs" in second.stderr and "decisions pid" in second.stderr, second.stderr
        assert "copro is up" not in second.stdout

        recovered: dict[str, float] = {}
        for victim, port in (("decisions", PORTS["decisions"]), ("log", LOG_PORT), ("web", WEB_PORT), ("nats", None),
                             ("postgres", None)):
            old = _pids(home)[victim]
            os.kill(old, signal.SIGKILL)

            def back(victim: str = victim, port: int | None = port, old: int = old) -> bool:
                if _pids(home).get(victim, old) == old:
                    return False
                return _get(f"http://127.0.0.1:{port}/healthz") == 200 if port else _ready()

            recovered[victim] = _until(back, 90, f"{victim} back", log)
            assert up.poll() is None, log.read_text()
        assert _ready()
        print("recovered in seconds:", recovered)
    finally:
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0, log.read_text()
    assert "copro stopped." in log.read_text()
    assert not (home / "up.json").exists()


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit is reaped by whoever adopts it, maybe never here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_processes_end_with_a_killed_up(tmp_path: Path) -> None:
    """``copro up`` killed outright (SIGKILL: no chance to stop anything) leaves no service behind holding its
    port, so the next ``copro up`` on the same ports starts."""
    home, log = tmp_path / "home", tmp_path / "up.log"
    env = _env(home)
    up = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "up"], env=env,
                          stdout=log.open("wb"), stderr=subprocess.STDOUT)
    children: dict[str, int] = {}
    try:
        _until(_ready, 120, "ready", log)
        children = {name: pid for name, pid in _pids(home).items() if name not in ("up", "postgres", "nats")}
        assert set(children) == {"log", "web", *PORTS}, children
        os.kill(up.pid, signal.SIGKILL)
        up.wait(timeout=10)
        _until(lambda: not any(_running(pid) for pid in children.values()), 30, "every process gone", log)
        _until(lambda: all(_get(f"http://127.0.0.1:{p}/healthz") == 0 for p in (*PORTS.values(), WEB_PORT, LOG_PORT)),
               10, "every port free", log)
        # the next copro up starts on the same ports, with the embedded servers the killed one left running
        up = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "up"], env=env,
                              stdout=log.open("ab"), stderr=subprocess.STDOUT)
        _until(_ready, 120, "ready again", log)
        children = {name: pid for name, pid in _pids(home).items() if name not in ("up", "postgres", "nats")}
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0, log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
        for pid in children.values():  # should this fail, nothing it left holds a port for the next run
            with contextlib.suppress(OSError):
                if b"shared.runtime.cli" in Path(f"/proc/{pid}/cmdline").read_bytes():  # ours, not a reused pid
                    os.kill(pid, signal.SIGKILL)
        subprocess.run([sys.executable, "-m", "shared.runtime.cli", "down"], env=env, capture_output=True, timeout=60)
