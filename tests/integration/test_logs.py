"""Logs a person can read: an idle service says nothing; each request is one access line with its request id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.runtime.embedded import free_port


@pytest.fixture
def served(database_url: str, own_nats: Any, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The decisions service under uvicorn, logging JSON lines to a file."""
    port, log = free_port(), tmp_path / "service.log"
    env = dict(os.environ, COPRO_DATABASE_URL=database_url, COPRO_NATS_URL=own_nats.url,
               COPRO_NATS_CREDENTIALS=str(own_nats.credentials),
               COPRO_HOME=str(tmp_path),
               COPRO_LOG_FORMAT="json", COPRO_LOG_LEVEL="info")
    with log.open("w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "serve", "decisions", "--port", str(port)],
                                  env=env, stderr=sink, stdout=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=20)


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_each_request_is_one_json_access_line_and_an_idle_service_is_quiet(served: tuple[str, Path]) -> None:
    base, log = served
    assert all(line.startswith("{") for line in log.read_text().splitlines() if line.strip()), log.read_text()
    answer = httpx.get(base + "/healthz", headers={"X-Request-Id": "check-42"})
    assert answer.headers["x-request-id"] == "check-42"
    deadline = time.monotonic() + 10
    while not [e for e in _lines(log) if e.get("request_id") == "check-42"] and time.monotonic() < deadline:
        time.sleep(0.05)
    [access] = [e for e in _lines(log) if e.get("request_id") == "check-42"]
    assert (access["logger"], access["method"], access["path"], access["status"]) == ("copro.access", "GET",
                                                                                     "/healthz", 200)
    before = len(_lines(log))
    time.sleep(3.0)  # an idle stretch: the consumers' empty fetches and the loops' polls must say nothing
    idle = _lines(log)[before:]
    assert [e for e in idle if e["level"] in ("WARNING", "ERROR")] == [], idle
