"""HTTP: the latest checkpoint with every signature over it, and copro's public key."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import get

from shared.access.principals import Authenticated
from shared.audit.signing import b64, public_bytes, valid
from shared.domain.errors import NotFound
from shared.web.kernel import Kernel
from shared.web.openapi import documented


class Signature(msgspec.Struct):
    signer: str
    public_key: str
    signature: str
    valid: bool
    signed_at: datetime


class Checkpoint(msgspec.Struct):
    position: int
    global_hash: str
    sealed_at: datetime
    signatures: list[Signature]
    signed_message: str = "b'copro-checkpoint/1:' + position as 8 bytes big-endian + global_hash bytes (Ed25519)"


class PublicKey(msgspec.Struct):
    signer: str
    public_key: str
    algorithm: str = "Ed25519"


@get("/checkpoints/latest", tags=["audit"], summary="The latest checkpoint of the log, with copro's and partners' signatures",
     opt=documented(answers={404: ("No checkpoint yet: one is made every 1,000 events", {})}))
async def latest_checkpoint(kernel: Kernel, principal: Authenticated) -> Checkpoint:
    pool = kernel.store.pool
    row = await pool.fetchrow("SELECT position, global_hash, sealed_at FROM checkpoints ORDER BY position DESC LIMIT 1")
    if row is None:
        raise NotFound("no checkpoint yet: one is made every 1,000 events")
    signatures = [
        Signature(signer=s["signer"], public_key=b64(s["public_key"]), signature=b64(s["signature"]),
                  valid=valid(bytes(s["public_key"]), bytes(s["signature"]), row["position"], bytes(row["global_hash"])),
                  signed_at=s["signed_at"])
        for s in await pool.fetch("SELECT * FROM checkpoint_signatures WHERE position = $1 ORDER BY signed_at",
                                  row["position"])
    ]
    return Checkpoint(position=row["position"], global_hash=bytes(row["global_hash"]).hex(), sealed_at=row["sealed_at"],
                      signatures=signatures)


@get("/checkpoints/key", tags=["audit"], summary="copro's public key for checking its checkpoint signatures")
async def checkpoint_key(kernel: Kernel) -> PublicKey:
    return PublicKey(signer="copro", public_key=b64(public_bytes(kernel.signing_key)))
