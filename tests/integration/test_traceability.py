"""Traceable end to end: from the final meeting and the published reflection back to the proposals,
the ballots' authors and their organisations, and the requests that made them, with no broken link."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from services.decisions.audit import OutcomeCheck
from shared.audit.export import export_lines
from shared.audit.replay import drop_scratch, replay
from shared.audit.report import html_report
from shared.audit.verify import verify_lines
from shared.eventlog.store import EventStore
from shared.eventlog.trace import system_actor
from tests.integration.decisions_client import Group, add, make_group, soon

Client = AsyncTestClient  # type: ignore[type-arg]


async def _logged(api: Client, operator: dict[str, str], type_: str, count: int = 1) -> list[dict[str, Any]]:
    """Sealed events of one type, in log order, once ``count`` of them are there."""
    for _ in range(1200):
        page = (await api.get("/log", params={"after": 0, "limit": 1000}, headers=operator)).json()["events"]
        found = [e for e in page if e["type"] == type_]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {count} sealed {type_} events")


def _asking(request_id: str, headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Request-Id": request_id}


async def _vote_and_close(api: Client, group: Group, proposal_url: str, choice: dict[str, Any]) -> dict[str, str]:
    """Each voter's ballot under a request id of its own, then the facilitator's close; the ids by who sent them."""
    requests = {who: str(uuid.uuid4()) for who in ("member", "facilitator", "close")}
    for who in ("member", "facilitator"):
        cast = await api.post(f"{proposal_url}/ballots", headers=_asking(requests[who], group.tokens[who]),
                              json={"choice": choice})
        assert cast.status_code == 201, cast.text
        assert cast.headers["x-request-id"] == requests[who]
    closed = await api.post(f"{proposal_url}/close", headers=_asking(requests["close"], group.tokens["facilitator"]))
    assert closed.status_code == 200, closed.text
    return requests


async def _ballots_lead_to_their_authors(api: Client, operator: dict[str, str], group: Group,
                                         closed: dict[str, Any], requests: dict[str, str]) -> None:
    """Every counted ballot names its author's organisation and the request that cast it."""
    log = {e["id"]: e for e in await _logged(api, operator, "decisions.BallotCast", 1)}
    counted = closed["data"]["outcome"]["counted_ballots"]
    assert len(counted) == 2
    organisations = {group.members[w]: group.orgs[n] for n, w in enumerate(("facilitator", "member"))}
    seen = set()
    for ballot_id in counted:
        ballot = log[ballot_id]
        who = next(w for w in ("member", "facilitator") if group.members[w] == ballot["metadata"]["actor_id"])
        assert ballot["metadata"]["actor_org"] == organisations[group.members[who]]
        assert ballot["metadata"]["correlation_id"] == requests[who]
        seen.add(who)
    assert seen == {"member", "facilitator"}
    assert closed["metadata"]["actor_id"] == group.members["facilitator"]
    assert closed["metadata"]["correlation_id"] == requests["close"]


async def test_the_meeting_leads_back_to_the_time_proposal_its_ballots_and_their_requests(
    api: Client, operator: dict[str, str], scheduling: Client, store: EventStore, owner_store: EventStore
) -> None:
    group = await make_group(api, operator)
    tuesday = (datetime.now(UTC) + timedelta(days=7)).replace(hour=10, minute=30, second=0, microsecond=0)
    opened_by = str(uuid.uuid4())
    made = await api.post(f"{group.base}/proposals", headers=_asking(opened_by, group.tokens["member"]), json={
        "kind": "time", "title": "Weekly working group", "closes_at": soon(days=2), "options": [
            {"id": "tue", "label": "Tuesday", "starts_at": tuesday.isoformat(),
             "ends_at": (tuesday + timedelta(minutes=90)).isoformat()}]})
    assert made.status_code == 201, made.text
    requests = await _vote_and_close(api, group, f"{group.base}/proposals/{made.json()['proposal_id']}",
                                     {"availability": {"tue": "yes"}})

    [meeting] = await _logged(api, operator, "scheduling.MeetingScheduled")
    traced = await scheduling.get(f"{group.base}/events/{meeting['id']}/trace", headers=group.tokens["auditor"])
    assert traced.status_code == 200, traced.text
    chain = traced.json()
    assert chain["event"]["actor"] == "reaction:scheduling-time-proposals"
    assert chain["event"]["actor_id"] == str(system_actor("reaction:scheduling-time-proposals"))
    [closed_step] = chain["causes"]
    assert closed_step["type"] == "decisions.ProposalClosed" and closed_step["actor"] == "member"
    assert chain["event"]["correlation_id"] == requests["close"] == closed_step["correlation_id"]

    [closed] = [e for e in await _logged(api, operator, "decisions.ProposalClosed") if e["id"] == closed_step["id"]]
    await _ballots_lead_to_their_authors(api, operator, group, closed, requests)
    [opened] = [e for e in await _logged(api, operator, "decisions.ProposalOpened")
                if e["data"]["proposal_id"] == made.json()["proposal_id"]]
    assert opened["metadata"]["correlation_id"] == opened_by
    assert opened["metadata"]["actor_id"] == group.members["member"]

    # and the other way: the close caused the meeting
    forward = (await api.get(f"{group.base}/events/{closed['id']}/trace", headers=group.tokens["auditor"])).json()
    assert [s["id"] for s in forward["effects"]] == [meeting["id"]]
    refused = await api.get(f"{group.base}/events/{closed['id']}/trace", headers=group.tokens["member"])
    assert refused.status_code == 403

    # the replay report links the outcome to what it caused, and counts what it leaves out
    still_open = await api.post(f"{group.base}/proposals", headers=group.tokens["member"],
                                json={"kind": "consent", "title": "Still being discussed", "closes_at": soon(days=3)})
    assert still_open.status_code == 201, still_open.text
    await _logged(api, operator, "decisions.ProposalOpened", 2)
    result = await replay(owner_store, [], [OutcomeCheck()], group_id=uuid.UUID(group.id))
    await drop_scratch(owner_store, result.schema)
    [entry] = [e for e in result.checks[0].timeline if e.label == "Weekly working group"]
    assert entry.caused == [f"scheduling.MeetingScheduled (position {meeting['position']})"]
    page = html_report(result)
    assert "scheduling.MeetingScheduled" in page and "Decisions replayed: Co-Producing Co-Production" in page
    assert entry.tally == [("Tuesday", "2")] and "Tuesday: 2" in page  # the tally as recorded, by option label
    assert entry.opened_at.strftime("%d %b") in page
    assert result.checks[0].left_out == {"still open at this point": 1} and "1 still open at this point" in page


