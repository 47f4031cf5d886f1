"""Time zones: a group's meetings live in its IANA zone, so a weekly 10:30 stays 10:30 when the clocks change.

The zone is part of what the group's log says (decisions records it at creation and when a facilitator
changes it); every service reads it from there, as it reads the group's members.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_TIME_ZONE = "Europe/London"
"""A new group's zone when its creator names none: copro's groups so far meet in the UK."""

RECORDED_BEFORE_ZONES = "UTC"
"""The zone of a group created before groups had one: its meetings were expanded in UTC, and still are."""


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """An IANA zone name this machine's time zone database knows (``Europe/London``, ``UTC``)."""
    return name in _known()


@cache
def zone(name: str) -> ZoneInfo:
    """The zone itself (one instance per name, so equal local times compare and hash alike)."""
    return ZoneInfo(name)


def local(moment: datetime, name: str) -> datetime:
    """The same instant as wall-clock time in the named zone."""
    return moment.astimezone(zone(name))
