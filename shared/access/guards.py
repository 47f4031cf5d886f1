"""The checks every route makes before it acts: which group, which role, whose resource.

One set for all three services, so "who may do what" (the trust model of
DESIGN.md) is written once. Each raises the error the API answers with:
another group's data does not exist for a caller (404); a missing role or
someone else's resource is refused (403) with the action named.
"""

from __future__ import annotations

import uuid

from shared.access.principals import PARTICIPANTS, Principal
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
                  *, or_roles: tuple[Role, ...] = ()) -> None:
    """403 unless the principal is the resource's owner, or holds one of ``or_roles`` (a facilitator
    acting for the group, say)."""
    if principal.member_id is not None and principal.member_id == owner_id:
        return
    if or_roles and principal.holds(or_roles):
        return
    raise Forbidden(f"only the member it belongs to can {doing}")
