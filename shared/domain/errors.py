"""Failures the kernel and the deciders report, each with a stable problem type.

The HTTP shells turn these into RFC 9457 problem+json; the ``type`` slug is
part of the API contract, so clients can branch on it.
"""

from __future__ import annotations


class CoproError(Exception):
    """Base of every expected failure; ``status`` is the HTTP status it maps to."""

    status = 400
    slug = "bad-request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class ConcurrencyConflict(CoproError):
    """A stale append: the stream moved on since it was read."""

    status = 409
    slug = "concurrency-conflict"


class StaleState(ConcurrencyConflict):
    """A request decided on a cached state (``shared.eventlog.trace.assume``) that the log has moved past;
    the HTTP layer runs it again on fresh state, so a client never sees it."""


class IdempotencyMismatch(CoproError):
    """An idempotency key reused with a different request."""

    status = 422
    slug = "idempotency-key-reused"


class CommandRejected(CoproError):
    """A decider refused a command: the domain rule is named in ``detail``."""

    status = 409
    slug = "command-rejected"


class InvalidCommand(CoproError):
    """A command that can never succeed as given (a bad value in a field)."""

    status = 422
    slug = "invalid-command"


class NotFound(CoproError):
    status = 404
    slug = "not-found"


class Forbidden(CoproError):
    status = 403
    slug = "forbidden"


class PersonForgotten(CoproError):
    """New personal data for a person whose key was destroyed."""

    status = 410
    slug = "person-forgotten"


class Unauthenticated(CoproError):
    """No bearer token, or one that is unknown or revoked."""

    status = 401
    slug = "unauthenticated"
