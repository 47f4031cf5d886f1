"""The decisions service: groups, proposals, ballots and outcomes (port 8101)."""

from __future__ import annotations

from litestar import Litestar

from services.decisions.context import Decisions
from services.decisions.events import CONTRACT
from services.decisions.http import CONTROLLERS
from services.decisions.jobs import run_closer
from services.decisions.projections import PROJECTIONS
from services.decisions.subscriptions import REACTIONS
from shared.web.kernel import Kernel
from shared.web.log import read_log
from shared.web.plugin import service_app


async def start(kernel: Kernel) -> Decisions:
    """Decisions' context, whose cached states a forgetting anywhere clears; and the automatic closer."""
    decisions = Decisions(kernel.store)
    kernel.on_forget.append(decisions.forget_cached)
    kernel.run(run_closer(kernel.store, kernel.stop), "closer")
    return decisions


def create_app() -> Litestar:
    return service_app(
        "decisions",
        [read_log, *CONTROLLERS],
        description="Groups, proposals, ballots and outcomes that are equal, traceable and replayable.",
        start=start,
        projections=PROJECTIONS,
        reactions=REACTIONS,
        event_types=CONTRACT.types,
    )
