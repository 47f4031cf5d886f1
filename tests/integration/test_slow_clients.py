"""Slow or silent clients cannot hold a service's sockets: headers have a deadline, the rest are served."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from shared.runtime.embedded import EmbeddedNats
from tests.integration.served import served


def _closed_within(port: int, first_bytes: bytes, seconds: float) -> float | None:
    """Seconds until the server closed a connection that sent only ``first_bytes``; None if it did not."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(seconds)
        if first_bytes:
            connection.sendall(first_bytes)
        began = time.monotonic()
        try:
            return time.monotonic() - began if connection.recv(100) == b"" else None
        except TimeoutError:
            return None


def test_silent_and_slow_header_connections_are_closed_and_others_served(
    database_url: str, own_nats: EmbeddedNats, tmp_path: Path
) -> None:
    with served("decisions", database_url, own_nats, tmp_path, COPRO_HEADER_TIMEOUT="1") as base:
        port = urlsplit(base).port
        assert port is not None
        silent = _closed_within(port, b"", 15)
        slowloris = _closed_within(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 15)
        assert silent is not None and silent < 10, silent
        assert slowloris is not None and slowloris < 10, slowloris
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200  # an honest client is answered
