"""The checks every route makes before it acts: which group, which role, whose resource.

One set for all three services, so "who may do what" (the trust model of
DESIGN.md) is written once. Each raises the error the API answers with:
another group's data does not exist for a caller (404); a missing role or
someone else's resource is refused (403) with the action named.

Every write names who may make it with one of these: ``require_role`` (the
facilitator manages), ``acting_member`` (a participant acts for themselves:
the resource is theirs by construction) or ``require_owner`` (an existing
resource that belongs to someone: its owner, or the roles named for it).
Observers and auditors hold neither a participant's nor a facilitator's
role, so every write refuses them; ``sees_endpoints`` keeps partner
endpoints and delivery errors from anyone who does not manage them.
"""

from __future__ import annotations

import uuid

from shared.access.principals import FACILITATORS, PARTICIPANTS, Principal
from shared.domain.errors import Forbidden, NotFound
from shared.domain.roles import Role


def admit(principal: Principal, group_id: uuid.UUID) -> None:
    """Only the operator and the group's own members address a group; for anyone else it does not exist."""
    if not principal.is_operator and principal.group_id != group_id:
        raise NotFound("no such group")


def require_role(principal: Principal, roles: tuple[Role, ...], doing: str) -> None:
    """403 unless the principal holds one of ``roles`` (the operator holds every role)."""
    if not principal.holds(roles):
        raise Forbidden(f"only a {' or '.join(roles)} can {doing}")


def acting_member(principal: Principal, doing: str, roles: tuple[Role, ...] = PARTICIPANTS) -> uuid.UUID:
    """The member acting for themselves (their id), who must hold one of ``roles``: the operator,
    observers and auditors act for no one."""
    if principal.member_id is None:
        raise Forbidden(f"only a member of the group can {doing}")
    if not any(role in principal.roles for role in roles):
        raise Forbidden(f"only a {' or '.join(roles)} can {doing}")
    return principal.member_id


def require_owner(principal: Principal, owner_id: uuid.UUID | None, doing: str,
                  *, or_roles: tuple[Role, ...] = (), owner_roles: tuple[Role, ...] = PARTICIPANTS) -> None:
    """403 unless the principal is the resource's owner acting as a participant, or holds one of
    ``or_roles`` (a facilitator acting for the group, say). A resource without a recorded owner
    (``None``: the group's own, or recorded before owners were) belongs to ``or_roles`` alone.
    The owner must still hold one of ``owner_roles``: an owner who is now only an observer or auditor
    reads, and no longer writes."""
    owner = principal.member_id is not None and principal.member_id == owner_id
    if owner and any(role in principal.roles for role in owner_roles):
        return
    if or_roles and principal.holds(or_roles):
        return
    if owner_id is None:
        raise Forbidden(f"only a {' or '.join(or_roles) or 'facilitator'} can {doing}")
    raise Forbidden(f"only the member it belongs to can {doing}")


def sees_private(principal: Principal) -> bool:
    """Private personal fields (an attendee's access needs, whom they would sit apart from: see
    ``shared.access.privacy``) are for those who plan with them, the operator and facilitators."""
    return principal.holds(FACILITATORS)


def sees_endpoints(principal: Principal) -> bool:
    """Partner endpoints (webhook URLs) and what they answered (delivery errors) are for those who
    manage them, the operator and facilitators; an auditor sees counts and statuses only."""
    return principal.holds(FACILITATORS)
