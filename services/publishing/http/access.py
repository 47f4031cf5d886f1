"""Which group a caller may address, and who is in it: the kernel's guards, then the group's roster."""

from __future__ import annotations

import uuid

from shared.access.guards import admit, require_role
from shared.access.principals import Principal
from shared.access.roster import Members, Roster
from shared.domain.roles import Role


async def group_roster(members: Members, principal: Principal, group_id: uuid.UUID,
                       roles: tuple[Role, ...] = (), doing: str = "do that") -> Roster:
    """The roster of the caller's group (404 for another group or none), for a caller holding
    one of ``roles`` when any are named (403)."""
    admit(principal, group_id)
    if roles:
        require_role(principal, roles, doing)
    return await members.existing(group_id)
