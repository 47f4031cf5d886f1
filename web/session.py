"""Who is signed in: the member's token lives only in the encrypted, HttpOnly session cookie.

The cookie is encrypted and signed (AES-GCM, Litestar's client-side
sessions) with a key kept in ``COPRO_HOME/web-secret`` (mode 0600) or given as
``COPRO_WEB_SECRET``; JavaScript cannot read it (HttpOnly), other sites'
forms do not send it (SameSite=Lax), and it travels only over https when the
web app is served there (Secure). Every page asks the API who the member is,
so a revoked or expired token ends the session at once.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request

from shared.runtime.settings import Settings
from web.api import Api, ApiError


def web_secret(settings: Settings) -> bytes:
    """32 bytes that encrypt sessions and sign CSRF tokens, made (0600) on first use."""
    if given := os.environ.get("COPRO_WEB_SECRET"):
        return bytes.fromhex(given)
    path: Path = settings.home / "web-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret.hex() + "\n")
    return secret


class NotSignedIn(Exception):
    """The page needs a signed-in member; the answer is the welcome page."""


@dataclass(frozen=True)
class Me:
    """The signed-in member and their group, as the API says now."""

    token: str
    group_id: uuid.UUID
    member_id: uuid.UUID
    name: str
    roles: tuple[str, ...]
    organisation_id: uuid.UUID
    group_name: str
    organisations: dict[str, str] = field(default_factory=dict)  # id -> name
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # member id -> member
    time_zone: str = "UTC"
    """The group's own IANA zone, which every time on its pages is in (the API always says it)."""

    @property
    def tz(self) -> ZoneInfo:
        """The group's zone: what a form's day and time are read in."""
        return ZoneInfo(self.time_zone)

    @property
    def facilitator(self) -> bool:
        return "facilitator" in self.roles

    @property
    def organisation(self) -> str:
        return self.organisations.get(str(self.organisation_id), "")

    def in_words(self, text: str) -> str:
        """A recorded explanation with the group's organisations named: the outcome names them by id, so that it
        stays the same however an organisation is renamed."""
        for organisation_id, name in self.organisations.items():
            text = text.replace(organisation_id, name)
        return text

    def name_of(self, member_id: object) -> str:
        person = self.people.get(str(member_id))
        return str(person.get("name") or "(name erased)") if person else "a former member"

    @property
    def g(self) -> str:
        """The group's path in the APIs."""
        return f"/groups/{self.group_id}"


def start_session(request: Request[Any, Any, Any], signed: dict[str, Any]) -> None:
    request.set_session({"token": signed["token"], "group_id": signed["group_id"], "member_id": signed["member_id"],
                         "expires_at": signed["expires_at"]})


def end_session(request: Request[Any, Any, Any]) -> None:
    request.clear_session()


def flash(request: Request[Any, Any, Any], message: str) -> None:
    """A short message for the next page (shown once, in a status region)."""
    session = dict(request.session or {})
    session["flash"] = [*session.get("flash", []), message]
    request.set_session(session)


def take_flash(request: Request[Any, Any, Any]) -> list[str]:
    if "session" not in request.scope:  # a request that matched no route never reached the session middleware
        return []
    session = dict(request.session or {})
    messages = list(session.pop("flash", []))
    if messages:
        request.set_session(session)
    return messages


async def who(request: Request[Any, Any, Any], api: Api) -> Me:
    """The signed-in member, or NotSignedIn (no session, an expired one, or a revoked token)."""
    session = request.session or {}
    token = session.get("token")
    if not token:
        raise NotSignedIn
    if datetime.fromisoformat(str(session["expires_at"])) <= datetime.now(UTC):
        end_session(request)
        raise NotSignedIn
    try:
        group = await api.get("decisions", f"/groups/{session['group_id']}", token)
    except ApiError as error:
        if error.status in (401, 403, 404):
            end_session(request)
            raise NotSignedIn from error
        raise
    people = {str(m["member_id"]): m for o in group["organisations"] for m in o["members"]}
    mine = people.get(str(session["member_id"]))
    if mine is None:
        end_session(request)
        raise NotSignedIn
    return Me(token=token, group_id=uuid.UUID(str(group["group_id"])), member_id=uuid.UUID(str(mine["member_id"])),
              name=str(mine.get("name") or ""), roles=tuple(mine["roles"]),
              organisation_id=uuid.UUID(str(mine["organisation_id"])), group_name=str(group["name"]),
              organisations={str(o["id"]): str(o["name"]) for o in group["organisations"]}, people=people,
              time_zone=str(group["time_zone"]))
