"""Which group a caller may address, and who acts: the kernel's guards, then the group's roster."""

from __future__ import annotations

import uuid

from shared.access.guards import acting_member
from shared.access.principals import READERS, Principal
from shared.domain.errors import Forbidden
from shared.domain.roles import Role

ANY_MEMBER: tuple[Role, ...] = READERS
"""Who may hold a personal calendar feed: any member. The feed is a read credential (the meetings the
member may read with their token, for calendar apps that send none), so observers and auditors may too;
everything else a member does for themselves (an RSVP, a sign-up) is for participants only."""



def member_and_organisation(principal: Principal, doing: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A facilitator or member acting for themselves, and the organisation they act for (sign-ups and
    swaps are counted per organisation); observers, auditors and the operator only read (403)."""
    member = acting_member(principal, doing)
    if principal.organisation_id is None:
        raise Forbidden(f"only a member of an organisation can {doing}")
    return member, principal.organisation_id
