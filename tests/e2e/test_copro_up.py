"""The README's first command: ``copro up`` on its own data folder, end to end."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import asyncpg
import pytest

from shared.runtime.credentials import user_of, with_user
from shared.runtime.embedded import free_port
from shared.runtime.leader import leaders

PORTS = {name: free_port() for name in ("decisions", "scheduling", "publishing")}
WEB_PORT = free_port()
SERVER_PORTS = {"COPRO_EMBEDDED_PG_PORT": str(free_port()), "COPRO_EMBEDDED_NATS_PORT": str(free_port()),
                "COPRO_LOG_PORT": str(free_port())}


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except OSError:
        return 0


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, COPRO_HOME=str(home), **SERVER_PORTS)
    env.pop("COPRO_DATABASE_URL", None)
    env.pop("COPRO_NATS_URL", None)
    for name, port in PORTS.items():
        env[f"COPRO_{name.upper()}_PORT"] = str(port)
    env["COPRO_WEB_PORT"] = str(WEB_PORT)
    return env


@pytest.fixture
def up(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = _env(tmp_path / "home")
    output = tmp_path / "up.log"

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "up"], env=env,
                                stdout=output.open("wb"), stderr=subprocess.STDOUT)

    yield start, output, tmp_path / "home"


def _wait_ready(process: subprocess.Popen[bytes], output: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        assert process.poll() is None, output.read_text()
        if all(_get(f"http://127.0.0.1:{p}/readyz") == 200 for p in PORTS.values()):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError("not ready within 60s:\n" + output.read_text())


async def test_up_serves_three_ready_services_and_stops_cleanly_twice(up) -> None:  # type: ignore[no-untyped-def]
    start, output, home = up
    counts: list[int] = []
    for run in range(2):  # the second run reuses the data folder
        process = start()
        try:
            _wait_ready(process, output)
            for port in PORTS.values():
                assert _get(f"http://127.0.0.1:{port}/healthz") == 200
            for _ in range(300):
                if "Press Ctrl-C" in output.read_text():
                    break
                time.sleep(0.1)
            printed = output.read_text()
            up_lines = printed[printed.index("copro is up:"):].splitlines()
            assert up_lines[1].split()[:2] == ["web", "app"] and f":{WEB_PORT}" in up_lines[1]  # the web app first
            assert _get(f"http://127.0.0.1:{WEB_PORT}/welcome") == 200
            if run == 0:  # the demo loads a working group through the public API of the running system
                demo = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "demo"], env=_env(home),
                                      capture_output=True, text=True, timeout=120)
                assert demo.returncode == 0, demo.stdout + demo.stderr
                for expected in ("-> passed", "-> blocked", "organisation_parity", "won in round 2", "published: ",
                                 "120 attendees in an equal mix", "/sign-in/copro_s_"):
                    assert expected in demo.stdout, demo.stdout
            printed_url = re.search(r"database\s+(\S+)", printed).group(1)  # type: ignore[union-attr]
            app_password = json.loads((home / "postgres-passwords.json").read_text())["copro_app"]
            assert app_password not in printed and user_of(printed_url) == "copro_app"  # the services' role
            database_url = with_user(printed_url, "copro_app", app_password)
            assert str(home / "operator-token") in printed
            conn = await asyncpg.connect(database_url)
            try:
                if run == 0:  # refused even while the table is empty
                    for statement in ("UPDATE events SET type = 'x'", "DELETE FROM events", "TRUNCATE events"):
                        with pytest.raises(asyncpg.InsufficientPrivilegeError):
                            await conn.execute(statement)
                    await conn.execute(
                        "INSERT INTO events (id, group_id, stream_id, stream_version, type, payload, recorded_at,"
                        " content_hash, chain_hash) VALUES (gen_random_uuid(), gen_random_uuid(), 's', 1, 't',"
                        " '{}', now(), '', '')"
                    )
                for statement in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute(statement)
                if run == 0:  # `copro forget` records who forgot whom, and with what consent, as the API does
                    member = await conn.fetchval(
                        "SELECT convert_from(payload, 'UTF8')::jsonb ->> 'member_id' FROM events"
                        " WHERE type = 'decisions.MemberAdded' ORDER BY recorded_at DESC LIMIT 1")
                    forgot = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "forget", member, "--consent",
                                             "asked in person, agreed"], env=_env(home), capture_output=True, text=True,
                                            timeout=60)
                    assert forgot.returncode == 0 and "recorded" in forgot.stdout, forgot.stdout + forgot.stderr
                    again = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "forget", member, "--consent",
                                            "asked again"], env=_env(home), capture_output=True, text=True, timeout=60)
                    assert again.returncode == 0 and "nothing recorded" in again.stdout, again.stdout + again.stderr
                    assert await conn.fetchval(
                        "SELECT count(*) FROM events WHERE type = 'decisions.MemberForgotten'"
                        " AND convert_from(payload, 'UTF8')::jsonb ->> 'member_id' = $1", member) == 1
                counts.append(await conn.fetchval("SELECT count(*) FROM events"))
                # the log process leads the sealer and the relay; the services stand by for it
                log_pid = json.loads((home / "up.json").read_text())["log"]
                for _ in range(300):
                    held = await leaders(conn)
                    expected = {f"copro {role} {socket.gethostname()}:{log_pid}"[:63] for role in ("sealer", "relay")}
                    if {held.get("sealer"), held.get("relay")} == expected:
                        break
                    time.sleep(0.1)
                else:
                    raise AssertionError(f"leaders {held}, not the log process {log_pid}")
            finally:
                await conn.close()
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0, output.read_text()
        assert "copro stopped." in output.read_text()
        assert not any(_get(f"http://127.0.0.1:{p}/healthz") for p in [*PORTS.values(), WEB_PORT])
    assert counts[0] > 1 and counts[1] == counts[0]  # the demo's events and ours, kept across the restart
