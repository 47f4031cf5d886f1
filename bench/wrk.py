"""Load from outside with ``wrk`` (Debian package ``wrk``): a C load generator that is not the
bottleneck here (it answers a trivial POST at several times copro's rate on one thread).

POST bodies with bearer tokens, spread over the given requests round robin (each wrk thread
starts at its own offset), through a generated Lua script; returns requests/s and p50/p99.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 16

_SCRIPT = """
local requests = %s
local counter = 0
setup = function(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
local i = 0
request = function()
  i = i + 1
  local r = requests[((offset or 0) + i) %% #requests + 1]
  local headers = {["Content-Type"] = "application/json"}
  if r[2] ~= "" then headers["Authorization"] = "Bearer " .. r[2] end
  return wrk.format("POST", r[1], headers, r[3])
end
"""


@dataclass(frozen=True)
class Figures:
    rate: float
    p50: float
    p99: float
    errors: int

    def row(self, label: str) -> str:
        return f"{label:<46} {self.rate:>9,.0f} {self.p50:>8.1f} {self.p99:>8.1f}" + (
            f"   ({self.errors} non-2xx or socket errors!)" if self.errors else "")


HEADER = f"{'':<46} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _lua(value: object) -> str:
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    return json.dumps(value)  # a JSON string is a valid Lua string literal for these contents


def run(base: str, requests: list[tuple[str, str, str]], seconds: float, connections: int = CONNECTIONS,
        threads: int = 1) -> Figures:
    """``requests``: (path, bearer token or "", JSON body). Runs wrk for ``seconds``."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_SCRIPT % _lua(requests))
    try:
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency",
                              "-s", script.name, base], capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if found := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(n) for n in found.groups())
    return Figures(rate, p50, p99, errors)
