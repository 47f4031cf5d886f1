"""HTTP for auditors (and every member, read-only): a member's history and the group as of a time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, get

from services.decisions.access import caller, state
from services.decisions.domain.group import group_decider, group_stream
from services.decisions.domain.proposal import proposal_decider
from services.decisions.groups import group_out
from services.decisions.schemas import GroupOut
from shared.access.principals import Authenticated
from shared.domain.errors import NotFound
from shared.eventlog.envelope import RecordedEvent
from shared.web.log import LogEvent, log_event

TAGS = ["audit"]


class ProposalAsOf(msgspec.Struct):
    proposal_id: uuid.UUID
    title: str
    kind: str
    status: str
    ballots: int
    result: str | None


class GroupAsOf(msgspec.Struct):
    as_of: datetime
    position: int
    group: GroupOut
    proposals: list[ProposalAsOf]


def _until(events: list[RecordedEvent], moment: datetime) -> list[RecordedEvent]:
    return [e for e in events if e.recorded_at <= moment]


@get("/groups/{group_id:uuid}/members/{member_id:uuid}/history", tags=TAGS,
     summary="Every event a member caused or that concerns them, in global order")
async def member_history(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, member_id: uuid.UUID
) -> list[LogEvent]:
    who = await caller(request, principal, group_id)
    if member_id not in who.group.members:
        raise NotFound("no such member in this group")
    ids = await state(request, "store").pool.fetch(
        "SELECT e.id FROM events e WHERE e.group_id = $1 AND (e.actor_id = $2"
        " OR position(convert_to($3::text, 'UTF8') in e.payload) > 0) ORDER BY e.seq",
        group_id, member_id, str(member_id),
    )
    wanted = {r["id"] for r in ids}
    store = state(request, "store")
    out: list[LogEvent] = []
    streams = await store.pool.fetch(
        "SELECT DISTINCT stream_id FROM events WHERE id = ANY($1::uuid[])", list(wanted))
    for row in streams:
        out.extend(log_event(e) for e in await store.read_stream(row["stream_id"]) if e.id in wanted)
    return sorted(out, key=lambda e: (e.position or 0, e.recorded_at))


@get("/groups/{group_id:uuid}/as-of", tags=TAGS,
     summary="The group as it stood at a past time: members, rule and every proposal's state then")
async def group_as_of(
    request: Request[Any, Any, Any], principal: Authenticated, group_id: uuid.UUID, time: datetime
) -> GroupAsOf:
    await caller(request, principal, group_id)
    store = state(request, "store")
    group = group_decider.fold(group_decider.decode(e) for e in _until(await store.read_stream(group_stream(group_id)),
                                                                       time))
    if not group.exists:
        raise NotFound("the group did not exist yet at that time")
    opened = await store.pool.fetch(
        "SELECT DISTINCT stream_id FROM events WHERE group_id = $1 AND type = 'decisions.ProposalOpened'"
        " AND recorded_at <= $2", group_id, time)
    proposals = []
    for row in opened:
        proposal = proposal_decider.fold(
            proposal_decider.decode(e) for e in _until(await store.read_stream(row["stream_id"]), time))
        assert proposal.opened is not None
        proposals.append(ProposalAsOf(
            proposal_id=proposal.opened.proposal_id, title=proposal.title, kind=proposal.opened.kind,
            status=proposal.status, ballots=len(proposal.ballots),
            result=proposal.outcome.result if proposal.outcome else None))
    position = await store.pool.fetchval(
        "SELECT coalesce(max(l.position), 0) FROM log l JOIN events e ON e.seq = l.seq WHERE e.recorded_at <= $1", time)
    return GroupAsOf(as_of=time, position=position, group=group_out(group),
                     proposals=sorted(proposals, key=lambda p: str(p.proposal_id)))


ROUTES = [member_history, group_as_of]
