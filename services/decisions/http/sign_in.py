"""HTTP: signing people in without passwords, and signing them out.

A facilitator (or the operator, for the first facilitator: ``copro invite``)
creates a one-time sign-in link for a member; the web app exchanges its code
once, before it expires, for a member token that expires too. Codes and
tokens are shown once; the log keeps only their SHA-256. Codes name their
group, as member tokens do, so ``POST /sign-in`` needs no token to find it.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, post

from services.decisions.context import Decisions
from services.decisions.domain.group import (
    IssueSignInLink,
    RevokeToken,
    SignIn,
    SignOutEverywhere,
    group_decider,
    group_stream,
)
from services.decisions.events import SignedIn, SignInLinkIssued, TokenRevoked
from services.decisions.http.groups import managed
from shared.access.guards import require_owner
from shared.access.principals import FACILITATORS, Authenticated
from shared.access.roster import member_token
from shared.access.tokens import token_digest
from shared.domain.errors import Forbidden, Unauthenticated
from shared.domain.ids import new_id, utc_now
from shared.domain.input import Body
from shared.eventlog.handler import Idempotency, handle
from shared.web.openapi import documented

TAGS = ["sign-in"]
CODE_PREFIX = "copro_s_"
SESSION = timedelta(days=30)
"""How long a token from a sign-in link works (sign out, or sign out everywhere, ends it sooner)."""


class SignInLinkIn(Body):
    expires_in_hours: Annotated[int, msgspec.Meta(ge=1, le=720)] = 72


class SignInLinkOut(msgspec.Struct):
    link_id: uuid.UUID
    member_id: uuid.UUID
    code: str
    expires_at: datetime
    note: str = "shown once: only its hash is kept; it works once"


class SignInIn(Body):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class SignInOut(msgspec.Struct):
    group_id: uuid.UUID
    member_id: uuid.UUID
    token_id: uuid.UUID
    token: str
    expires_at: datetime


class SignedOut(msgspec.Struct):
    revoked: int


def code_group(code: str) -> uuid.UUID:
    """The group a sign-in code names (401 for anything that is not a code)."""
    try:
        if not code.startswith(CODE_PREFIX):
            raise ValueError(code)
        return uuid.UUID(hex=code[len(CODE_PREFIX):].split("_", 1)[0])
    except ValueError:
        raise Unauthenticated("this sign-in link is unknown, used or expired: ask a facilitator for a new one",
                              field="code") from None


NO_STORE = {"Cache-Control": "no-store"}


class SignInController(Controller):
    path = "/"
    tags = TAGS

    @post("/groups/{group_id:uuid}/members/{member_id:uuid}/sign-in-links",
          summary="Create a one-time, expiring sign-in link for a member (facilitator); the code is shown once")
    async def issue_link(self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
                         member_id: uuid.UUID, data: SignInLinkIn | None = None) -> Response[SignInLinkOut]:
        await managed(service, principal, group_id)
        if once.key:
            raise Forbidden("sign-in codes are shown once: create them without an Idempotency-Key",
                            field="Idempotency-Key")
        code = f"{CODE_PREFIX}{group_id.hex}_{secrets.token_urlsafe(32)}"
        now = utc_now()
        command = IssueSignInLink(member_id=member_id, link_id=new_id(), code_hash=token_digest(code),
                                  expires_at=now + timedelta(hours=(data or SignInLinkIn()).expires_in_hours), at=now)
        _, events = await service.on_group(group_id, command, once)
        issued = next(e for e in events if isinstance(e, SignInLinkIssued))
        body = SignInLinkOut(link_id=issued.link_id, member_id=member_id, code=code, expires_at=issued.expires_at)
        return Response(body, status_code=201, headers=NO_STORE)

    @post("/sign-in", summary="Exchange a sign-in code, once, for a member token that expires (no token needed)",
          opt=documented(answers={401: ("The code is unknown, already used or expired", {})}))
    async def sign_in(self, service: Decisions, data: SignInIn) -> Response[SignInOut]:
        group_id = code_group(data.code)
        token = member_token(group_id, secrets.token_urlsafe(32))
        now = utc_now()
        command = SignIn(code_hash=token_digest(data.code), token_id=new_id(), token_hash=token_digest(token),
                         token_expires_at=now + SESSION, at=now)
        group, _ = await service.group(group_id)
        if not group.exists:
            raise Unauthenticated("this sign-in link is unknown, used or expired: ask a facilitator for a new one",
                                  field="code")
        done = await handle(service.store, group_decider, command, group_id=group_id, stream_id=group_stream(group_id),
                            cache=service.groups)
        signed = next(e for e in done.events if isinstance(e, SignedIn))
        body = SignInOut(group_id=group_id, member_id=signed.member_id, token_id=signed.token_id, token=token,
                         expires_at=signed.expires_at)
        return Response(body, status_code=201, headers=NO_STORE)

    @post("/groups/{group_id:uuid}/sign-out", summary="Sign out: the token that calls stops working")
    async def sign_out(self, once: Idempotency, principal: Authenticated, service: Decisions, group_id: uuid.UUID,
                       request: Request) -> SignedOut:  # type: ignore[type-arg]
        group = await service.admitted(principal, group_id)
        digest = token_digest(request.headers.get("Authorization", "")[7:].strip())
        mine = [t for t, (_, h) in group.tokens.items() if h == digest]
        if not mine:
            raise Forbidden("only a member's own token can be signed out; the operator's stays", field="Authorization")
        await service.on_group(group_id, RevokeToken(token_id=mine[0], at=utc_now()), once)
        return SignedOut(revoked=1)

    @post("/groups/{group_id:uuid}/members/{member_id:uuid}/sign-out-everywhere",
          summary="Revoke every token of a member: sign-in sessions and API tokens (the member, or a facilitator)")
    async def sign_out_everywhere(self, once: Idempotency, principal: Authenticated, service: Decisions,
                                  group_id: uuid.UUID, member_id: uuid.UUID) -> SignedOut:
        await service.admitted(principal, group_id)
        require_owner(principal, member_id, "sign out everywhere", or_roles=FACILITATORS)
        _, events = await service.on_group(group_id, SignOutEverywhere(member_id=member_id, at=utc_now()), once)
        return SignedOut(revoked=sum(isinstance(e, TokenRevoked) for e in events))
