"""The gathering over HTTP: roles and sign-ups, attendees, a table plan as CSV and SVG."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient

from tests.integration.decisions_client import make_group


async def test_roles_attendees_and_a_diverse_table_plan(
    api: AsyncTestClient, operator: dict[str, str], scheduling: AsyncTestClient  # type: ignore[type-arg]
) -> None:
    group = await make_group(api, operator)
    start = datetime(2026, 3, 14, 9, tzinfo=UTC)
    made = await scheduling.post(f"{group.base}/gatherings", headers=group.tokens["facilitator"], json={
        "title": "Co-Producing Co-Production", "venue": "Community hall", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=6)).isoformat(), "capacity": 24, "accessibility": "step-free"})
    assert made.status_code == 201, made.text
    base = f"{group.base}/gatherings/{made.json()['gathering_id']}"
    role = (await scheduling.post(f"{base}/roles", headers=group.tokens["facilitator"],
                                  json={"name": "Host a table", "places": 1})).json()["roles"][0]["role_id"]
    first = await scheduling.post(f"{base}/roles/{role}/sign-ups", headers=group.tokens["member"])
    assert first.status_code == 201 and first.json()["roles"][0]["holders"] == [group.members["member"]]
    waiting = await scheduling.post(f"{base}/roles/{role}/sign-ups", headers=group.tokens["facilitator"])
    assert waiting.json()["roles"][0]["waitlist"] == [group.members["facilitator"]]
    assert (await scheduling.post(f"{base}/roles/{role}/sign-ups", headers=group.tokens["observer"])).status_code == 403
    freed = await scheduling.post(f"{base}/roles/{role}/withdraw", headers=group.tokens["member"])
    assert freed.json()["roles"][0]["holders"] == [group.members["facilitator"]]  # promoted from the waitlist
    fair = (await scheduling.get(f"{base}/fairness", headers=group.tokens["auditor"])).json()
    assert fair["per_member"] == {group.members["facilitator"]: 1} and fair["per_organisation"] == {"Partner 0": 1}

    perspectives = ["lived_experience", "service_provider"] * 12
    for n, perspective in enumerate(perspectives):
        registered = await scheduling.post(f"{base}/attendees", headers=group.tokens["member"], json={
            "name": f"Guest {n}", "perspective": perspective, "organisation": f"Org {n % 3}",
            "needs": ["step_free"] if n % 6 == 0 else []})
        assert registered.status_code == 201 and registered.json()["waitlisted"] is False
    late = await scheduling.post(f"{base}/attendees", headers=group.tokens["member"], json={
        "name": "Guest 99", "perspective": "both", "organisation": "Org 1"})
    assert late.json()["waitlisted"] is True
    twice = await scheduling.post(f"{base}/attendees", headers=group.tokens["member"], json={
        "name": "guest 3", "perspective": "other", "organisation": "org 0"})
    assert twice.status_code == 409
    tables = [{"table_id": f"T{n}", "size": 8, "features": ["step_free"] if n == 0 else []} for n in range(3)]
    assert (await scheduling.put(f"{base}/tables", headers=group.tokens["facilitator"],
                                 json={"tables": tables})).status_code == 200
    planned = await scheduling.post(f"{base}/table-plan", headers=group.tokens["facilitator"])
    assert planned.status_code == 200, planned.text
    assert planned.json()["plan_quality"] > 0.9
    assert set(planned.json()["table_quality"]) == {"T0", "T1", "T2"}
    rows = list(csv.DictReader(io.StringIO((await scheduling.get(f"{base}/table-plan.csv",
                                                                  headers=group.tokens["member"])).text)))
    assert len(rows) == 24
    for table in ("T0", "T1", "T2"):
        mix = [r["perspective"] for r in rows if r["table"] == table]
        assert abs(mix.count("lived_experience") - mix.count("service_provider")) <= 2
    assert all(r["table"] == "T0" for r in rows if int(r["name"].split()[1]) % 6 == 0)  # step-free seats
    svg = await scheduling.get(f"{base}/table-plan.svg", headers=group.tokens["member"])
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.count("<circle") >= 27
    assert all(f"{r['seat']} {r['name']} (" in svg.text for r in rows)  # every name on the map, not in tooltips
    assert (await scheduling.post(f"{base}/table-plan/lock", headers=group.tokens["facilitator"])).json()["plan_locked"]
    assert (await scheduling.post(f"{base}/table-plan", headers=group.tokens["facilitator"])).status_code == 409
