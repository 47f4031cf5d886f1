"""The decisions API end to end against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import make_group, soon


async def test_a_consent_decision_from_proposal_to_recorded_outcome(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    proposal = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Hold the event in March", "closes_at": soon(days=7)})
    assert proposal.status_code == 201, proposal.text
    pid = proposal.json()["proposal_id"]
    url = f"{group.base}/proposals/{pid}"
    for who, stance in (("member", "agree"), ("facilitator", "agree")):
        ballot = await api.post(f"{url}/ballots", headers=group.tokens[who], json={"choice": {"stance": stance}})
        assert ballot.status_code == 201, ballot.text
    detail = (await api.get(url, headers=group.tokens["observer"])).json()
    assert detail["ballots"] == 2 and detail["tally_visible"] and detail["status"] == "open"
    closed = await api.post(f"{url}/close", headers=group.tokens["facilitator"])
    assert closed.status_code == 200, closed.text
    outcome = closed.json()["outcome"]
    assert outcome["result"] == "passed" and len(outcome["counted_ballots"]) == 2
    assert closed.json()["explanation"].startswith("Passed:")
    history = (await api.get(f"{url}/history", headers=group.tokens["auditor"])).json()
    assert [e["type"] for e in history] == ["decisions.ProposalOpened", "decisions.BallotCast",
                                           "decisions.BallotCast", "decisions.ProposalClosed"]
    assert {e["id"] for e in history if e["type"] == "decisions.BallotCast"} == set(outcome["counted_ballots"])

    async def listed() -> list[dict[str, Any]]:
        for _ in range(100):
            page = (await api.get(f"{group.base}/proposals?status=closed", headers=group.tokens["member"])).json()
            if page["proposals"]:
                return page["proposals"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
        raise AssertionError("the closed proposal never appeared in the list")

    [summary] = await listed()
    assert summary["proposal_id"] == pid and summary["result"] == "passed"
