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

import os
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.domain.fingerprints import fingerprint
from shared.runtime.credentials import made_once

__all__ = ["KEY_FILE", "SecretBox", "fingerprint", "secrets_key"]

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
