"""The whole system for browser tests: the three services and the web app as real processes on free loopback
ports, on the module's own database and NATS server, and Debian's Chromium driven by Playwright.

Chromium is the system's (``apt-get install chromium``), never a download: ``playwright install`` is not
needed. Screenshots of every page at both widths go to ``.copro-test/screenshots`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.runtime.embedded import EmbeddedNats, free_port
from tests.conftest import ROOT

SCREENSHOTS = ROOT / ".copro-test" / "screenshots"
PROCESSES = ("decisions", "scheduling", "publishing", "web")


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class System:
    """The running services and web app, and the operator's token for setting up a group through the API."""

    def __init__(self, home: Path, ports: dict[str, int], env: dict[str, str]) -> None:
        self.env = env
        self.home = home
        self.ports = ports
        self.web = f"http://127.0.0.1:{ports['web']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def operator(self) -> str:
        return (self.home / "operator-token").read_text().strip()


@pytest.fixture(scope="module")
def system(database_url: str, own_nats: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("home")
    ports = {name: free_port() for name in PROCESSES}
    env = dict(os.environ, COPRO_HOME=str(home), COPRO_DATABASE_URL=database_url, COPRO_NATS_URL=own_nats.url,
               COPRO_NATS_CREDENTIALS=str(own_nats.credentials), COPRO_LOG_LEVEL="warning", COPRO_WEB_PORT=str(ports["web"]),
               **{f"COPRO_{n.upper()}_PORT": str(p) for n, p in ports.items() if n != "web"})
    logs = {name: (home / f"{name}.log").open("wb") for name in PROCESSES}
    children = {name: subprocess.Popen([sys.executable, "-m", "shared.runtime.cli", "serve", name], env=env, cwd=ROOT,
                                       stdout=logs[name], stderr=subprocess.STDOUT) for name in PROCESSES}
    running = System(home, ports, env)
    try:
        deadline = time.monotonic() + 60
        for name in PROCESSES:
            ready = f"{running.url(name)}/{'healthz' if name == 'web' else 'readyz'}"
            while not _up(ready):
                assert children[name].poll() is None, (home / f"{name}.log").read_text()
                assert time.monotonic() < deadline, f"{name} not ready: " + (home / f"{name}.log").read_text()
                time.sleep(0.1)
        yield running
    finally:
        for child in children.values():
            child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        for log in logs.values():
            log.close()


@pytest.fixture(scope="module")
def browser(system: System) -> Iterator[Any]:
    """Chromium, started after the system: Playwright's sync API runs an event loop of its own, so the
    asynchronous fixtures (the module's database) must be set up before it and torn down after it."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does it when missing)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
