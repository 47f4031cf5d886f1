"""The decisions service: groups, proposals, ballots and outcomes (port 8101)."""

from __future__ import annotations

import asyncio
from typing import get_args

from litestar import Litestar

from services.decisions import auditing, groups, proposals
from services.decisions.closer import run_closer
from services.decisions.directory import Directory
from services.decisions.domain.events import GroupEvent, ProposalEvent
from services.decisions.domain.proposal import Proposal
from services.decisions.projections import PROJECTIONS
from services.decisions.publication import SUBSCRIPTIONS
from shared.eventlog.handler import StateCache
from shared.web.log import read_log
from shared.web.plugin import service_app


async def _start(app: Litestar) -> None:
    store = app.state.store
    directory = Directory(store)
    proposal_states: StateCache[Proposal] = StateCache()
    app.state.update(directory=directory, proposals=proposal_states, member_resolver=directory.resolve)
    app.state.on_forget.extend([directory.groups.clear, proposal_states.clear])
    app.state.tasks.append(asyncio.create_task(run_closer(store, app.state.stop), name="closer"))


def create_app() -> Litestar:
    return service_app(
        "decisions",
        [read_log, *groups.ROUTES, *proposals.ROUTES, *auditing.ROUTES],
        description="Groups, proposals, ballots and outcomes that are equal, traceable and replayable.",
        on_start=[_start],
        projections=PROJECTIONS,
        subscriptions=SUBSCRIPTIONS,
        event_types=[*get_args(GroupEvent), *get_args(ProposalEvent)],
    )
