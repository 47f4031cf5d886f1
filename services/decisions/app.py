"""The decisions service: proposals, polls, ballots and outcomes (port 8101)."""

from __future__ import annotations

from litestar import Litestar

from shared.web.app import service_app
from shared.web.log import read_log


def create_app() -> Litestar:
    return service_app(
        "decisions",
        [read_log],
        description="Groups, proposals, ballots and outcomes that are equal, traceable and replayable.",
    )
