"""What decisions keeps while it runs, given to its routes as ``service: Decisions``, and who acts in a group.

Groups are read from their own streams, never from a copy that could lag:
each read checks the stream's head and folds only the events not yet seen,
so a member added a moment ago can act at once and a role taken away stops
counting at once. Bearer tokens are the kernel's business (its ``Members``);
here a caller the kernel admitted becomes, for the proposal domain, the
``Voter`` acting for themselves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from services.decisions.domain.group import Group, GroupCommand, group_decider, group_stream
from services.decisions.domain.proposal import (
    OpenProposal,
    Proposal,
    ProposalCommand,
    Voter,
    proposal_decider,
    proposal_stream,
)
from services.decisions.events import GroupEvent, ProposalEvent
from shared.access.guards import acting_member, admit
from shared.access.principals import PARTICIPANTS, Principal
from shared.domain.errors import NotFound
from shared.domain.roles import Role
from shared.eventlog.handler import Idempotency, StateCache, execute, load
from shared.eventlog.store import EventLog


@dataclass
class Decisions:
    """The decisions service's context: the log and the folded groups and proposals it caches."""

    store: EventLog
    groups: StateCache[Group] = field(default_factory=StateCache)
    proposals: StateCache[Proposal] = field(default_factory=StateCache)

    def forget_cached(self) -> None:
        """After anyone was forgotten: cached states may still hold their name or words."""
        self.groups.clear()
        self.proposals.clear()

    async def group(self, group_id: uuid.UUID) -> tuple[Group, int]:
        """The group as of its latest event, and that event's version."""
        return await load(self.store, group_decider, group_stream(group_id), self.groups)

    async def existing(self, group_id: uuid.UUID) -> Group:
        group, _ = await self.group(group_id)
        if not group.exists:
            raise NotFound("no such group")
        return group

    async def admitted(self, principal: Principal, group_id: uuid.UUID) -> Group:
        """The group, for the operator or one of its members; for anyone else it does not exist (404)."""
        admit(principal, group_id)
        group = await self.existing(group_id)
        if not principal.is_operator and principal.member_id not in group.members:
            raise NotFound("no such group")
        return group

    async def on_group(self, group_id: uuid.UUID, command: GroupCommand, once: Idempotency
                       ) -> tuple[Group, list[GroupEvent]]:
        """A command on the group's stream, once per ``Idempotency-Key``."""
        return await execute(self.store, group_decider, command, group_id=group_id, stream_id=group_stream(group_id),
                             cache=self.groups, once=once)

    async def on_proposal(self, group: Group, proposal_id: uuid.UUID, command: ProposalCommand, once: Idempotency
                          ) -> tuple[Proposal, list[ProposalEvent]]:
        """A command on one of the group's proposals (404 for any other), once per ``Idempotency-Key``."""
        assert group.group_id is not None
        cached = self.proposals.get(proposal_stream(proposal_id))
        if cached is not None and cached[1].opened is not None:
            # a proposal's group never changes: the cache tells it (deciding still checks the state is current)
            if cached[1].opened.group_id != group.group_id:
                raise NotFound("no such proposal in this group")
        elif not isinstance(command, OpenProposal):
            await self.proposal(group, proposal_id)
        return await execute(self.store, proposal_decider, command, group_id=group.group_id,
                             stream_id=proposal_stream(proposal_id), cache=self.proposals, once=once, optimistic=True)

    async def proposal(self, group: Group, proposal_id: uuid.UUID) -> Proposal:
        """A proposal of this group (404 for none, or another group's)."""
        found, _ = await load(self.store, proposal_decider, proposal_stream(proposal_id), self.proposals)
        if found.opened is None or found.opened.group_id != group.group_id:
            raise NotFound("no such proposal in this group")
        return found


def acting_voter(principal: Principal, group: Group, doing: str, roles: tuple[Role, ...] = PARTICIPANTS) -> Voter:
    """The member acting for themselves, as the proposal domain knows them (403 for the operator and
    for members without one of ``roles``)."""
    member = group.members[acting_member(principal, doing, roles)]
    return Voter(member_id=member.member_id, organisation_id=member.organisation_id,
                 lived_experience=member.lived_experience, facilitator="facilitator" in member.roles)


