"""Identifiers and time, taken at the edge and handed to deciders on commands.

Deciders never call these: the shell does, so a decider stays pure and a
replay sees the same ids and times the live system saw.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7, so ids sort roughly by creation."""
    return uuid7()


def utc_now() -> datetime:
    """Now in UTC, at the microsecond precision PostgreSQL keeps."""
    return datetime.now(UTC)
