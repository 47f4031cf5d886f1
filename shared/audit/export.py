"""Export the log for auditors: JSON lines anyone can verify offline.

An export is a header, then every event as a structured-mode CloudEvent
carrying its integrity fields (``StructuredEvent``, the format webhooks
deliver too), with each checkpoint and its signatures after the event it
seals. Payloads are written byte for byte as stored (personal fields stay
encrypted), so anyone can recompute every hash with ``shared.audit.verify``
and the file alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.audit.signing import COPRO_SIGNER, b64, export_message, public_bytes
from shared.domain.ids import utc_now
from shared.eventlog import integrity
from shared.eventlog.store import EVENT_OF, EventStore
from shared.fanout.cloudevents import StructuredEvent, source_of

FORMAT = "copro-export/1"


class ExportHeader(msgspec.Struct, frozen=True, kw_only=True):
    """The first line. A whole-log export made with copro's key is sealed: ``seal`` signs ``head``, the global
    hash there (``head_hash``) and ``exported_at`` (``signing.export_message``), so its last events are
    covered by a signature as well as those up to its last checkpoint, and a cut tail shows."""

    format: str = FORMAT
    group_id: uuid.UUID | None
    head: int
    exported_at: datetime
    head_hash: str | None = None
    signer: str | None = None
    public_key: str | None = None
    seal: str | None = None


class ExportedCheckpoint(msgspec.Struct, frozen=True, kw_only=True):
    checkpoint: int
    global_hash: str
    sealed_at: datetime


class ExportedSignature(msgspec.Struct, frozen=True, kw_only=True):
    signature: int
    signer: str
    public_key: str
    value: str


_EVENTS = (
    "SELECT l.position, l.global_hash, e.id, e.group_id, e.stream_id, e.stream_version, e.type, e.payload,"
    " e.actor_id, e.actor_org, e.causation_id, e.correlation_id, e.recorded_at, e.content_hash, e.chain_hash"
    f" FROM log l {EVENT_OF} WHERE l.position > $1 AND ($3::uuid IS NULL OR e.group_id = $3)"
    " ORDER BY l.position LIMIT $2"
)
"""A page of the log: each event by its own index probe, so the plan a connection keeps from a small log never
scans ``events`` once the log has grown (tests/integration/test_hot_queries_grown.py)."""


async def export_lines(store: EventStore, group_id: uuid.UUID | None = None, page: int = 5000,
                       head_key: Ed25519PrivateKey | None = None) -> AsyncIterator[bytes]:
    """The export, line by line, in constant memory (one page at a time).

    With ``head_key`` (copro's checkpoint key) a whole-log export's header is sealed (``ExportHeader``): without
    it the events after the log's last checkpoint would be covered only by hashes anyone can recompute, so a
    forged or cut tail would verify."""
    encoder = msgspec.json.Encoder()
    encode = encoder.encode
    head = await store.head_position()
    header = ExportHeader(group_id=group_id, head=head, exported_at=utc_now())
    if head_key is not None and group_id is None and head > 0:
        head_hash = bytes(await store.pool.fetchval("SELECT global_hash FROM log WHERE position = $1", head))
        header = msgspec.structs.replace(
            header, head_hash=head_hash.hex(), signer=COPRO_SIGNER, public_key=b64(public_bytes(head_key)),
            seal=b64(head_key.sign(export_message(head, head_hash, utc_text(header.exported_at)))))
    yield encoder.encode(header) + b"\n"
    position = 0
    while position < head:
        rows = await store.pool.fetch(_EVENTS, position, page, group_id)
        if not rows:
            break
        checkpoints, signatures = ({}, {}) if group_id is not None else await _sealed(
            store, position, min(rows[-1]["position"], head))
        lines = []
        for (at, global_hash, id_, group, stream_id, version, type_, payload, actor_id, actor_org, causation_id,
             correlation_id, recorded_at, content_hash, chain_hash) in rows:
            if at > head:
                break
            lines.append(encode(StructuredEvent(
                id=id_, source=source_of(type_), type=type_, subject=stream_id, time=utc_text(recorded_at),
                data=msgspec.Raw(payload),
                groupid=group, streamid=stream_id, streamversion=version, position=at, actorid=actor_id,
                actororg=actor_org, causationid=causation_id, correlationid=correlation_id,
                contenthash=content_hash.hex(), chainhash=chain_hash.hex(), globalhash=global_hash.hex(),
            )))
            if group_id is None and (cp := checkpoints.get(at)) is not None:
                lines.append(encode(ExportedCheckpoint(
                    checkpoint=cp["position"], global_hash=cp["global_hash"].hex(), sealed_at=cp["sealed_at"])))
                lines.extend(encode(signed) for signed in signatures.get(cp["position"], ()))
        position = rows[-1]["position"]
        lines.append(b"")  # the chunk ends with a newline, without copying it once more
        yield b"\n".join(lines)


async def _sealed(store: EventStore, after: int, last: int) -> tuple[
        dict[int, asyncpg.Record], dict[int, list[ExportedSignature]]]:
    """The checkpoints in (after, last] with their signatures: read with each page, so an export's memory
    does not grow with the log."""
    checkpoints = {r["position"]: r for r in await store.pool.fetch(
        "SELECT position, global_hash, sealed_at FROM checkpoints WHERE position > $1 AND position <= $2",
        after, last)}
    signatures: dict[int, list[ExportedSignature]] = {}
    if checkpoints:
        for r in await store.pool.fetch(
                "SELECT position, signer, public_key, signature FROM checkpoint_signatures"
                " WHERE position > $1 AND position <= $2 ORDER BY position, signer", after, last):
            signatures.setdefault(r["position"], []).append(ExportedSignature(
                signature=r["position"], signer=r["signer"], public_key=b64(r["public_key"]),
                value=b64(r["signature"])))
    return checkpoints, signatures


def utc_text(value: datetime) -> str:
    """``integrity.timestamp(value)``, the text every hash uses, three times faster for the UTC times
    PostgreSQL returns (the export formats one per event; measured, it was a third of the export's time)."""
    if value.tzinfo is UTC and value.year >= 1000:
        return value.isoformat(timespec="microseconds")[:-6] + "Z"
    return integrity.timestamp(value)
