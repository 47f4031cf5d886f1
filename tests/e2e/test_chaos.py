"""The chaos suite's smoke size: every fault, a short workload, all the checks (``bench/chaos.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_chaos_smoke_loses_nothing_and_heals_itself() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "chaos.py"), "--smoke"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    print(run.stdout)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-6000:]
    for line in ("lost                0", "duplicated          0", "unexplained events  0", "faults injected     8",
                 "100.0% of the group's events, in order: True", "projections         equal a rebuild",
                 "audit verify --live passes"):
        assert line in run.stdout, run.stdout
