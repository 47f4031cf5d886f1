"""Fingerprints: what an event may carry of a value kept out of the log.

Every event reaches someone (members, partners, auditors' exports) and none can be erased, so a
webhook's signing secret and its partner's URL stay in publishing's tables; the registration
event names each by its fingerprint. That tells readers which one is in use, and lets an auditor
who is shown the value confirm it, without handing it out.
"""

from __future__ import annotations

import hashlib


def fingerprint(value: str) -> str:
    """The start of the value's SHA-256 (64 bits: a name, not a proof; a secret has 192 random bits)."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
