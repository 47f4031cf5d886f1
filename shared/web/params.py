"""Query, path and header parameters shared by every service, bounded where they start.

A cursor beyond PostgreSQL's ``bigint`` used to reach asyncpg and answer 500;
bounded here it answers 400 naming the parameter. Times in a query take an
offset, as in a body (``shared.domain.input.Instant``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar.params import Parameter

from shared.domain.errors import CoproError
from shared.domain.input import BIGINT_MAX, outside_the_calendar

After = Annotated[int, Parameter(ge=0, le=BIGINT_MAX, description="the cursor (a global position) to read after")]
Position = Annotated[int, Parameter(ge=0, le=BIGINT_MAX, description="a global position in the log")]
AfterOrNot = Annotated[int | None, Parameter(ge=0, le=BIGINT_MAX, description="the cursor (a global position) to "
                                                                              "read after; left out, from now")]
"""``After`` that may be left out: ``After | None`` loses its bounds in Litestar (checked nowhere, documented)."""


class AwareTime(datetime):
    """A time given in a query: Litestar parses query datetimes without msgspec's ``tz`` constraint, so the
    kernel decodes this type itself (``TYPE_DECODERS``) and refuses a time without an offset."""


def _aware_time(_: type, value: Any) -> AwareTime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.utcoffset() is None:
        raise ValueError("Expected `datetime` with a timezone component")
    if outside_the_calendar(moment):
        raise ValueError("Expected a time from 1900 to 2999")
    return AwareTime.fromisoformat(moment.isoformat())


TYPE_DECODERS: list[tuple[Callable[[Any], bool], Callable[[type, Any], Any]]] = [
    (lambda kind: kind is AwareTime, _aware_time)]
Moment = Annotated[AwareTime, Parameter(description="RFC 3339 date-time with an offset (Z or +hh:mm), from 1900 to 2999",
                                        schema_extra={"type": "string", "format": "date-time"})]


class BadHeader(CoproError):
    status = 400
    slug = "validation"


def last_event_id(value: str | None) -> int | None:
    """``Last-Event-ID`` as a position: absent, or digits within ``bigint``; anything else is refused."""
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or int(value) > BIGINT_MAX:
        raise BadHeader("Last-Event-ID must be a global position (0 to 2^63-1)", field="Last-Event-ID")
    return int(value)
