"""What every generated service class shares: one httpx client, bearer auth, problem+json as exceptions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

PROBLEM = "application/problem+json"


class CoproProblem(Exception):
    """An RFC 9457 problem copro answered: branch on ``type`` (``urn:copro:problem:<slug>``); ``field`` names
    the offending field when there is one."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status = status
        self.type = str(body.get("type", "about:blank"))
        self.title = str(body.get("title", ""))
        self.detail: str | None = body.get("detail")
        self.field: str | None = body.get("field")
        self.errors: list[dict[str, Any]] = list(body.get("errors") or [])
        super().__init__(f"{status} {self.type}: {self.detail or self.title}" + (f" ({self.field})" if self.field else ""))

    @property
    def slug(self) -> str:
        return self.type.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class ServerSentEvent:
    """One message of an event stream: ``id`` is the log's global position, ``data`` a structured CloudEvent."""

    id: str | None
    event: str | None
    data: str


@dataclass
class Connection:
    """One service's base URL and the token calls are made with."""

    base_url: str
    token: str | None = None
    timeout: float = 30.0
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.base_url.rstrip("/"), timeout=self.timeout)

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        out = {"Accept": "application/json"}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            out["Idempotency-Key"] = idempotency_key
        return out


def _query(query: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (query or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class Service:
    """Base of the generated ``DecisionsAPI``, ``SchedulingAPI`` and ``PublishingAPI``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    async def close(self) -> None:
        await self.connection.http.aclose()

    async def _request(self, method: str, path: str, answer: Any, *, body: Any = None,
                       query: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
                       raw: bool = False) -> Any:
        content = None if body is None else msgspec.json.encode(body)
        headers = self.connection.headers(idempotency_key)
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self.connection.http.request(method, path, content=content, params=_query(query),
                                                      headers=headers)
        if response.status_code >= 400:
            raise _problem(response)
        if raw:
            return response.content
        if response.status_code == 204 or answer is None:
            return None
        return msgspec.json.decode(response.content, type=answer)

    async def _stream(self, path: str, query: Mapping[str, Any] | None = None,
                      last_event_id: str | None = None) -> AsyncIterator[ServerSentEvent]:
        headers = self.connection.headers()
        headers["Accept"] = "text/event-stream"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        async with self.connection.http.stream("GET", path, params=_query(query), headers=headers,
                                               timeout=None) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _problem(response)
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line == "":
                    if "data" in fields:
                        yield ServerSentEvent(id=fields.get("id"), event=fields.get("event"), data=fields["data"])
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    fields[name] = fields[name] + "\n" + value if name == "data" and name in fields else value


def _problem(response: httpx.Response) -> CoproProblem:
    try:
        body = response.json()
    except ValueError:
        body = {"title": response.text[:200]}
    return CoproProblem(response.status_code, body if isinstance(body, dict) else {"title": str(body)})
