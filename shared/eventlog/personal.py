"""Personal data in events, encrypted per person (crypto-shredding ready).

An event type marks its personal fields (names, contact details, free text a
person may withdraw) with ``__personal__`` and names the field holding the
person's id with ``__subject__``. The store replaces each such value with
``pii:v1:<subject>:<base64(nonce | AES-GCM ciphertext)>`` before the event is
hashed and stored, so destroying the person's key forgets them while the log
stays append-only and verifiable. A personal field must accept ``None``:
that is what a reader sees once the person is forgotten.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pii:v1:"
MARKER = b'"' + PREFIX.encode()


def personal_fields(data: Any) -> tuple[uuid.UUID, tuple[str, ...]] | None:
    """The data subject and personal field names of an event payload, if any.

    An event may name no subject only when it carries nothing personal (every personal field None):
    personal words with nobody to key them to could never be erased."""
    fields: tuple[str, ...] = getattr(type(data), "__personal__", ())
    if not fields:
        return None
    subject = getattr(data, type(data).__subject__)
    if subject is None and all(getattr(data, field) is None for field in fields):
        return None
    if not isinstance(subject, uuid.UUID):
        raise TypeError(f"{type(data).__name__}.__subject__ must name a UUID field")
    return subject, fields


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(event_id: uuid.UUID, field: str) -> bytes:
    return event_id.bytes + field.encode()


def seal_value(key: bytes, subject: uuid.UUID, event_id: uuid.UUID, field: str, value: Any) -> str:
    """Encrypt one field value, bound to its event and field name."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, msgspec.json.encode(value), _aad(event_id, field))
    return f"{PREFIX}{subject}:{base64.b64encode(nonce + ciphertext).decode()}"


def encode_payload(data: Any, event_id: uuid.UUID, key: bytes | None) -> bytes:
    """The stored JSON bytes of a payload, personal fields encrypted with ``key``."""
    marked = personal_fields(data)
    if marked is None:
        return msgspec.json.encode(data)
    if key is None:
        raise ValueError("a key is needed for an event with personal data")
    subject, fields = marked
    plain = msgspec.to_builtins(data)
    for field in fields:
        if plain.get(field) is not None:
            plain[field] = seal_value(key, subject, event_id, field, plain[field])
    return msgspec.json.encode(plain)


def subjects_in(payload: bytes) -> set[uuid.UUID]:
    """Whose keys are needed to read this payload (cheap when there are none)."""
    if MARKER not in payload:
        return set()
    found = set()
    for value in msgspec.json.decode(payload).values():
        if isinstance(value, str) and value.startswith(PREFIX):
            found.add(uuid.UUID(value[len(PREFIX) : len(PREFIX) + 36]))
    return found


def open_payload(payload: bytes, event_id: uuid.UUID, keys: dict[uuid.UUID, bytes | None]) -> bytes:
    """Decrypt personal fields; a forgotten person's fields read as ``null``."""
    if MARKER not in payload:
        return payload
    plain = msgspec.json.decode(payload)
    for field, value in plain.items():
        if not (isinstance(value, str) and value.startswith(PREFIX)):
            continue
        subject = uuid.UUID(value[len(PREFIX) : len(PREFIX) + 36])
        key = keys.get(subject)
        if key is None:
            plain[field] = None
            continue
        blob = base64.b64decode(value[len(PREFIX) + 37 :])
        try:
            plain[field] = msgspec.json.decode(AESGCM(key).decrypt(blob[:12], blob[12:], _aad(event_id, field)))
        except InvalidTag:
            plain[field] = None
    return msgspec.json.encode(plain)
