"""Who may do what in scheduling: facilitators manage, members act for themselves, another group's data is absent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import make_group


async def test_roles_are_enforced_on_meetings_feeds_and_the_gathering(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group, other = await make_group(api, operator), await make_group(api, operator)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    meeting = {"title": "Working group", "starts_at": start.isoformat(),
               "ends_at": (start + timedelta(hours=1)).isoformat()}
    for who in ("member", "observer", "auditor"):
        refused = await scheduling.post(f"{group.base}/meetings", headers=group.tokens[who], json=meeting)
        assert refused.status_code == 403 and refused.json()["type"].endswith("forbidden"), refused.text
    made = await scheduling.post(f"{group.base}/meetings", headers=operator, json=meeting)
    assert made.status_code == 201, made.text
    url = f"{group.base}/meetings/{made.json()['meeting_id']}"
    assert (await scheduling.get(f"{group.base}/meetings", headers=other.tokens["facilitator"])).status_code == 404
    assert (await scheduling.get(f"{group.base}/meetings")).status_code == 401
    answer = {"occurrence": start.isoformat(), "answer": "maybe"}
    assert (await scheduling.post(f"{url}/rsvp", headers=operator, json=answer)).status_code == 403
    for reader in ("observer", "auditor"):  # read-only: they answer for no one, themselves included
        refused = await scheduling.post(f"{url}/rsvp", headers=group.tokens[reader], json=answer)
        assert refused.status_code == 403 and refused.json()["type"].endswith("forbidden"), refused.text
    assert (await scheduling.post(f"{url}/rsvp", headers=group.tokens["member"], json=answer)).status_code == 200
    other_meeting = f"{other.base}/meetings/{made.json()['meeting_id']}"
    assert (await scheduling.post(f"{other_meeting}/rsvp", headers=other.tokens["member"],
                                  json=answer)).status_code == 404  # another group's meeting does not exist there
    stranger = await scheduling.post(f"{url}/attendance", headers=group.tokens["facilitator"], json={
        "occurrence": start.isoformat(), "present": [other.members["member"]]})
    assert stranger.status_code == 404

    assert (await scheduling.post(f"{group.base}/calendar-feeds", headers=group.tokens["member"])).status_code == 403
    assert (await scheduling.post(f"{group.base}/calendar-feeds?personal=true", headers=operator)).status_code == 403
    assert (await scheduling.post(f"{group.base}/calendar-feeds?personal=true",
                                  headers=group.tokens["observer"])).status_code == 201
    assert (await scheduling.get("/calendar/cal_nothex_secret.ics")).status_code == 404
    assert (await scheduling.get(f"/calendar/cal_{other.id.replace('-', '')}_guess.ics")).status_code == 404

    gathering = {"title": "Gathering", "venue": "Hall", "starts_at": start.isoformat(),
                 "ends_at": (start + timedelta(hours=6)).isoformat(), "capacity": 10}
    assert (await scheduling.post(f"{group.base}/gatherings", headers=group.tokens["member"],
                                  json=gathering)).status_code == 403
    planned = await scheduling.post(f"{group.base}/gatherings", headers=group.tokens["facilitator"], json=gathering)
    base = f"{group.base}/gatherings/{planned.json()['gathering_id']}"
    assert (await scheduling.get(f"{other.base}/gatherings/{planned.json()['gathering_id']}",
                                 headers=other.tokens["member"])).status_code == 404
    assert (await scheduling.post(f"{base}/roles", headers=group.tokens["member"],
                                  json={"name": "Host", "places": 1})).status_code == 403
    assert (await scheduling.put(f"{base}/capacity", headers=operator, json={"max_roles": 1})).status_code == 403
    assert (await scheduling.put(f"{base}/capacity", headers=group.tokens["auditor"],
                                 json={"max_roles": 1})).status_code == 403
    assert (await scheduling.put(f"{base}/capacity", headers=group.tokens["member"],
                                 json={"max_roles": 1})).status_code == 200
    assert (await scheduling.post(f"{base}/roles/nope/sign-ups", headers=group.tokens["member"])).status_code == 404
    assert (await scheduling.post(f"{base}/attendees", headers=group.tokens["observer"], json={
        "name": "Guest", "perspective": "other", "organisation": "Org"})).status_code == 403
    tables = {"tables": [{"table_id": "T1", "size": 4}]}
    assert (await scheduling.put(f"{base}/tables", headers=group.tokens["member"], json=tables)).status_code == 403
    assert (await scheduling.post(f"{base}/table-plan/lock", headers=group.tokens["facilitator"])).status_code == 409
    assert (await scheduling.get(f"{base}/table-plan.csv", headers=group.tokens["auditor"])).status_code == 200
