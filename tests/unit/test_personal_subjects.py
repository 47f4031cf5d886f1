"""Personal words need a person to key them to: an event naming nobody may carry none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.scheduling.events import OccurrenceCancelled
from shared.eventlog.personal import MARKER, encode_payload, new_key, personal_fields

AT = datetime(2030, 1, 1, tzinfo=UTC)
SAM = uuid.UUID(int=5)


def cancelled(reason: str | None, by: uuid.UUID | None) -> OccurrenceCancelled:
    return OccurrenceCancelled(meeting_id=uuid.UUID(int=1), occurrence=AT, reason=reason, by=by, at=AT)


def test_words_are_keyed_to_their_author_and_nobodys_words_are_refused() -> None:
    assert personal_fields(cancelled("Sam is unwell", SAM)) == (SAM, ("reason",))
    assert MARKER in encode_payload(cancelled("Sam is unwell", SAM), uuid.UUID(int=9), new_key())
    assert personal_fields(cancelled(None, None)) is None  # nothing personal, nobody needed
    assert b'"reason":null' in encode_payload(cancelled(None, None), uuid.UUID(int=9), None)
    with pytest.raises(TypeError, match="__subject__"):
        personal_fields(cancelled("Sam is unwell", None))
