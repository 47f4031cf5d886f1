"""One append on one connection: the single statement most appends are, and ``copro_append`` for the rest.

An append of one event is one SQL statement (``ONE_EVENT``): it reads the stream's head, checks the
expected version, the stream's group, the guard stream and a repeated idempotency key, extends the
stream chain, inserts the event and remembers the idempotency key. Measured with 8 writers, the same
checks inside the PL/pgSQL ``copro_append`` cost PostgreSQL about 40 µs more per append than this
statement (its array parameters, and each of its statements run through the function's executor),
which was most of the distance between an append and a bare INSERT. The statement inserts nothing
when a check fails; the append then goes through ``copro_append``, which says which check and why (or
answers an idempotency key's first result), so the two paths can never disagree on a refusal.
Events of several at once (an append of many, a batch) go through ``copro_append`` directly.
"""

from __future__ import annotations

import uuid

import asyncpg

from shared.domain.errors import ConcurrencyConflict, Forbidden, IdempotencyMismatch, StaleState
from shared.eventlog.batching import PreparedAppend

APPEND = "SELECT duplicate, stream_version, event_ids FROM copro_append(" + ", ".join(
    f"${i}" for i in range(1, 18)
) + ")"

_INSERT = """
INSERT INTO events (id, group_id, stream_id, stream_version, type, payload, actor_id, actor_org,
                    causation_id, correlation_id, recorded_at, content_hash, chain_hash)
SELECT $1, $2, $3, coalesce(h.stream_version, 0) + 1, $5, $6, $7, $8, $9, $10, $11, $12,
       sha256(coalesce(h.chain_hash, '\\x'::bytea) || $12)
  FROM (SELECT 1) AS one LEFT JOIN LATERAL (
        SELECT e.stream_version, e.chain_hash, e.group_id FROM events e
         WHERE e.stream_id = $3 ORDER BY e.stream_version DESC LIMIT 1) h ON true
 WHERE coalesce(h.group_id, $2) = $2 AND ($4::integer IS NULL OR coalesce(h.stream_version, 0) = $4)"""


def _one_event(guarded: bool, remembered: bool) -> str:
    """The statement of a one-event append, with the checks it needs and no other (each costs a plan node
    per append): the guard stream's version, and a repeated idempotency key, which it then remembers."""
    guard = 16 if remembered else 13
    sql = _INSERT
    if remembered:
        sql += " AND NOT EXISTS (SELECT 1 FROM idempotency i WHERE i.scope = $13 AND i.key = $14)"
    if guarded:
        sql += (f" AND (SELECT coalesce(max(g.stream_version), 0) FROM events g WHERE g.stream_id = ${guard})"
                f" = ${guard + 1}")
    sql += " RETURNING stream_version"
    if remembered:
        sql = (f"WITH appended AS ({sql}), remembered AS ("
               "INSERT INTO idempotency (scope, key, request_hash, stream_id, stream_version, event_ids)"
               " SELECT $13, $14, $15, $3, a.stream_version, ARRAY[$1::uuid] FROM appended a)"
               " SELECT stream_version FROM appended")
    return sql


ONE_EVENT = {(guarded, remembered): _one_event(guarded, remembered) for guarded in (False, True)
             for remembered in (False, True)}
"""An append of one event as one statement, by (guarded, with an idempotency key); no row: a check failed."""


def refusal(sqlstate: str | None, message: str) -> Exception | None:
    """The caller's error for an append ``copro_append`` refuses for good, whether it went alone or
    in a batch: an idempotency key reused for another request, a stream of another group, or a guard
    stream that moved (the state the request decided on is stale: it runs again, see ``trace.assume``)."""
    if sqlstate == "CP412":
        return StaleState(message)
    if sqlstate == "CP422":
        return IdempotencyMismatch(message, field="Idempotency-Key")
    if sqlstate == "CP403":
        return Forbidden(message)
    return None


async def append_on(conn: asyncpg.Connection, prepared: PreparedAppend) -> tuple[bool, int, list[uuid.UUID] | None]:
    """Store one append on ``conn``: (duplicate, stream version, the first request's event ids when an
    idempotency key was repeated)."""
    if len(prepared.ids) == len(prepared.types) == len(prepared.payloads) == len(prepared.hashes) == 1:
        try:
            version = await conn.fetchval(*_one_event_args(prepared))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_stream_version_key":
                raise ConcurrencyConflict(f"stream {prepared.stream_id} was changed concurrently") from exc
            version = None  # the same event or idempotency key stored meanwhile: copro_append answers it
        if version is not None:
            return False, version, None
    return await _through_function(conn, prepared)


def _one_event_args(p: PreparedAppend) -> tuple[object, ...]:
    """The statement for this append and its parameters."""
    guard = () if p.guard_stream is None else (p.guard_stream, p.guard_version or 0)
    remember = () if p.idempotency_key is None else (p.idempotency_scope, p.idempotency_key, p.request_hash)
    return (ONE_EVENT[bool(guard), bool(remember)], p.ids[0], p.group_id, p.stream_id, p.expected_version,
            p.types[0], p.payloads[0], p.actor_id, p.actor_org, p.causation_id, p.correlation_id, p.recorded_at,
            p.hashes[0], *remember, *guard)


async def _through_function(
    conn: asyncpg.Connection, prepared: PreparedAppend
) -> tuple[bool, int, list[uuid.UUID] | None]:
    stream_id, ids = prepared.stream_id, prepared.ids
    for attempt in range(2):
        try:
            row = await conn.fetchrow(APPEND, *prepared.args())
            assert row is not None
            return row["duplicate"], row["stream_version"], row["event_ids"]
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "events_stream_version_key":
                raise ConcurrencyConflict(f"stream {stream_id} was changed concurrently") from exc
            if exc.constraint_name == "events_id_key" and (version := await _stored(conn, ids)):
                return True, version, None
            if attempt == 1:
                raise
            # the same idempotency key raced us: the retry answers the first result
        except asyncpg.PostgresError as exc:
            code = getattr(exc, "sqlstate", None)
            message = getattr(exc, "message", str(exc))
            if code == "CP409":
                # a resend of events already stored finds the stream moved on: answer it as a duplicate
                if version := await _stored(conn, ids):
                    return True, version, None
                raise ConcurrencyConflict(message) from exc
            if (refused := refusal(code, message)) is not None:
                raise refused from exc
            raise
    raise AssertionError("unreachable")


async def _stored(conn: asyncpg.Connection, event_ids: list[uuid.UUID]) -> int | None:
    """The stream version of these events if they were stored before."""
    version: int | None = await conn.fetchval("SELECT max(stream_version) FROM events WHERE id = ANY($1)", event_ids)
    return version
