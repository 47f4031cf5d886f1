"""The auditor's view of one event's causal chain, the same in every service."""

from __future__ import annotations

import uuid

from litestar import get

from shared.access.guards import admit, require_role
from shared.access.principals import AUDITORS, Authenticated
from shared.audit.trace import Chain, actor_names, chain
from shared.runtime.discovery import reaction_names
from shared.web.kernel import Kernel


@get("/groups/{group_id:uuid}/events/{event_id:uuid}/trace", tags=["audit"],
     summary="What caused an event and everything it caused, with actors and times (auditor or facilitator)")
async def trace_event(kernel: Kernel, principal: Authenticated, group_id: uuid.UUID, event_id: uuid.UUID) -> Chain:
    admit(principal, group_id)
    require_role(principal, AUDITORS, "trace events")
    return await chain(kernel.store, event_id, group_id=group_id, names=actor_names(reaction_names()))
