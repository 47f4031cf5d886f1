"""The tree explains the system, and keeps doing so: checks of the shape ARCHITECTURE.md describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.fanout.catalogue import markdown
from shared.runtime.discovery import contracts
from shared.runtime.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400

# the same file names for the same roles, in every service (a service without such a part lacks the file)
ROLE_FILES = {"__init__.py", "app.py", "context.py", "events.py", "projections.py", "subscriptions.py", "jobs.py",
              "audit.py"}
ROLE_PACKAGES = {"domain", "http"}


def _modules() -> list[Path]:
    return [p for top in ("shared", "services", "web") for p in (ROOT / top).rglob("*.py")]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_grows_past_four_hundred_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by responsibility"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_service_has_the_same_shape(service: str) -> None:
    folder = ROOT / "services" / service
    files = {p.name for p in folder.iterdir() if p.is_file() and p.suffix == ".py"}
    packages = {p.name for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert files <= ROLE_FILES, f"{service} has files outside the service shape: {sorted(files - ROLE_FILES)}"
    assert packages == ROLE_PACKAGES, f"{service} has packages {sorted(packages)}, the shape is {sorted(ROLE_PACKAGES)}"
    assert {"app.py", "events.py"} <= files
    assert (folder / "http" / "__init__.py").exists() and (folder / "domain" / "__init__.py").exists()


def test_every_service_declares_a_versioned_event_contract() -> None:
    found = contracts()
    assert [c.service for c in found] == list(SERVICE_NAMES)
    for contract in found:
        assert contract.types, f"{contract.service} declares no event types"
        for entry in contract.catalogue():
            assert entry.version >= 1 and entry.name.startswith(f"{contract.service}.")


def test_the_event_catalogue_in_docs_is_current() -> None:
    written = (ROOT / "docs" / "events.md").read_text()
    assert written == markdown(contracts()), "docs/events.md is stale: run `copro events > docs/events.md`"


def test_copro_events_prints_the_catalogue() -> None:
    result = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "events"], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout == markdown(contracts())
