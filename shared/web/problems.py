"""RFC 9457 problem+json for every failure, with a stable ``type`` per kind.

No failure leaves a service as an HTML page or a stack trace: validation,
authentication, domain refusals, conflicts and unexpected errors all answer
``application/problem+json`` naming the offending field where there is one.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from shared.domain.errors import CoproError
from shared.eventlog.outage import DATABASE_AWAY

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:copro:problem:"
_PATH = re.compile(r"at `\$\.?([^`]*)`")
_NAMED = re.compile(r"(?:unknown|missing required) field `([^`]*)`")
_OWN = re.compile(r"^`([^`]*)` ")  # a struct's own check names its field first (``shared.domain.input``)
_MISSING_PARAMETER = re.compile(r"Missing required (query|header|path|cookie) parameter '([^']*)'")

_SLUGS = {
    400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
    422: "invalid-field", 429: "too-many-requests", 500: "internal-error", 503: "unavailable",
}


def problem(
    request: Request[Any, Any, Any],
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.url.path
    if field is not None:
        body["field"] = field
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_of(message: str, key: str | None) -> str | None:
    """The offending field, as a dotted path into the body or the parameter's name."""
    parent = key if key and key != "data" else None
    found = _PATH.search(message)
    within = parent or (found.group(1) if found else None)
    if (named := _NAMED.search(message)) or (named := _OWN.search(message)):
        return f"{within}.{named.group(1)}" if within else named.group(1)
    if parent:
        return parent
    return found.group(1) if found else ("body" if key == "data" else None)


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """A value the request gave is refused. In the body (read, but a field is wrong: unknown, missing, out of range,
    a time without an offset): 422 ``invalid-field``. In a query, path or header parameter: 400 ``validation``."""
    raw = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    for item in raw:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            errors.append({"field": _field_of(message, item.get("key")), "message": message, "source": item.get("source")})
    if not errors and (missing := _MISSING_PARAMETER.search(str(exc.detail))):
        errors.append({"field": missing.group(2), "message": str(exc.detail), "source": missing.group(1)})
    if not errors:
        errors.append({"field": _field_of(str(exc.detail), None), "message": str(exc.detail), "source": "body"})
    first = errors[0]
    if first["source"] == "body" and first["message"] == "'data'":  # Litestar's word for a body that is not there
        return problem(request, 400, "malformed-body", "malformed body", "this request needs a JSON body", field="body")
    if first["source"] == "body":
        return problem(request, 422, "invalid-field", "A field of the request body is not valid",
                       first["message"] or str(exc.detail), field=first["field"], errors=errors)
    return problem(
        request, 400, "validation", "The request is not valid", first["message"] or str(exc.detail),
        field=first["field"], errors=errors,
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        return _validation(request, exc)
    status = exc.status_code
    slug = _SLUGS.get(status, "http-error")
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
        return problem(request, status, slug, "The service could not answer", headers=exc.headers)
    if status == 404 and exc.detail == "Not Found":  # no route matched: say how paths are made
        return problem(request, 404, slug, "Not Found", "nothing is at this path: an id in a path is a UUID, and "
                       "every route is in /schema/openapi.json", headers=exc.headers)
    return problem(request, status, slug, str(exc.detail), headers=exc.headers)


def _copro(request: Request[Any, Any, Any], exc: CoproError) -> Response[dict[str, Any]]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(request, exc.status, exc.slug, exc.slug.replace("-", " "), exc.detail, field=exc.field, headers=headers)


RETRY_AFTER = 5
_outage = {"logged_at": -3600.0}


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The database is away: 503 with Retry-After, and one log line per outage instead of a traceback per request."""
    now = time.monotonic()
    if now - _outage["logged_at"] > 60:
        log.warning("database unreachable (%s): answering 503 until it is back", type(exc).__name__)
    _outage["logged_at"] = now
    return problem(request, 503, "unavailable", "The service is briefly unavailable",
                   "The event log cannot be reached right now; nothing was recorded. Try again shortly.",
                   headers={"Retry-After": str(RETRY_AFTER)})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request, 500, "internal-error", "The service could not answer",
                   "An unexpected error was logged; nothing was half-done: appends are atomic.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    CoproError: _copro,
    HTTPException: _http,
    **dict.fromkeys(DATABASE_AWAY, _unavailable),
    Exception: _unexpected,
}
