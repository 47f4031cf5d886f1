"""The three services, as the web app sees them: their public HTTP APIs, called with the member's token.

Problems (RFC 9457) come back as ``ApiError`` with the API's own ``field``,
so a form can put the message next to the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from shared.runtime.settings import Settings

SERVICES = ("decisions", "scheduling", "publishing")


class ApiError(Exception):
    """A refusal from a service: its status, its words and the field it names (if any)."""

    def __init__(self, status: int, detail: str, field: str | None = None, kind: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.kind = kind


def _field(name: str | None) -> str | None:
    """The API names a field by its JSON path (``choice.stance``, ``$.title``); forms use the last part."""
    if not name:
        return None
    return name.replace("$.", "").split(".")[-1].split("[")[0] or None


@dataclass
class Api:
    """One client per app; every call names the token it acts with (a member's, or none)."""

    client: httpx.AsyncClient
    bases: dict[str, str]

    @classmethod
    def connect(cls, settings: Settings) -> Api:
        return cls(httpx.AsyncClient(timeout=15.0), {name: settings.service_url(name) for name in SERVICES})

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, service: str, method: str, path: str, token: str | None, body: Any = None,
                   params: dict[str, str] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.request(method, self.bases[service] + path, json=body, headers=headers,
                                             params=params)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
            raise ApiError(response.status_code, detail, _field(problem.get("field")), str(problem.get("type", "")))
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    async def get(self, service: str, path: str, token: str | None, **params: str) -> Any:
        return await self.call(service, "GET", path, token, params=params or None)

    async def post(self, service: str, path: str, token: str | None, body: Any = None) -> Any:
        return await self.call(service, "POST", path, token, body)
