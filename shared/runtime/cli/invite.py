"""``copro invite MEMBER_ID``: a one-time sign-in link for a member, made with the operator's token.

It is how the first facilitator of a group signs in to the web app; after
that, facilitators make links for everyone else on the Members page. The
link is made through decisions' public API, like any other client's.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid

from shared.eventlog.store import EventStore
from shared.runtime.cli.audit import _with_store
from shared.runtime.settings import Settings


def sign_in_link(settings: Settings, group_id: str, member_id: str, token: str) -> str:
    """Ask decisions for a link (operator or facilitator ``token``); the web app's address with the code."""
    url = f"{settings.service_url('decisions')}/groups/{group_id}/members/{member_id}/sign-in-links"
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        code = json.loads(response.read())["code"]
    return f"{settings.web_base}/sign-in/{code}"


def cmd_invite(settings: Settings, member: uuid.UUID) -> int:
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
    if _with_store(settings, group_of):
        return 1
    try:
        link = sign_in_link(settings, found[0], str(member), settings.operator_token_path.read_text().strip())
    except urllib.error.HTTPError as exc:
        print(f"copro: decisions answered {exc.code}: {exc.read().decode()}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"copro: decisions is not answering ({exc}); start copro with `copro up`", file=sys.stderr)
        return 1
    print(f"A one-time sign-in link for {member} (works once, for 72 hours):\n{link}")
    return 0
