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
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from shared.domain.errors import StaleState
from shared.eventlog.envelope import Metadata

SYSTEM_NAMESPACE = uuid.UUID("5b0c7f1e-6f1a-4c3e-9a57-636f70726f00")


def system_actor(name: str) -> uuid.UUID:
    """The fixed id of a named system actor (``closer``, ``reaction:<name>``, ``delivery``): the same on
    every installation, so an auditor can name it from the id alone."""
    return uuid.uuid5(SYSTEM_NAMESPACE, f"copro:{name}")


class _Trace:
    """The trace of one piece of work. Mutable, and shared by reference: the HTTP layer resolves the
    principal in a task of its own (Litestar resolves dependencies concurrently), and what it sets there
    must reach the route that runs after it, which a plain context variable would not carry back.

    ``heads`` (HTTP requests only): the streams this request has just read from the database, the
    version it found and when. Within ``HEAD_FRESH_FOR`` a stream read once counts as current: a second
    load of it in the same request (the group by the token's roster and then by the route) needs no
    second round trip; as if the request had been served that much earlier. A long-lived request (an
    event stream re-checking its token) reads again. Appends stay checked by their expected version.

    ``assumed`` (the first run of a write request, ``may_assume``): the one stream this request decided on
    from a cached state without reading it (the group, for the token's roster), and that version; never
    after the request appended anything. The next append checks it in the same round trip (``guard``), and
    ``checked`` says one did (or that an append's answer was lost: its events may be stored, so the run's
    answer stands). A run whose assumption no append checked (it was refused as stale, or the
    request appended nothing) appended nothing, and ``shared.web.tracing`` runs it again on fresh state:
    what the client sees was always decided on the log as it is."""

    __slots__ = ("appended", "assumed", "checked", "heads", "may_assume", "metadata")

    def __init__(self, metadata: Metadata, heads: dict[str, tuple[int, float]] | None = None,
                 may_assume: bool = False) -> None:
        self.metadata = metadata
        self.heads = heads
        self.may_assume = may_assume
        self.assumed: tuple[str, int] | None = None
        self.checked = False
        self.appended = False


_current: ContextVar[_Trace | None] = ContextVar("copro_trace", default=None)


def current() -> Metadata:
    """The trace of the work in progress (empty outside any request, reaction or job)."""
    found = _current.get()
    return found.metadata if found is not None else Metadata()


def complete(metadata: Metadata | None) -> Metadata:
    """``metadata`` with every field it leaves empty taken from the current trace."""
    trace = current()
    if metadata is None:
        return trace
    return Metadata(
        actor_id=metadata.actor_id or trace.actor_id,
        actor_org=metadata.actor_org if metadata.actor_id else (metadata.actor_org or trace.actor_org),
        causation_id=metadata.causation_id or trace.causation_id,
        correlation_id=metadata.correlation_id or trace.correlation_id,
    )


def begin(metadata: Metadata, *, may_assume: bool = False) -> _Trace:
    """Start the trace of this task's work (an HTTP request: the middleware, before anything else)."""
    started = _Trace(metadata, heads={}, may_assume=may_assume)
    _current.set(started)
    return started


def assume(stream_id: str, version: int) -> bool:
    """Decide on the cached ``version`` of ``stream_id`` without reading it, if this work may: True when
    the assumption is recorded (one stream per request, at one version), False when the caller must read."""
    found = _current.get()
    if found is None or not found.may_assume or found.appended or found.assumed not in (None, (stream_id, version)):
        return False
    found.assumed = (stream_id, version)
    return True


def guard(appending_to: str) -> tuple[str, int] | None:
    """The assumption an append to ``appending_to`` must check: none when an earlier append did, or when it
    is that stream itself (the expected version checks it)."""
    found = _current.get()
    if found is None or found.assumed is None or found.checked or found.assumed[0] == appending_to:
        return None
    return found.assumed


def appended(*, checked: bool = True) -> None:
    """This work appended, or may have (an append whose answer was lost): it makes no new assumption, and
    its assumption, if any, is settled (``checked``: its answer stands, the request is not run again) unless
    the log answered without looking at it (``checked=False``: another request's answer to the same
    idempotency key)."""
    found = _current.get()
    if found is not None:
        found.appended = True
        found.checked = found.checked or (checked and found.assumed is not None)


HEAD_FRESH_FOR = 0.1  # seconds


def read_head(stream_id: str) -> int | None:
    """The version of ``stream_id`` this request read from the database just now, if it did."""
    found = _current.get()
    if found is None or found.heads is None or (head := found.heads.get(stream_id)) is None:
        return None
    return head[0] if time.monotonic() - head[1] < HEAD_FRESH_FOR else None


def saw_head(stream_id: str, version: int) -> None:
    """This request read ``stream_id`` from the database and found it at ``version`` (StaleState when it
    had assumed another)."""
    found = _current.get()
    if found is not None and found.heads is not None:
        found.heads[stream_id] = (version, time.monotonic())
        if (found.assumed is not None and not found.checked and found.assumed[0] == stream_id
                and found.assumed[1] != version):
            raise StaleState(f"stream {stream_id} moved on while this request was decided")


def update(**fields: uuid.UUID | None) -> None:
    """Change some fields of the trace in progress (the actor, once the bearer token is resolved)."""
    found = _current.get()
    if found is None:
        found = _Trace(Metadata())
        _current.set(found)
    found.metadata = Metadata(**{**_as_dict(found.metadata), **fields})


@contextlib.contextmanager
def acting(metadata: Metadata) -> Iterator[Metadata]:
    """Work done on behalf of ``metadata`` (a reaction, a job) within the block, then the previous trace again."""
    token = _current.set(_Trace(metadata))
    try:
        yield metadata
    finally:
        _current.reset(token)


def _as_dict(metadata: Metadata) -> dict[str, uuid.UUID | None]:
    return {"actor_id": metadata.actor_id, "actor_org": metadata.actor_org,
            "causation_id": metadata.causation_id, "correlation_id": metadata.correlation_id}
