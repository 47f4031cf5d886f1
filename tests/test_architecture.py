"""The import contracts in pyproject.toml hold: services never import each other, the kernel never imports a
service, domains are pure, and each service is layered app > adapters > context > jobs > domain."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    declared = len(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"])
    assert declared >= 5
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {declared} kept, 0 broken." in result.stdout
