"""Pages: one template each, the shared context, forms read back, and times in the group's own zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.response import Redirect, Template

from shared.domain.input import outside_the_calendar
from web.api import ApiError
from web.catalogue import translator
from web.session import Me, take_flash

_ = translator()


def page(request: Request[Any, Any, Any], template: str, me: Me | None, *, status: int = 200,
         errors: dict[str, str] | None = None, values: dict[str, Any] | None = None, **context: Any) -> Template:
    """A page with what every page shows: who is signed in, messages from the last step, form errors."""
    zoned = {"tz_name": me.time_zone} if me is not None else {}  # the group's own zone
    return Template(template_name=template, status_code=status, context={
        "me": me, "flash": take_flash(request), "errors": errors or {}, "values": values or {},
        "path": request.url.path, **zoned, **context})


def refused(error: ApiError, fallback: str = "form") -> dict[str, str]:
    """An API refusal as form errors: on the field it names, or on the form as a whole."""
    return {error.field or fallback: error.detail}


def back(to: str) -> Redirect:
    """After a form did its work: the page to see it on (303, so reloading does not send it again)."""
    return Redirect(to, status_code=303)


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def when(value: str | datetime | None, tz: ZoneInfo, with_time: bool = True) -> str:
    """A time in the group's zone, in words: "Tuesday 3 March 2026, 10:30"."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(tz)
    day = f"{local:%A} {local.day} {local:%B %Y}"
    return f"{day}, {local:%H:%M}" if with_time else day


def local_moment(day: str, at: str, tz: ZoneInfo) -> datetime:
    """A date and a time from a form, in the group's zone (ValueError when either is not one, or the day is
    outside the years 1900 to 2999 that the services take: at the calendar's edge an hour later overflows)."""
    moment = datetime.combine(date.fromisoformat(day), time.fromisoformat(at or "00:00"), tzinfo=tz)
    if outside_the_calendar(moment):
        raise ValueError("a day from 1900 to 2999")
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise ValueError("the clocks go forward then: that time does not exist on that day")
    return moment


def in_days(days: int, tz: ZoneInfo) -> tuple[str, str]:
    """A date and time ``days`` from now, for a form's default."""
    moment = datetime.now(tz) + timedelta(days=days)
    return moment.date().isoformat(), "17:00"
