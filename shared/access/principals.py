"""Who is calling, and the roles a member can hold: the one definition every service uses.

A principal is the operator (runs the installation, creates groups) or a
member of exactly one group, with roles in it. Auditors and observers are
members whose roles let them read and never write.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec
from litestar.di import NamedDependency

from shared.domain.roles import Role

FACILITATORS: tuple[Role, ...] = ("facilitator",)
"""Manage members, rules, meetings, the gathering, closing."""

PARTICIPANTS: tuple[Role, ...] = ("facilitator", "member")
"""Act for themselves: propose, vote, sign up, RSVP, draft."""

AUDITORS: tuple[Role, ...] = ("facilitator", "auditor")
"""Read what an audit needs (deliveries, histories) without writing anything."""

READERS: tuple[Role, ...] = ("facilitator", "member", "observer", "auditor")
"""Every role of a member: all of them read the group; observers and auditors only read."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The operator, or a member of one group with their organisation and roles."""

    kind: Literal["operator", "member"]
    group_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    roles: tuple[str, ...] = ()
    expires_at: datetime | None = None
    """When the token behind this principal stops working (None: until revoked)."""

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    def holds(self, roles: tuple[Role, ...]) -> bool:
        """Whether the principal holds one of ``roles``; the operator holds every role."""
        return self.is_operator or any(role in self.roles for role in roles)


Authenticated = NamedDependency[Principal]
"""A route parameter ``principal: Authenticated`` requires a valid bearer token (401 otherwise)."""
