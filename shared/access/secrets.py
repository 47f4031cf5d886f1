"""Secrets kept out of the log: shown once at creation, then stored encrypted, never in an event.

Every event reaches someone (members through Server-Sent Events, partners through ``*`` webhooks
and NATS, auditors through exports), so a credential in one is a credential handed out. A
webhook's signing secret, which lets its holder forge deliveries, is therefore encrypted with
copro's secrets key (``<COPRO_HOME>/secrets.key``, mode 0600, made on first use like the
checkpoint key; every process that signs deliveries needs the same file) and bound to its
owner's id, so a copy of the database alone does not give it away. Events carry its
``fingerprint``: enough to tell which secret is in use, useless for signing.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.domain.fingerprints import fingerprint
from shared.runtime.credentials import made_once

__all__ = ["KEY_FILE", "SealedValues", "SecretBox", "fingerprint", "secrets_key"]

log = logging.getLogger(__name__)

KEY_FILE = "secrets.key"


def secrets_key(home: Path) -> bytes:
    """copro's secrets key, made on first use (mode 0600)."""
    path = home / KEY_FILE
    if path.exists():
        return path.read_bytes()
    return made_once(path, AESGCM.generate_key(bit_length=256))  # the first process's, if several start


class SecretBox:
    """Encrypts secrets for the table that keeps them, each bound to its owner's id."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, owner: uuid.UUID, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), owner.bytes)

    def open(self, owner: uuid.UUID, sealed: bytes) -> str:
        return self._aead.decrypt(sealed[:12], sealed[12:], owner.bytes).decode()


class SealedValues:
    """Values kept out of the log, one per owner, each sealed with the ``SecretBox`` in ``table`` (columns
    ``owner``, ``column`` and ``fingerprint``) and cached once opened: a webhook's signing secret, its
    partner's URL."""

    def __init__(self, pool: asyncpg.Pool, box: SecretBox, table: str, column: str, what: str,
                 owner: str = "subscription_id") -> None:
        self.pool = pool
        self.box = box
        self.what = what
        self._opened: dict[uuid.UUID, str] = {}
        self._insert = (f"INSERT INTO {table} ({owner}, {column}, fingerprint) VALUES ($1, $2, $3)"
                        f" ON CONFLICT ({owner}) DO NOTHING")
        self._delete = f"DELETE FROM {table} WHERE {owner} = $1"
        self._select = f"SELECT {column} FROM {table} WHERE {owner} = $1"
        self._any = f"SELECT {owner}, {column} FROM {table} LIMIT 1"

    async def keep(self, owner: uuid.UUID, value: str) -> None:
        await self.pool.execute(self._insert, owner, self.box.seal(owner, value), fingerprint(value))
        self._opened[owner] = value

    async def drop(self, owner: uuid.UUID) -> None:
        await self.pool.execute(self._delete, owner)
        self._opened.pop(owner, None)

    async def opens(self) -> bool:
        """Whether this installation's key opens what is kept (a kept value tried; True while none is)."""
        row = await self.pool.fetchrow(self._any)
        return row is None or self._open(row[0], bytes(row[1])) is not None

    async def get(self, owner: uuid.UUID) -> str | None:
        """The value; None when none is kept, or when it does not open with this installation's key."""
        if (known := self._opened.get(owner)) is not None:
            return known
        sealed = await self.pool.fetchval(self._select, owner)
        if sealed is None or (opened := self._open(owner, bytes(sealed))) is None:
            return None
        self._opened[owner] = opened
        return opened

    def _open(self, owner: uuid.UUID, sealed: bytes) -> str | None:
        try:
            return self.box.open(owner, sealed)
        except InvalidTag:  # another installation's secrets key (COPRO_HOME/secrets.key), or an altered row
            log.error("%s of %s does not open with this secrets key", self.what, owner)
            return None
