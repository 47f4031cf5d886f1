"""HTTP for auditors (and every member, read-only): a member's history and the group as of a time."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from litestar import Controller, get

from services.decisions.context import Decisions
from services.decisions.domain.group import group_decider, group_stream
from services.decisions.domain.proposal import proposal_decider
from services.decisions.events import ProposalOpened
from services.decisions.http.groups import group_out
from services.decisions.http.proposals import BALLOT_CAST, as_reader_sees, tally_visible
from services.decisions.http.schemas import GroupAsOf, ProposalAsOf
from shared.access.principals import Authenticated
from shared.domain.contract import type_name
from shared.domain.errors import NotFound
from shared.eventlog.envelope import RecordedEvent
from shared.eventlog.store import POSITION_AS_OF
from shared.web.kernel import Kernel
from shared.web.log import LogEvent, log_event
from shared.web.params import Moment

TAGS = ["audit"]


def _until(events: list[RecordedEvent], moment: datetime) -> list[RecordedEvent]:
    return [e for e in events if e.recorded_at <= moment]


class AuditController(Controller):
    path = "/groups/{group_id:uuid}"
    tags = TAGS

    @get("/members/{member_id:uuid}/history",
         summary="Every event a member caused or that concerns them, in global order")
    async def member_history(self, principal: Authenticated, service: Decisions, kernel: Kernel,
                             group_id: uuid.UUID, member_id: uuid.UUID) -> list[LogEvent]:
        group = await service.admitted(principal, group_id)
        if member_id not in group.members:
            raise NotFound("no such member in this group")
        store = kernel.store
        ids = await store.pool.fetch(
            "SELECT e.id FROM events e WHERE e.group_id = $1 AND (e.actor_id = $2"
            " OR position(convert_to($3::text, 'UTF8') in e.payload) > 0) ORDER BY e.seq",
            group_id, member_id, str(member_id),
        )
        wanted = {r["id"] for r in ids}
        out: list[LogEvent] = []
        streams = await store.pool.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE id = ANY($1::uuid[])", list(wanted))
        visible: dict[uuid.UUID, bool] = {}  # by proposal: may this reader see its ballots yet?
        for row in streams:
            for e in await store.read_stream(row["stream_id"]):
                if e.id not in wanted:
                    continue
                if e.type == BALLOT_CAST:
                    proposal_id = uuid.UUID(msgspec.json.decode(e.data)["proposal_id"])
                    if proposal_id not in visible:
                        visible[proposal_id] = tally_visible(await service.proposal(group, proposal_id),
                                                             principal.member_id)
                    out.append(as_reader_sees(e, visible[proposal_id]))
                else:
                    out.append(log_event(e))
        return sorted(out, key=lambda e: (e.position or 0, e.recorded_at))

    @get("/as-of", summary="The group as it stood at a past time: members, rule and every proposal's state then")
    async def group_as_of(self, principal: Authenticated, service: Decisions, kernel: Kernel, group_id: uuid.UUID,
                          time: Moment) -> GroupAsOf:
        await service.admitted(principal, group_id)
        store = kernel.store
        group = group_decider.fold(
            group_decider.decode(e) for e in _until(await store.read_stream(group_stream(group_id)), time))
        if not group.exists:
            raise NotFound("the group did not exist yet at that time")
        opened = await store.pool.fetch(
            "SELECT DISTINCT stream_id FROM events WHERE group_id = $1 AND type = $3 AND recorded_at <= $2",
            group_id, time, type_name(ProposalOpened))
        proposals = []
        for row in opened:
            # opened with every seal: what this answer shows of a proposal (counts, status) reveals no ballot
            proposal = proposal_decider.fold(proposal_decider.decode(e) for e in _until(
                await store.read_stream(row["stream_id"], unsealed=True), time))
            assert proposal.opened is not None
            proposals.append(ProposalAsOf(
                proposal_id=proposal.opened.proposal_id, title=proposal.title, kind=proposal.opened.kind,
                status=proposal.status, ballots=len(proposal.ballots),
                result=proposal.outcome.result if proposal.outcome else None))
        position = await store.pool.fetchval(
            POSITION_AS_OF,
            time)
        return GroupAsOf(as_of=time, position=position, group=group_out(group),
                         proposals=sorted(proposals, key=lambda p: str(p.proposal_id)))
