"""What a request may say: the kernel's types for every request body and every struct used inside one.

Strictness is fixed here, where input starts, rather than route by route:
a field a struct does not know is refused (a typo such as ``double_majorty``
must never be dropped silently), a time without an offset is refused (it
cannot be placed in anyone's time zone, and comparing it with an aware time
fails later, on a read), and integers carry both bounds so nothing beyond
what PostgreSQL's ``bigint`` holds reaches the store. ``tests/unit/test_input_types.py``
walks every route of the three services and holds each request body to this.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec

BIGINT_MAX = 2**63 - 1
"""The largest integer PostgreSQL's ``bigint`` (a global position, a cursor) holds."""


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
"""Times a request may name lie in [EARLIEST, LATEST): far enough from the ends of Python's calendar that
placing one in any time zone, adding a meeting's length or a recurrence to it, or storing it works."""


def outside_the_calendar(moment: datetime) -> bool:
    """Whether a time lies outside what copro takes (``EARLIEST``, ``LATEST``); a naive time counts as UTC."""
    return not EARLIEST <= recorded_as_utc(moment) < LATEST


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters but tab, line feed and carriage return: PostgreSQL's text refuses U+0000 (a title holding
one stopped every group's proposal list), and none of them belongs in anything a person reads."""


def _values(value: object) -> tuple[object, ...]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    if isinstance(value, dict):
        return (*value.keys(), *value.values())
    return (value,)


def check_input(body: msgspec.Struct, within: str = "") -> None:
    """What no type can say: a time within the calendar, text without control characters (``Body``), in the
    ``FrozenBody`` values inside too (they check nothing themselves: they are read back from the log as well,
    where what was recorded must always read)."""
    for name in body.__struct_fields__:
        for value in _values(getattr(body, name)):
            if isinstance(value, FrozenBody):
                check_input(value, f"{within}{name}.")
            elif isinstance(value, datetime) and outside_the_calendar(value):
                raise ValueError(f"`{within}{name}` must be a time from 1900 to 2999")
            elif isinstance(value, str) and not value.isprintable() and (found := _CONTROLS.search(value)):
                raise ValueError(f"`{within}{name}` holds a control character (U+{ord(found.group()):04X})")


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every request body and of every struct inside one: unknown fields are refused, never dropped,
    and a time outside the years 1900 to 2999 (``LATEST``) or text with a control character (``_CONTROLS``) is
    refused where it comes in."""

    def __post_init__(self) -> None:
        check_input(self)


class FrozenBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The same for a value that is also a default or part of a recorded event (frozen, as a recorded fact is):
    the ``Body`` it comes in checks it (``StrictRequest`` one that is a whole body)."""


Instant = Annotated[datetime, msgspec.Meta(
    tz=True, description="RFC 3339 date-time with an offset (Z or +hh:mm), from 1900 to 2999; a time without an "
                         "offset is refused")]
"""A moment in a request: with an offset, always, and within ``EARLIEST`` and ``LATEST``."""

Cursor = Annotated[int, msgspec.Meta(ge=0, le=BIGINT_MAX)]
"""A position or cursor in a request: never negative, never beyond ``bigint``."""


def offset_problem(**moments: datetime | None) -> str | None:
    """The first of the named times that has no offset, for deciders that take times from more than one edge."""
    return next((name for name, moment in moments.items() if moment is not None and moment.utcoffset() is None), None)


def recorded_as_utc(moment: datetime) -> datetime:
    """A time as recorded: one stored without an offset (before offsets were required) is read as UTC, so that
    the log it sits in still reads instead of failing every comparison with an aware time."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
