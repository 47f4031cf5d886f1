"""The publishing service: resources, reflections, feeds and partner delivery (port 8103)."""

from __future__ import annotations

from litestar import Litestar

from shared.web.app import service_app


def create_app() -> Litestar:
    return service_app(
        "publishing",
        [],
        description="Co-produced resources and reflections, public feeds, partner delivery.",
    )
