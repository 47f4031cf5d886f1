"""``copro invite MEMBER_ID`` and ``copro forget MEMBER_ID --consent ...``: the operator's calls on a member,
made through decisions' public API with the operator's token, like any other client's.

``invite`` is how the first facilitator of a group signs in to the web app; after that, facilitators make
links for everyone else on the Members page. ``forget`` records who forgot the member, when and with what
consent (``decisions.MemberForgotten``), ends their tokens and destroys their key, exactly as the API does.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from shared.eventlog.store import EventStore
from shared.runtime.cli.audit import _with_store
from shared.runtime.settings import Settings


def _decisions(settings: Settings, path: str, token: str, body: dict[str, str] | None = None) -> Any:
    """Decisions' answer to a GET of ``path``, or to a POST of ``body`` when there is one."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{settings.service_url('decisions')}{path}", data=data,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def sign_in_link(settings: Settings, group_id: str, member_id: str, token: str) -> str:
    """Ask decisions for a link (operator or facilitator ``token``); the web app's address with the code."""
    code = _decisions(settings, f"/groups/{group_id}/members/{member_id}/sign-in-links", token, {})["code"]
    return f"{settings.web_base}/sign-in/{code}"


def _group_of(settings: Settings, member: uuid.UUID) -> str | None:
    async def group_of(store: EventStore) -> int:
        row = await store.pool.fetchrow(
            "SELECT group_id FROM events WHERE type = 'decisions.MemberAdded'"
            " AND convert_from(payload, 'UTF8')::jsonb ->> 'member_id' = $1 LIMIT 1", str(member))
        if row is None:
            print(f"copro: no member {member} in any group", file=sys.stderr)
            return 1
        found.append(str(row["group_id"]))
        return 0

    found: list[str] = []
    return None if _with_store(settings, group_of) else found[0]


def _as_operator(settings: Settings, member: uuid.UUID, call: Callable[[str, str], str]) -> int:
    """Run ``call(group, operator token)`` for the member's group; its line is printed, a refusal named."""
    if (group := _group_of(settings, member)) is None:
        return 1
    try:
        print(call(group, settings.operator_token_path.read_text().strip()))
    except urllib.error.HTTPError as exc:
        print(f"copro: decisions answered {exc.code}: {exc.read().decode()}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"copro: decisions is not answering ({exc}); start copro with `copro up`", file=sys.stderr)
        return 1
    return 0


def cmd_invite(settings: Settings, member: uuid.UUID) -> int:
    return _as_operator(settings, member, lambda group, token: (
        f"A one-time sign-in link for {member} (works once, for 72 hours):\n"
        f"{sign_in_link(settings, group, str(member), token)}"))


def cmd_forget(settings: Settings, member: uuid.UUID, consent: str) -> int:
    def forget(group: str, token: str) -> str:
        people = [m for o in _decisions(settings, f"/groups/{group}/members", token) for m in o["members"]]
        if any(m["member_id"] == str(member) and m.get("forgotten") for m in people):
            return f"{member} was forgotten already: nothing recorded"
        _decisions(settings, f"/groups/{group}/members/{member}/forget", token, {"consent": consent})
        return (f"forgot {member}: recorded (decisions.MemberForgotten, with the consent given), their tokens ended "
                "and their key destroyed; their personal data now reads as erased everywhere")

    return _as_operator(settings, member, forget)
