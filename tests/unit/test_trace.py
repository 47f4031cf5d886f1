"""Who acted and what caused it: filled in from the work in progress, taken from the client's headers."""

from __future__ import annotations

import uuid

from shared.eventlog import trace
from shared.eventlog.envelope import Metadata
from shared.web.tracing import correlation_of


def test_traceparent_names_the_correlation_and_request_id_is_echoed() -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    correlation, echoed = correlation_of({b"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01".encode()})
    assert correlation == uuid.UUID(hex=trace_id) and echoed == str(correlation)
    given = uuid.uuid4()
    assert correlation_of({b"x-request-id": str(given).encode()}) == (given, str(given))
    text, echoed_text = correlation_of({b"x-request-id": b"req-42"})
    assert echoed_text == "req-42" and text == correlation_of({b"x-request-id": b"req-42"})[0]
    fresh, echoed_fresh = correlation_of({b"traceparent": b"not a traceparent"})
    assert str(fresh) == echoed_fresh and fresh.version == 7


def test_metadata_is_completed_from_the_trace_and_explicit_fields_win() -> None:
    member, org, cause, corr = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert trace.complete(None) == Metadata()
    with trace.acting(Metadata(actor_id=member, actor_org=org, causation_id=cause, correlation_id=corr)):
        assert trace.complete(None).actor_id == member
        other = uuid.uuid4()
        mixed = trace.complete(Metadata(actor_id=other))
        assert (mixed.actor_id, mixed.actor_org, mixed.causation_id, mixed.correlation_id) == (other, None, cause, corr)
    assert trace.current() == Metadata()


def test_system_actors_have_fixed_distinct_ids() -> None:
    assert trace.system_actor("closer") == trace.system_actor("closer") != trace.system_actor("operator")


async def test_an_idempotent_answer_checks_no_assumption_and_a_stored_append_does() -> None:
    """The in-memory store settles a request's assumption as ``copro_append`` does: a known key is answered
    before the guard (nothing checked: the request runs again on fresh state), a stored append checked it."""
    from shared.eventlog.envelope import NewEvent
    from shared.eventlog.memory import InMemoryEventStore

    store, group = InMemoryEventStore(), uuid.uuid4()

    async def append(key: str) -> None:
        await store.append(group_id=group, stream_id="p", events=[NewEvent(id=uuid.uuid4(), type="T", data={})],
                           expected_version=None, idempotency_key=key, idempotency_scope="s", request_hash=b"h")

    first = trace.begin(Metadata(), may_assume=True)
    assert trace.assume("g", 0)
    await append("k")
    assert first.checked
    again = trace.begin(Metadata(), may_assume=True)
    assert trace.assume("g", 0)
    await append("k")
    assert again.appended and not again.checked
