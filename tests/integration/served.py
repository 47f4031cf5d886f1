"""A service under uvicorn in its own process: streams (Server-Sent Events) need a real connection."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx

from shared.runtime.embedded import EmbeddedNats, free_port


@contextlib.contextmanager
def served(service: str, database_url: str, nats: EmbeddedNats, home: Path, *, output: IO[str] | None = None,
           **settings: str) -> Iterator[str]:
    """The service's base URL while it runs on the given database (as the app role) and NATS (as its user);
    ``settings`` are more ``COPRO_*`` variables, ``output`` where its log goes."""
    port = free_port()
    env = {**os.environ, "COPRO_DATABASE_URL": database_url, "COPRO_NATS_URL": nats.url, "COPRO_HOME": str(home),
           "COPRO_NATS_CREDENTIALS": str(nats.credentials), "COPRO_LOG_LEVEL": "warning", **settings}
    server = subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "serve", service, "--port", str(port)],
                              env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            try:
                if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a stream a test left open holds a graceful shutdown
            server.kill()
            server.wait(timeout=10)
