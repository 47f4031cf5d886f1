"""The scheduling service: meetings, events, role sign-ups and table plans (port 8102)."""

from __future__ import annotations

from litestar import Litestar

from shared.web.app import service_app


def create_app() -> Litestar:
    return service_app(
        "scheduling",
        [],
        description="Meetings, events, roles and sign-ups, attendees and table plans.",
    )
