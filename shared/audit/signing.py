"""Signed checkpoints: copro signs every checkpoint; each partner organisation may countersign.

A checkpoint names a position and the global chain hash there. Once a partner
has countersigned it with its own Ed25519 key (kept by the partner, never by
copro), rewriting anything before that position breaks a signature that the
operator cannot forge. Keys and signatures are raw Ed25519 bytes (32 and 64),
shown as base64.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from shared.domain.errors import NotFound
from shared.eventlog.store import EventStore
from shared.runtime.credentials import made_once

COPRO_SIGNER = "copro"


def message(position: int, global_hash: bytes) -> bytes:
    """What is signed: a fixed prefix, the position (8 bytes, big-endian) and the chain hash."""
    return b"copro-checkpoint/1:" + position.to_bytes(8, "big") + global_hash


def export_message(head: int, global_hash: bytes, exported_at: str) -> bytes:
    """What an export's header seal signs: where the export ends, the chain there and when it was made, so a
    checkpoint's signature cannot stand in for it and no header field can be changed unnoticed."""
    return b"copro-export/1:" + head.to_bytes(8, "big") + global_hash + exported_at.encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fingerprint(public_key: bytes) -> str:
    """A key's fingerprint as people compare it (the OpenSSH form): ``SHA256:`` and the base64 of its digest."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_key).digest()).decode().rstrip("=")


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def signing_key(home: Path) -> Ed25519PrivateKey:
    """copro's checkpoint key in ``<home>/checkpoint-signing.key`` (mode 0600), made on first use."""
    path = home / "checkpoint-signing.key"
    if path.exists():
        return Ed25519PrivateKey.from_private_bytes(path.read_bytes())
    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return Ed25519PrivateKey.from_private_bytes(made_once(path, raw))  # the first process's, if several start


def valid(public_key: bytes, signature: bytes, position: int, global_hash: bytes) -> bool:
    return signs(public_key, signature, message(position, global_hash))


def signs(public_key: bytes, signature: bytes, signed: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s Ed25519 signature over ``signed``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed)
    except (InvalidSignature, ValueError):
        return False
    return True


async def sign_pending(store: EventStore, key: Ed25519PrivateKey) -> int:
    """Sign every checkpoint copro has not signed yet; returns how many."""
    public = public_bytes(key)
    rows = await store.pool.fetch(
        # only past the last one signed (copro signs in order): never every checkpoint of the log again
        "SELECT c.position, c.global_hash FROM checkpoints c WHERE c.position > coalesce((SELECT max(s.position)"
        " FROM checkpoint_signatures s WHERE s.signer = $1), 0) ORDER BY c.position", COPRO_SIGNER,
    )
    if rows:
        await store.pool.executemany(
            "INSERT INTO checkpoint_signatures (position, signer, public_key, signature) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING",
            [(r["position"], COPRO_SIGNER, public, key.sign(message(r["position"], bytes(r["global_hash"]))))
             for r in rows],
        )
    return len(rows)


async def countersign(store: EventStore, position: int, signer: str, public_key: bytes, signature: bytes) -> bool:
    """Record a partner's countersignature if it is valid for that checkpoint; False if it is not (NotFound: there
    is no checkpoint at that position)."""
    global_hash = await store.pool.fetchval("SELECT global_hash FROM checkpoints WHERE position = $1", position)
    if global_hash is None:
        raise NotFound(f"no checkpoint at position {position}: checkpoints are made every 1,000 positions",
                       field="position")
    if not valid(public_key, signature, position, bytes(global_hash)):
        return False
    await store.pool.execute(
        "INSERT INTO checkpoint_signatures (position, signer, public_key, signature) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING", position, signer, public_key, signature,
    )
    return True
