"""Replay as of a past point equals what the live system showed then; every outcome recomputes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from services.decisions.audit import OutcomeCheck
from services.decisions.domain.proposal import proposal_decider, proposal_stream
from services.decisions.events import ProposalClosed
from services.decisions.projections import ProposalList
from shared.audit.replay import drop_scratch, replay
from shared.domain.ids import new_id
from shared.eventlog.envelope import NewEvent
from shared.eventlog.store import EventStore
from tests.conftest import wait_sealed
from tests.integration.decisions_client import Group, make_group, soon


async def decide(api: AsyncTestClient, group: Group, title: str, stances: dict[str, str]) -> str:  # type: ignore[type-arg]
    made = await api.post(f"{group.base}/proposals", headers=group.tokens["member"],
                          json={"kind": "consent", "title": title, "closes_at": soon(days=3)})
    url = f"{group.base}/proposals/{made.json()['proposal_id']}"
    for who, stance in stances.items():
        body: dict[str, Any] = {"choice": {"stance": stance}, "reason": "see comments"}
        assert (await api.post(f"{url}/ballots", headers=group.tokens[who], json=body)).status_code == 201
    assert (await api.post(f"{url}/close", headers=group.tokens["facilitator"])).status_code == 200
    return str(made.json()["proposal_id"])


async def live_rows(store: EventStore, schema: str = "public") -> list[tuple[object, ...]]:
    return [tuple(r) for r in await store.pool.fetch(
        f'SELECT proposal_id, title, status, result FROM "{schema}".decisions_proposals ORDER BY proposal_id')]


async def caught_up(store: EventStore) -> None:
    total = await store.pool.fetchval("SELECT count(*) FROM events")
    await wait_sealed(store, total)
    head = await store.head_position()
    for _ in range(1200):
        if await store.pool.fetchval("SELECT position FROM projection_cursors WHERE name = 'decisions_proposals'") >= head:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the live projection did not catch up")


async def test_replay_as_of_a_past_point_equals_the_live_state_then(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, owner_store: EventStore  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    await decide(api, group, "Hold the event in March", {"member": "agree", "facilitator": "agree"})
    await decide(api, group, "Upstairs hall", {"member": "block"})
    await caught_up(store)
    then, position = await live_rows(store), await store.head_position()
    moment = await store.pool.fetchval("SELECT e.recorded_at FROM log l JOIN events e USING (seq) WHERE position = $1",
                                       position)
    await asyncio.sleep(0.01)
    await decide(api, group, "Quiet room", {"member": "disagree", "facilitator": "agree"})
    await caught_up(store)
    assert await live_rows(store) != then

    for until in (position, moment):
        result = await replay(owner_store, [ProposalList()], [OutcomeCheck()], until=until)
        assert result.until == position
        assert await live_rows(owner_store, result.schema) == then
        assert result.ok and result.checks[0].counts["outcomes recomputed"] == 2
        await drop_scratch(owner_store, result.schema)
    full = await replay(owner_store, [ProposalList()], [OutcomeCheck()])
    assert await live_rows(owner_store, full.schema) == await live_rows(store)
    assert full.ok and full.checks[0].counts["outcomes recomputed"] == 3
    await drop_scratch(owner_store, full.schema)


async def test_a_recorded_outcome_that_does_not_recompute_is_reported(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore, database_url: str, tmp_path: Path,  # type: ignore[type-arg]
    owner_store: EventStore, owner_database_url: str,
) -> None:
    group = await make_group(api, operator)
    pid = uuid.UUID(await decide(api, group, "Badges", {"member": "agree", "facilitator": "disagree"}))
    forged_group = await make_group(api, operator)
    forged = uuid.UUID(await decide(api, forged_group, "Forged", {"member": "agree"}))
    # append, bypassing the decider, a second closing of a proposal whose outcome claims the opposite
    recorded = [proposal_decider.decode(r) for r in await store.read_stream(proposal_stream(forged))]
    closed = next(e for e in recorded if isinstance(e, ProposalClosed))
    import msgspec

    lie = msgspec.structs.replace(closed, outcome=msgspec.structs.replace(closed.outcome, result="rejected"))
    await store.append(group_id=uuid.UUID(forged_group.id), stream_id=proposal_stream(forged), expected_version=None,
                       events=[NewEvent(id=new_id(), type="decisions.ProposalClosed", data=lie)])
    await caught_up(store)
    result = await replay(owner_store, [ProposalList()], [OutcomeCheck()])
    await drop_scratch(owner_store, result.schema)
    assert not result.ok
    [mismatch] = result.checks[0].mismatches
    assert mismatch.stream_id == proposal_stream(forged) and "the log says rejected" in mismatch.detail
    assert pid != forged

    env = dict(os.environ, COPRO_DATABASE_URL=database_url, COPRO_NATS_URL="nats://127.0.0.1:1",
               COPRO_HOME=str(tmp_path), COPRO_DATABASE_OWNER_URL=owner_database_url)  # a replay runs as the owner
    report = tmp_path / "replay.html"
    cli = subprocess.run([sys.executable, "-m", "shared.runtime.cli", "audit", "replay", "--html", str(report)],
                         env=env, capture_output=True, text=True)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "MISMATCH" in cli.stdout and "outcomes recomputed" in cli.stdout
    page = report.read_text()
    assert "<svg" in page and "Badges" in page and "MISMATCHES FOUND" in page


async def test_auditors_see_a_members_history_and_the_group_as_of_a_time(
    api: AsyncTestClient, operator: dict[str, str], store: EventStore  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    first = await decide(api, group, "Weekly meetings", {"member": "agree", "facilitator": "agree"})
    await caught_up(store)
    moment = await store.pool.fetchval("SELECT max(recorded_at) FROM events WHERE group_id = $1",
                                       uuid.UUID(group.id))
    await asyncio.sleep(0.01)
    await decide(api, group, "Table plan", {"member": "block"})
    then = (await api.get(f"{group.base}/as-of", params={"time": moment.isoformat()},
                          headers=group.tokens["auditor"])).json()
    assert [(p["title"], p["status"], p["result"]) for p in then["proposals"]] == [
        ("Weekly meetings", "closed", "passed")]
    assert then["position"] > 0 and sum(len(o["members"]) for o in then["group"]["organisations"]) == 4
    before = (await api.get(f"{group.base}/as-of", params={"time": "2000-01-01T00:00:00Z"},
                            headers=group.tokens["auditor"]))
    assert before.status_code == 404
    history = (await api.get(f"{group.base}/members/{group.members['member']}/history",
                             headers=group.tokens["auditor"])).json()
    kinds = [e["type"] for e in history]
    assert kinds[0] == "decisions.MemberAdded" and kinds.count("decisions.BallotCast") == 2
    assert kinds.count("decisions.ProposalOpened") == 2  # the member opened both
    assert first in str(history)