async def test_the_published_reflection_leads_back_to_its_request_the_consent_proposal_and_its_voters(
    api: Client, operator: dict[str, str], publishing: Client
) -> None:
    group = await make_group(api, operator)
    drafted = await publishing.post(f"{group.base}/items", headers=group.tokens["member"], json={
        "kind": "reflection", "title": "What we learned", "body": "Everyone took part as they were able."})
    assert drafted.status_code == 201, drafted.text
    item_url = f"{group.base}/items/{drafted.json()['item_id']}"
    asked_by = str(uuid.uuid4())
    asked = await publishing.post(f"{item_url}/publication", headers=_asking(asked_by, group.tokens["member"]),
                                  json={"closes_in_days": 7})
    assert asked.status_code == 202, asked.text
    proposal_url = f"{group.base}/proposals/{asked.json()['proposal_id']}"
    for _ in range(1200):
        if (await api.get(proposal_url, headers=group.tokens["member"])).status_code == 200:
            break
        await asyncio.sleep(0.05)
    requests = await _vote_and_close(api, group, proposal_url, {"stance": "agree"})

    [published] = await _logged(api, operator, "publishing.ItemPublished")
    chain = (await publishing.get(f"{group.base}/events/{published['id']}/trace",
                                  headers=group.tokens["auditor"])).json()
    assert chain["event"]["actor"] == "reaction:publishing-publication-decisions"
    [closed_step] = chain["causes"]
    assert closed_step["type"] == "decisions.ProposalClosed"
    [closed] = [e for e in await _logged(api, operator, "decisions.ProposalClosed") if e["id"] == closed_step["id"]]
    await _ballots_lead_to_their_authors(api, operator, group, closed, requests)

    # the consent proposal was opened in reaction to the author's request to publish
    [opened] = [e for e in await _logged(api, operator, "decisions.ProposalOpened")
                if e["data"]["proposal_id"] == asked.json()["proposal_id"]]
    back = (await api.get(f"{group.base}/events/{opened['id']}/trace", headers=group.tokens["auditor"])).json()
    [requested] = back["causes"]
    assert requested["type"] == "publishing.PublicationRequested"
    assert requested["actor_id"] == group.members["member"] and requested["actor_org"] == group.orgs[1]
    assert requested["correlation_id"] == asked_by == opened["metadata"]["correlation_id"]
    assert back["event"]["actor"] == "reaction:decisions-publication-requests"


async def test_altering_an_actor_or_a_causation_in_an_export_fails_verification(
    api: Client, operator: dict[str, str], store: EventStore
) -> None:
    group = await make_group(api, operator)
    await add(api, operator, group, "another", "member", org=2)
    for _ in range(1200):  # everything recorded so far is sealed, whichever tests ran before
        if await store.head_position() >= await store.pool.fetchval("SELECT count(*) FROM events"):
            break
        await asyncio.sleep(0.05)
    lines = [line async for chunk in export_lines(store) for line in chunk.splitlines()]
    assert verify_lines(lines).ok
    for field, value in (("actorid", str(uuid.uuid4())), ("actororg", str(uuid.uuid4())),
                         ("causationid", str(uuid.uuid4())), ("correlationid", str(uuid.uuid4()))):
        tampered = list(lines)
        index = next(n for n, line in enumerate(lines) if b'"specversion"' in line and b"MemberAdded" in line)
        event = json.loads(tampered[index])
        event[field] = value
        tampered[index] = json.dumps(event).encode()
        first = verify_lines(tampered).first
        assert first is not None and first.problem == "altered" and first.position == event["position"], field
