"""Logs a person can read: an idle service says nothing; each request is one access line with its request id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.runtime.embedded import EmbeddedNats
from tests.integration.served import served


@pytest.fixture
def logged(database_url: str, own_nats: EmbeddedNats, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The decisions service under uvicorn, logging JSON lines to a file."""
    log = tmp_path / "service.log"
    with log.open("w") as sink, served("decisions", database_url, own_nats, tmp_path, output=sink,
                                       COPRO_LOG_FORMAT="json", COPRO_LOG_LEVEL="info") as base:
        yield base, log


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_each_request_is_one_json_access_line_and_an_idle_service_is_quiet(logged: tuple[str, Path]) -> None:
    base, log = logged
    assert all(line.startswith("{") for line in log.read_text().splitlines() if line.strip()), log.read_text()
    answer = httpx.get(base + "/healthz", headers={"X-Request-Id": "check-42"})
    assert answer.headers["x-request-id"] == "check-42"
    deadline = time.monotonic() + 60
    while not [e for e in _lines(log) if e.get("request_id") == "check-42"] and time.monotonic() < deadline:
        time.sleep(0.05)
    [access] = [e for e in _lines(log) if e.get("request_id") == "check-42"]
    assert (access["logger"], access["method"], access["path"], access["status"]) == ("copro.access", "GET",
                                                                                     "/healthz", 200)
    before = len(_lines(log))
    time.sleep(3.0)  # an idle stretch: the consumers' empty fetches and the loops' polls must say nothing
    idle = _lines(log)[before:]
    assert [e for e in idle if e["level"] in ("WARNING", "ERROR")] == [], idle
