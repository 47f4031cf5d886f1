"""The keys behind a stored payload: per-person data keys and per-seal keys, and what they do to bytes.

Writing, a new event's payload becomes its stored bytes here: personal fields encrypted with
their person's key, then sealed fields sealed (a seal may hold a personal field's ciphertext, so
forgetting a person still works once the seal is opened), then a released seal's key written in.
Reading, the same steps in reverse: a seal is opened when its key was released (or for the one
service that enforces its visibility), then personal fields are decrypted (a forgotten person's
read as ``null``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from shared.domain.errors import PersonForgotten
from shared.eventlog import personal, sealing
from shared.eventlog.envelope import NewEvent

_PLAIN: dict[type, bool] = {}
_encode = msgspec.json.Encoder().encode


class Keyring:
    """Keys cached per process; a forgotten person's key is dropped on the forget notice."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._people: dict[uuid.UUID, bytes] = {}
        self._seals: dict[uuid.UUID, bytes] = {}
        self._released: dict[uuid.UUID, bytes] = {}

    # -- personal data keys ---------------------------------------------------------

    async def person(self, subject: uuid.UUID) -> bytes:
        """The person's key, made on first use; refused once they were forgotten."""
        if (key := self._people.get(subject)) is not None:
            return key
        row = await self.pool.fetchrow(
            "WITH made AS (INSERT INTO data_keys (subject_id, key) VALUES ($1, $2)"
            " ON CONFLICT (subject_id) DO NOTHING RETURNING key)"
            " SELECT key FROM made UNION ALL SELECT key FROM data_keys WHERE subject_id = $1 LIMIT 1",
            subject, personal.new_key(),
        )
        if row is None:  # another writer made it meanwhile: this statement's snapshot cannot see it, the next can
            row = await self.pool.fetchrow("SELECT key FROM data_keys WHERE subject_id = $1", subject)
        if row is None or row["key"] is None:
            raise PersonForgotten(f"person {subject} was forgotten: their personal data cannot be recorded again")
        self._people[subject] = bytes(row["key"])
        return self._people[subject]

    async def people(self, conn: asyncpg.Connection, subjects: set[uuid.UUID]) -> dict[uuid.UUID, bytes | None]:
        missing = [s for s in subjects if s not in self._people]
        if missing:
            for row in await conn.fetch(
                "SELECT subject_id, key FROM data_keys WHERE subject_id = ANY($1) AND key IS NOT NULL", missing
            ):
                self._people[row["subject_id"]] = bytes(row["key"])
        return {s: self._people.get(s) for s in subjects}

    def forget(self, subject: uuid.UUID) -> None:
        self._people.pop(subject, None)

    # -- seal keys ------------------------------------------------------------------

    async def seal(self, seal: uuid.UUID) -> bytes:
        """The seal's key, made on first use."""
        if (key := self._seals.get(seal)) is not None:
            return key
        found = await self.pool.fetchval(
            "WITH made AS (INSERT INTO seal_keys (seal_id, key) VALUES ($1, $2)"
            " ON CONFLICT (seal_id) DO NOTHING RETURNING key)"
            " SELECT key FROM made UNION ALL SELECT key FROM seal_keys WHERE seal_id = $1 LIMIT 1",
            seal, sealing.new_key(),
        )
        if found is None:  # made by another writer meanwhile (see ``person``)
            found = await self.pool.fetchval("SELECT key FROM seal_keys WHERE seal_id = $1", seal)
        self._seals[seal] = bytes(found)
        return self._seals[seal]

    async def release(self, seal: uuid.UUID, event_id: uuid.UUID) -> bytes | None:
        """The key the event ``event_id``, about to be appended, releases (None: nothing was sealed
        under it). It counts as released once that event is in the log: an append that loses a
        race to another writer releases nothing."""
        found = await self.pool.fetchval(
            "UPDATE seal_keys SET released_by = array_append(released_by, $2) WHERE seal_id = $1 RETURNING key",
            seal, event_id,
        )
        return None if found is None else bytes(found)

    async def opening(self, conn: asyncpg.Connection, seals: set[uuid.UUID], unsealed: bool
                      ) -> dict[uuid.UUID, bytes]:
        """The keys that may open ``seals``: the released ones, or all for ``unsealed``."""
        cache = self._seals if unsealed else self._released
        missing = [s for s in seals if s not in cache]
        if missing:
            query = "SELECT seal_id, key FROM seal_keys k WHERE seal_id = ANY($1)"
            if not unsealed:
                query += " AND EXISTS (SELECT 1 FROM events e WHERE e.id = ANY(k.released_by))"
            for row in await conn.fetch(query, missing):
                cache[row["seal_id"]] = bytes(row["key"])
        return {s: cache[s] for s in seals if s in cache}

    # -- payloads -------------------------------------------------------------------

    def plain(self, data: object) -> bytes | None:
        """The stored bytes of a payload whose type has no personal, sealed or releasing field (most events),
        without a coroutine per event; None for the others, which ``stored`` writes."""
        kind = type(data)
        simple = _PLAIN.get(kind)
        if simple is None:
            simple = _PLAIN[kind] = not (getattr(kind, "__personal__", ()) or getattr(kind, "__sealed__", ())
                                         or getattr(kind, "__unseals__", None))
        return _encode(data) if simple else None

    async def stored(self, event: NewEvent) -> bytes:
        """A new event's stored bytes."""
        marked = personal.personal_fields(event.data)
        payload = personal.encode_payload(event.data, event.id, await self.person(marked[0]) if marked else None)
        if (sealed := sealing.seal_of(event.data)) is not None:
            payload = sealing.seal_payload(payload, event.id, *sealed, await self.seal(sealed[0]))
        if (seal := sealing.release_of(event.data)) is not None and (
                key := await self.release(seal, event.id)) is not None:
            payload = sealing.with_released_key(payload, seal, key)
        return payload

    async def opened(self, conn: asyncpg.Connection, ids: Sequence[uuid.UUID], payloads: Sequence[bytes],
                     unsealed: bool = False) -> list[bytes]:
        """Stored payloads as a reader may see them: seals opened where allowed, personal fields decrypted."""
        out = list(payloads)
        # one search over the page first: most pages hold neither seals nor personal fields, and two
        # searches per payload cost as much as building the event (a marker across two payloads only
        # sends the page down the exact path)
        page = b"".join(out)
        if sealing.MARKER not in page and personal.MARKER not in page:
            return out
        seals = {s for p in out if sealing.MARKER in p and (s := sealing.seal_in(p)) is not None}
        if seals and (keys := await self.opening(conn, seals, unsealed)):
            out = [sealing.unseal(p, i, keys) for i, p in zip(ids, out, strict=True)]
        subjects: set[uuid.UUID] = set()
        for payload in out:
            if personal.MARKER in payload:
                subjects |= personal.subjects_in(payload)
        if subjects:
            people = await self.people(conn, subjects)
            out = [personal.open_payload(p, i, people) for i, p in zip(ids, out, strict=True)]
        return out
