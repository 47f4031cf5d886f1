"""The three services, as the web app sees them: their public HTTP APIs, called with the member's token.

Problems (RFC 9457) come back as ``ApiError`` with the API's own ``field``,
so a form can put the message next to the field it is about.
"""

from __future__ import annotations

import re
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


_PLAIN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Expected `str` of length >= 1"), "Please fill this in."),
    (re.compile(r"Expected `str` of length <= (\d+)"), "Please keep this to {0} characters or fewer."),
    (re.compile(r"Expected `array` of length <= (\d+)"), "Please give at most {0}."),
    (re.compile(r"Expected `int` >= (-?\d+)"), "Please give a whole number of at least {0}."),
    (re.compile(r"Expected `int` <= (-?\d+)"), "Please give a whole number of at most {0}."),
    (re.compile(r"Expected `int`"), "Please give a whole number."),
    (re.compile(r"holds a control character"),
     "This holds a character that cannot be shown, often from pasted text: please type it again."),
    (re.compile(r"must be a time from 1900 to 2999"), "Please give a day between the years 1900 and 2999."),
    (re.compile(r"Invalid UUID"), "This does not name anything here: please reload the page and try again."),
]
"""What the API's validator says, in the words a member reads (its own words stay in the API's answer)."""


def plain_words(detail: str) -> str:
    """A refusal's detail for a person: the validator's wording made plain, or its detail without the JSON path."""
    for pattern, words in _PLAIN:
        if found := pattern.search(detail):
            return words.format(*found.groups())
    return re.sub(r" - at `\$[^`]*`$", "", detail)


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
            detail = plain_words(str(problem.get("detail") or problem.get("title") or response.reason_phrase))
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
