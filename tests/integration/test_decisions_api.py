"""The decisions API end to end against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import AsyncTestClient

from shared.eventlog.trace import system_actor
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
        for _ in range(1200):
            page = (await api.get(f"{group.base}/proposals?status=closed", headers=group.tokens["member"])).json()
            if page["proposals"]:
                return page["proposals"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
        raise AssertionError("the closed proposal never appeared in the list")

    [summary] = await listed()
    assert summary["proposal_id"] == pid and summary["result"] == "passed"


async def test_results_hidden_until_close_stay_hidden_in_every_read(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "choice", "title": "Venue", "closes_at": soon(days=2), "visibility": "after_close",
        "options": [{"label": "Hall"}, {"label": "Library"}]})
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    option = made.json()["options"][0]["id"]
    await api.post(f"{url}/ballots", headers=group.tokens["member"], json={"choice": {"option": option}})
    for who in ("member", "facilitator", "auditor"):
        detail = (await api.get(url, headers=group.tokens[who])).json()
        assert detail["tally"] is None and detail["tally_visible"] is False
        history = (await api.get(f"{url}/history", headers=group.tokens[who])).json()
        assert [e["data"]["choice"] for e in history if e["type"] == "decisions.BallotCast"] == [None]
    assert (await api.get(url, headers=group.tokens["member"])).json()["my_ballot"] == {"option": option}
    closed = (await api.post(f"{url}/close", headers=group.tokens["facilitator"])).json()
    assert closed["tally_visible"] and closed["outcome"]["chosen"] == [option]
    history = (await api.get(f"{url}/history", headers=group.tokens["observer"])).json()
    assert [e["data"]["choice"] for e in history if e["type"] == "decisions.BallotCast"] == [{"option": option}]


async def test_a_repeated_ballot_with_an_idempotency_key_is_stored_once_and_answered_the_same(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"],
                          json={"kind": "consent", "title": "Quiet room", "closes_at": soon(days=2)})
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    headers = {**group.tokens["member"], "Idempotency-Key": "ballot-1"}
    first = await api.post(f"{url}/ballots", headers=headers, json={"choice": {"stance": "agree"}})
    again = await api.post(f"{url}/ballots", headers=headers, json={"choice": {"stance": "agree"}})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    history = (await api.get(f"{url}/history", headers=group.tokens["member"])).json()
    assert sum(e["type"] == "decisions.BallotCast" for e in history) == 1
    other = await api.post(f"{url}/ballots", headers=headers, json={"choice": {"stance": "abstain"}})
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"


async def test_proposals_close_by_themselves_at_their_closing_time(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"],
                          json={"kind": "consent", "title": "Soon", "closes_at": soon(seconds=1.5)})
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    await api.post(f"{url}/ballots", headers=group.tokens["member"], json={"choice": {"stance": "agree"}})
    for _ in range(600):
        detail = (await api.get(url, headers=group.tokens["member"])).json()
        if detail["status"] == "closed":
            break
        await asyncio.sleep(0.1)
    assert detail["status"] == "closed" and detail["outcome"]["result"] == "passed"
    history = (await api.get(f"{url}/history", headers=group.tokens["member"])).json()
    assert sum(e["type"] == "decisions.ProposalClosed" for e in history) == 1
    assert history[-1]["data"]["by"] is None
    assert history[-1]["metadata"]["actor_id"] == str(system_actor("closer"))  # who closed it, for the audit trail


async def test_a_removed_member_and_a_revoked_token_stop_working_at_once(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    assert (await api.get(group.base, headers=group.tokens["observer"])).status_code == 200
    removed = await api.delete(f"{group.base}/members/{group.members['observer']}", headers=operator)
    assert removed.status_code == 204
    assert (await api.get(group.base, headers=group.tokens["observer"])).status_code == 401
    names = [m["name"] for o in (await api.get(group.base, headers=operator)).json()["organisations"]
             for m in o["members"]]
    assert "Observer Person" not in names and "Member Person" in names


async def test_a_proposal_closed_early_says_when_it_closed(
    api: AsyncTestClient, operator: dict[str, str]  # type: ignore[type-arg]
) -> None:
    """The web app said "Voting closed" with the day it was due to close (the newcomer's find)."""
    from datetime import datetime

    group = await make_group(api, operator)
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"], json={
        "kind": "consent", "title": "Early", "closes_at": soon(days=30)})
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    assert made.json()["closed_at"] is None
    await api.post(f"{url}/ballots", headers=group.tokens["member"], json={"choice": {"stance": "agree"}})
    closed = await api.post(f"{url}/close", headers=group.tokens["facilitator"])
    assert closed.status_code == 200, closed.text
    shown = (await api.get(url, headers=group.tokens["member"])).json()
    closed_at, closes_at = datetime.fromisoformat(shown["closed_at"]), datetime.fromisoformat(shown["closes_at"])
    assert (closes_at - closed_at).days >= 29
