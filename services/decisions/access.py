"""Who may do what in a group, and running a command on behalf of a caller.

Only members act in their group; another group's data does not exist for
them (404). Facilitators manage members and close early; observers and
auditors only read; a member votes only as themselves.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, TypeVar

from litestar import Request

from services.decisions.directory import Directory
from services.decisions.domain.group import Group
from services.decisions.domain.proposal import Voter
from shared.access.principals import Principal
from shared.domain.decider import Decider
from shared.domain.errors import Forbidden, NotFound
from shared.eventlog.envelope import AppendResult, Metadata
from shared.eventlog.handler import StateCache, handle, load
from shared.eventlog.store import EventStore

C = TypeVar("C")
S = TypeVar("S")
E = TypeVar("E")

MANAGE = ("facilitator",)
PROPOSE = ("facilitator", "member")


class Caller:
    """The principal, the group they address and (for members) themselves as a voter."""

    def __init__(self, principal: Principal, group: Group, voter: Voter | None) -> None:
        self.principal = principal
        self.group = group
        self.voter = voter

    @property
    def group_id(self) -> uuid.UUID:
        assert self.group.group_id is not None
        return self.group.group_id

    def has(self, roles: tuple[str, ...]) -> bool:
        return self.principal.is_operator or any(r in roles for r in self.principal.roles)

    def require(self, roles: tuple[str, ...], doing: str) -> None:
        if not self.has(roles):
            raise Forbidden(f"only a {' or '.join(roles)} can {doing}")

    def member(self, doing: str) -> Voter:
        """The caller as a member of the group (the operator is not one)."""
        if self.voter is None:
            raise Forbidden(f"only a member of the group can {doing}")
        return self.voter

    @property
    def metadata(self) -> Metadata:
        return Metadata(actor_id=self.principal.member_id, actor_org=self.principal.organisation_id)


def state(request: Request[Any, Any, Any], name: str) -> Any:
    return request.app.state[name]


async def caller(request: Request[Any, Any, Any], principal: Principal, group_id: uuid.UUID) -> Caller:
    directory: Directory = state(request, "directory")
    if not principal.is_operator and principal.group_id != group_id:
        raise NotFound("no such group")
    group = await directory.existing(group_id)
    if principal.is_operator:
        return Caller(principal, group, None)
    member = group.members.get(principal.member_id) if principal.member_id else None
    if member is None:
        raise NotFound("no such group")
    voter = Voter(member_id=member.member_id, organisation_id=member.organisation_id,
                  lived_experience=member.lived_experience, facilitator="facilitator" in member.roles)
    return Caller(principal, group, voter)


async def _request_hash(request: Request[Any, Any, Any]) -> bytes:
    body = await request.body()
    return hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).digest()


async def execute(
    request: Request[Any, Any, Any],
    who: Caller,
    decider: Decider[C, S, E],
    command: C,
    stream_id: str,
    cache: StateCache[S] | None = None,
) -> tuple[S, list[E]]:
    """Run a command; with an ``Idempotency-Key``, a repeat answers from the first run's events."""
    store: EventStore = state(request, "store")
    key = request.headers.get("idempotency-key")
    scope = f"{who.group_id}:{who.principal.member_id or 'operator'}"
    request_hash = await _request_hash(request) if key else b""
    if key and (prior := await store.idempotent_result(scope, key, request_hash)) is not None:
        return await _replay(store, decider, prior)
    done = await handle(store, decider, command, group_id=who.group_id, stream_id=stream_id,
                        metadata=who.metadata, idempotency_key=key, idempotency_scope=scope,
                        request_hash=request_hash, cache=cache)
    if done.result is not None and done.result.duplicate:
        return await _replay(store, decider, done.result)
    return done.state, done.events


async def _replay(store: EventStore, decider: Decider[C, S, E], result: AppendResult) -> tuple[S, list[E]]:
    recorded = [r for r in await store.read_stream(result.stream_id) if r.stream_version <= result.stream_version]
    ids = set(result.event_ids)
    events = [decider.decode(r) for r in recorded if r.id in ids]
    return decider.fold(decider.decode(r) for r in recorded), events


async def current(
    request: Request[Any, Any, Any], decider: Decider[C, S, E], stream_id: str, cache: StateCache[S] | None = None
) -> S:
    found, _ = await load(state(request, "store"), decider, stream_id, cache)
    return found
