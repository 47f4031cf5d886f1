"""Sealed fields: contents nobody can read until the log itself releases their key.

A ballot under ``after_vote`` or ``after_close`` visibility must stay unreadable to everyone but
the service that counts it until its proposal closes, whichever way the event travels: read
models, ``/log``, Server-Sent Events, webhooks, NATS, exports. Hiding it route by route would
leave one path open somewhere, so the store seals it before the event is hashed and stored.

An event type lists its sealed fields in ``__sealed__`` and names in ``__seal__`` the field that
holds the seal's id (``None``: this event is not sealed). The stored payload has those fields set
to ``null``, and their stored values (personal fields already encrypted with their person's key,
so forgetting a person still works after the seal is opened) travel together in one field,
``sealed``: ``sealed:v1:<seal id>:<base64(nonce | AES-GCM ciphertext)>``, bound to the event's id.
The key lives in the ``seal_keys`` table, never in an event, until an event whose type names the
seal with ``__unseals__`` is appended: the store writes the key into that event's ``seal_key``
field (``<seal id>:<base64 key>``). From then on anyone who holds the log can open the seal,
offline too (``released_key`` and ``unseal``), and the store opens it for every reader.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
FIELD = "sealed"
KEY_FIELD = "seal_key"
# msgspec writes no spaces and escapes quotes inside strings: this only matches a real "sealed" member
MARKER = b'"' + FIELD.encode() + b'":"' + PREFIX.encode()
KEY_MARKER = b'"' + KEY_FIELD.encode() + b'":"'
MIN_SIZE = 512


def seal_of(data: Any) -> tuple[uuid.UUID, tuple[str, ...]] | None:
    """The seal an event is to be stored under and the fields it hides, if any."""
    fields: tuple[str, ...] = getattr(type(data), "__sealed__", ())
    if not fields:
        return None
    seal = getattr(data, type(data).__seal__)
    if seal is None:
        return None
    if not isinstance(seal, uuid.UUID):
        raise TypeError(f"{type(data).__name__}.__seal__ must name a UUID field")
    return seal, fields


def release_of(data: Any) -> uuid.UUID | None:
    """The seal an event releases (its key goes into the event), if its type releases one."""
    name: str | None = getattr(type(data), "__unseals__", None)
    if name is None:
        return None
    seal = getattr(data, name)
    return seal if isinstance(seal, uuid.UUID) else None


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(event_id: uuid.UUID, seal: uuid.UUID) -> bytes:
    return event_id.bytes + seal.bytes


def padded(plain: bytes) -> bytes:
    """JSON padded with spaces to at least ``MIN_SIZE`` bytes, then to a power of two, so a ciphertext's
    length does not tell ``agree`` from ``block`` (nor whether a reason was given, when it is short)."""
    size = MIN_SIZE
    while size < len(plain):
        size *= 2
    return plain + b" " * (size - len(plain))


def seal_payload(payload: bytes, event_id: uuid.UUID, seal: uuid.UUID, fields: tuple[str, ...], key: bytes) -> bytes:
    """The stored bytes with ``fields`` moved into one ciphertext under ``seal``."""
    plain = msgspec.json.decode(payload)
    hidden = {field: plain.get(field) for field in fields}
    for field in fields:
        plain[field] = None
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, padded(msgspec.json.encode(hidden)), _aad(event_id, seal))
    plain[FIELD] = f"{PREFIX}{seal}:{base64.b64encode(nonce + ciphertext).decode()}"
    return msgspec.json.encode(plain)


def seal_in(payload: bytes) -> uuid.UUID | None:
    """Which seal's key opens this payload (cheap when it is not sealed)."""
    if MARKER not in payload:
        return None
    value = msgspec.json.decode(payload).get(FIELD)
    if not (isinstance(value, str) and value.startswith(PREFIX)):
        return None
    try:
        return uuid.UUID(value[len(PREFIX) : len(PREFIX) + 36])
    except ValueError:
        return None


def unseal(payload: bytes, event_id: uuid.UUID, keys: dict[uuid.UUID, bytes]) -> bytes:
    """The payload with its sealed fields back in place, if ``keys`` holds its seal's key;
    otherwise (or if the ciphertext was altered) exactly as it was."""
    if MARKER not in payload:
        return payload
    plain = msgspec.json.decode(payload)
    value = plain.get(FIELD)
    if not (isinstance(value, str) and value.startswith(PREFIX)):
        return payload
    try:
        seal = uuid.UUID(value[len(PREFIX) : len(PREFIX) + 36])
        key = keys.get(seal)
        if key is None:
            return payload
        blob = base64.b64decode(value[len(PREFIX) + 37 :])
        hidden = msgspec.json.decode(AESGCM(key).decrypt(blob[:12], blob[12:], _aad(event_id, seal)))
    except (ValueError, InvalidTag, msgspec.DecodeError):
        return payload
    if not isinstance(hidden, dict):
        return payload
    del plain[FIELD]
    plain.update(hidden)
    return msgspec.json.encode(plain)


def with_released_key(payload: bytes, seal: uuid.UUID, key: bytes) -> bytes:
    """A releasing event's stored bytes, carrying the seal's key for everyone from now on."""
    plain = msgspec.json.decode(payload)
    plain[KEY_FIELD] = f"{seal}:{base64.b64encode(key).decode()}"
    return msgspec.json.encode(plain)


def released_key(payload: bytes) -> tuple[uuid.UUID, bytes] | None:
    """The seal and key an event released, read from the event alone (an export, a NATS message)."""
    if KEY_MARKER not in payload:
        return None
    value = msgspec.json.decode(payload).get(KEY_FIELD)
    if not isinstance(value, str):
        return None
    seal, _, key = value.partition(":")
    try:
        return uuid.UUID(seal), base64.b64decode(key, validate=True)
    except ValueError:
        return None
