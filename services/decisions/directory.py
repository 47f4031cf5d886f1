"""Who is in which group, read from the group streams, never from a copy that could lag.

Every request checks the group stream's head and folds only the events it
has not seen, so a token issued a moment ago works at once and a role taken
away stops working at once.
"""

from __future__ import annotations

import uuid

from services.decisions.domain.group import Group, group_decider, group_stream
from shared.access.principals import Principal
from shared.access.roster import token_group
from shared.access.tokens import token_digest
from shared.domain.errors import NotFound
from shared.eventlog.handler import StateCache, load
from shared.eventlog.store import EventStore


class Directory:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.groups: StateCache[Group] = StateCache()

    async def group(self, group_id: uuid.UUID) -> tuple[Group, int]:
        """The group as of its latest event, and that event's version."""
        return await load(self.store, group_decider, group_stream(group_id), self.groups)

    async def existing(self, group_id: uuid.UUID) -> Group:
        group, _ = await self.group(group_id)
        if not group.exists:
            raise NotFound("no such group")
        return group

    async def resolve(self, token: str) -> Principal | None:
        """A member token's principal with the member's current roles, or None."""
        if (group_id := token_group(token)) is None:
            return None
        group, _ = await self.group(group_id)
        member = group.member_by_token(token_digest(token))
        if member is None:
            return None
        return Principal(kind="member", group_id=group_id, member_id=member.member_id,
                         organisation_id=member.organisation_id, roles=member.roles)
