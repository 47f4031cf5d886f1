"""A member's own words on withdrawing (a proposal, an item) are personal: stored encrypted for them, so a
partner on NATS or an export never holds them in plain text, and forgetting the member erases them."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from shared.eventlog.personal import MARKER
from shared.eventlog.store import EventStore
from tests.integration.decisions_client import make_group, soon

REASON = "Ada is in hospital this month; we will bring it back"


async def test_a_withdrawal_reason_is_stored_encrypted_and_forgotten_with_its_member(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Move the meeting", "closes_at": soon(days=2)})
    assert made.status_code == 201, made.text
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    withdrawn = await api.post(f"{url}/withdraw", headers=group.tokens["member"], json={"reason": REASON})
    assert withdrawn.status_code == 200, withdrawn.text

    raw = await store.pool.fetchval(
        "SELECT payload FROM events WHERE type = 'decisions.ProposalWithdrawn' AND stream_id = $1",
        f"decisions.proposal.{made.json()['proposal_id']}")
    assert MARKER in raw and REASON.encode() not in raw  # what NATS and exports carry
    history = (await api.get(f"{url}/history", headers=group.tokens["auditor"])).json()
    [event] = [e for e in history if e["type"] == "decisions.ProposalWithdrawn"]
    assert event["data"]["reason"] == REASON  # opened for the group's readers

    member = uuid.UUID(group.members["member"])
    forgotten = await api.post(f"{group.base}/members/{member}/forget", headers=group.tokens["facilitator"],
                               json={"consent": "asked in person, agreed"})
    assert forgotten.status_code == 200, forgotten.text
    history = (await api.get(f"{url}/history", headers=group.tokens["auditor"])).json()
    [event] = [e for e in history if e["type"] == "decisions.ProposalWithdrawn"]
    assert event["data"]["reason"] is None
