"""Who acted and what caused it, carried with the work so every event records it without being told.

An HTTP request, a reaction to another service's event, or a background job
sets the trace once, where the work starts: the acting member (or a named
system actor), the correlation id that follows one request or one reaction
chain, and the event that caused this work. ``shared.eventlog.handler`` fills
every appended event's metadata from it, so no route, reaction or job can
forget to record who acted; the integrity hashes cover all of it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from shared.eventlog.envelope import Metadata

SYSTEM_NAMESPACE = uuid.UUID("5b0c7f1e-6f1a-4c3e-9a57-636f70726f00")


def system_actor(name: str) -> uuid.UUID:
    """The fixed id of a named system actor (``closer``, ``reaction:<name>``, ``delivery``): the same on
    every installation, so an auditor can name it from the id alone."""
    return uuid.uuid5(SYSTEM_NAMESPACE, f"copro:{name}")


NO_TRACE = Metadata()  # frozen: safe to share as the default
_current: ContextVar[Metadata] = ContextVar("copro_trace", default=NO_TRACE)


def current() -> Metadata:
    """The trace of the work in progress (empty outside any request, reaction or job)."""
    return _current.get()


def complete(metadata: Metadata | None) -> Metadata:
    """``metadata`` with every field it leaves empty taken from the current trace."""
    trace = _current.get()
    if metadata is None:
        return trace
    return Metadata(
        actor_id=metadata.actor_id or trace.actor_id,
        actor_org=metadata.actor_org if metadata.actor_id else (metadata.actor_org or trace.actor_org),
        causation_id=metadata.causation_id or trace.causation_id,
        correlation_id=metadata.correlation_id or trace.correlation_id,
    )


def begin(metadata: Metadata) -> None:
    """Set the trace for the rest of this task (an HTTP request: the middleware, then the principal)."""
    _current.set(metadata)


def update(**fields: uuid.UUID | None) -> None:
    """Change some fields of this task's trace (the actor, once the bearer token is resolved)."""
    _current.set(Metadata(**{**_as_dict(_current.get()), **fields}))


@contextlib.contextmanager
def acting(metadata: Metadata) -> Iterator[Metadata]:
    """Work done on behalf of ``metadata`` (a reaction, a job) within the block, then the previous trace again."""
    token = _current.set(metadata)
    try:
        yield metadata
    finally:
        _current.reset(token)


def _as_dict(metadata: Metadata) -> dict[str, uuid.UUID | None]:
    return {"actor_id": metadata.actor_id, "actor_org": metadata.actor_org,
            "causation_id": metadata.causation_id, "correlation_id": metadata.correlation_id}
