"""Private personal fields: read by the service that records them, by no general reader.

A personal field is encrypted per person, so NATS subscribers and audit exports get ciphertext and a
forgotten person reads as ``null``; the readers inside copro open it. Most personal fields (a
member's name) are for everyone in the group. A few are not: an RSVP's access needs are health and
disability in a person's own words, for the meeting's organisers. An event type marks those
``__private__`` (a subset of its ``__personal__``), and whatever hands events to people beyond the
recording service (the events feed, webhooks, the log views) passes them through ``redacted``
first: there the field reads as ``null``, as a forgotten person's does. A field an earlier version
held in plain text and a later one took out of the log (a webhook's URL) is ``__withheld__``: the
stored bytes keep it (nothing in the log changes), the general readers show it as ``null``.
"""

from __future__ import annotations

from functools import cache

import msgspec

from shared.domain.contract import type_name
from shared.eventlog.envelope import RecordedEvent
from shared.runtime.discovery import contracts


@cache
def private_fields() -> dict[str, frozenset[str]]:
    """Each event type's private fields, and the fields its earlier versions held that no general reader
    may see any more (``__withheld__``: a webhook's URL in version 1), from every service's contract."""
    found = {type_name(t): frozenset((*getattr(t, "__private__", ()), *getattr(t, "__withheld__", ())))
             for contract in contracts() for t in contract.types}
    return {name: fields for name, fields in found.items() if fields}


def redacted(event: RecordedEvent) -> RecordedEvent:
    """The event as a general reader may have it: its private fields ``null``."""
    fields = private_fields().get(event.type)
    if not fields:
        return event
    payload = msgspec.json.decode(event.data)
    if not isinstance(payload, dict) or all(payload.get(f) is None for f in fields):
        return event
    payload.update({f: None for f in fields if f in payload})
    return msgspec.structs.replace(event, data=msgspec.Raw(msgspec.json.encode(payload)))
