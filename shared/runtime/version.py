"""copro's version, from the installed distribution: in the API documents and on every outgoing request."""

from __future__ import annotations

from importlib import metadata

try:
    VERSION = metadata.version("copro")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0"

USER_AGENT = f"copro/{VERSION}"
"""What copro's outgoing requests (webhook deliveries) call themselves."""
