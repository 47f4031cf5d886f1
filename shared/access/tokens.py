"""Bearer tokens that resolve to a principal: the operator or a group member.

Tokens are random secrets shown once; only their SHA-256 hash is stored, so a
leaked database does not leak working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from shared.access.principals import Principal
from shared.domain.errors import Unauthenticated
from shared.eventlog.store import EventStore
from shared.runtime.credentials import made_once


def new_token() -> str:
    return "copro_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_digest(token: str) -> str:
    """A token's hash as events record it (hex): member and calendar-feed tokens are never stored."""
    return token_hash(token).hex()


def operator_token(path: Path) -> str:
    """The operator token, created (mode 0600) on first use."""
    token = made_once(path, (new_token() + "\n").encode()).decode().strip()  # the first process's, if several start
    if not token:
        raise RuntimeError(f"{path} is empty: delete it to make a new operator token")
    return token


async def ensure_operator_token(conn: asyncpg.Connection, path: Path) -> str:
    """Make sure the operator token exists and its hash is registered."""
    token = operator_token(path)
    await conn.execute(
        "INSERT INTO access_tokens (token_hash, kind) VALUES ($1, 'operator') ON CONFLICT (token_hash) DO NOTHING",
        token_hash(token),
    )
    return token


MemberResolver = Callable[[str], Awaitable["Principal | None"]]


async def resolve(store: EventStore, authorization: str | None, members: MemberResolver | None = None) -> Principal:
    """The principal behind an ``Authorization: Bearer`` header, or 401.

    Operator tokens live in ``access_tokens``; a service that knows members
    (decisions, from its group events) resolves member tokens itself.
    """
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("send Authorization: Bearer <token>", field="Authorization")
    token = authorization[7:].strip()
    if members is not None and (member := await members(token)) is not None:
        return member
    row = await store.pool.fetchrow(
        "SELECT kind, group_id, member_id, organisation_id, roles FROM access_tokens"
        " WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash(token),
    )
    if row is None:
        raise Unauthenticated("the token is unknown or revoked", field="Authorization")
    return Principal(
        kind=row["kind"], group_id=row["group_id"], member_id=row["member_id"],
        organisation_id=row["organisation_id"], roles=tuple(row["roles"]),
    )

